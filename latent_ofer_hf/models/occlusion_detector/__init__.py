"""ViT-SVDD occlusion patch detector [P §3.1]: Deep-SVDD head over ViT patch latents → occlusion masks."""

from .configuration_occlusion_detector import OcclusionDetectorConfig
from .modeling_occlusion_detector import (
    DeepSVDDProjector,
    OcclusionDetectorOutput,
    OcclusionDetectorPreTrainedModel,
    OcclusionPatchDetector,
)

__all__ = [
    "DeepSVDDProjector",
    "OcclusionDetectorConfig",
    "OcclusionDetectorOutput",
    "OcclusionDetectorPreTrainedModel",
    "OcclusionPatchDetector",
]
