"""The ``occluded-fer`` pipeline, its robust image loading and result pictures."""

from ..models.common.deprecation import deprecated_aliases
from .image_inputs import InvalidImageError, describe_input, load_image_input
from .pipeline_occluded_fer import OccludedFERPipeline
from .visualize import shade_patches, visualize

__all__ = [
    "InvalidImageError",
    "OccludedFERPipeline",
    "describe_input",
    "load_image_input",
    "shade_patches",
    "visualize",
]

__getattr__ = deprecated_aliases(__name__, {"visualise": ("visualize", visualize)})
