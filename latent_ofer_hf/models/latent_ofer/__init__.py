"""The composite system: one shared ViT, the occlusion detector, the reconstruction and the recogniser."""

from .configuration_latent_ofer import COMPONENT_SUBFOLDERS, RECONSTRUCTION_MODES, LatentOferConfig
from .modeling_latent_ofer import LatentOferModel, LatentOferOutput, LatentOferPreTrainedModel

__all__ = [
    "COMPONENT_SUBFOLDERS",
    "LatentOferConfig",
    "LatentOferModel",
    "LatentOferOutput",
    "LatentOferPreTrainedModel",
    "RECONSTRUCTION_MODES",
]
