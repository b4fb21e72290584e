"""ViT-SVDD occlusion patch detector [P §3.1]: Deep-SVDD head over ViT patch latents → occlusion masks."""

from ..common.deprecation import deprecated_aliases
from .configuration_occlusion_detector import OcclusionPatchDetectorConfig
from .modeling_occlusion_detector import (
    DeepSVDDProjector,
    OcclusionPatchDetector,
    OcclusionPatchDetectorOutput,
    OcclusionPatchDetectorPreTrainedModel,
)

__all__ = [
    "DeepSVDDProjector",
    "OcclusionPatchDetectorConfig",
    "OcclusionPatchDetectorOutput",
    "OcclusionPatchDetectorPreTrainedModel",
    "OcclusionPatchDetector",
]

__getattr__ = deprecated_aliases(
    __name__,
    {
        "OcclusionDetectorConfig": ("OcclusionPatchDetectorConfig", OcclusionPatchDetectorConfig),
        "OcclusionDetectorOutput": ("OcclusionPatchDetectorOutput", OcclusionPatchDetectorOutput),
        "OcclusionDetectorPreTrainedModel": (
            "OcclusionPatchDetectorPreTrainedModel",
            OcclusionPatchDetectorPreTrainedModel,
        ),
    },
)
