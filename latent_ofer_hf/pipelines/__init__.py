"""The ``occluded-fer`` pipeline, its robust image loading and result pictures."""

from .image_inputs import InvalidImageError, describe_input, load_image_input
from .pipeline_occluded_fer import OccludedFERPipeline
from .visualise import shade_patches, visualise

__all__ = [
    "InvalidImageError",
    "OccludedFERPipeline",
    "describe_input",
    "load_image_input",
    "shade_patches",
    "visualise",
]
