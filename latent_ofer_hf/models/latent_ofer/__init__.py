"""The composite system: one shared ViT, the occlusion detector, the reconstruction and the recogniser."""

from .components import COMPONENTS, RECONSTRUCTION_MODES, SLOTS, Component
from .configuration_latent_ofer import COMPONENT_SUBFOLDERS, LatentOferConfig
from .modeling_latent_ofer import LatentOferModel, LatentOferOutput, LatentOferPreTrainedModel

__all__ = [
    "COMPONENTS",
    "COMPONENT_SUBFOLDERS",
    "Component",
    "LatentOferConfig",
    "LatentOferModel",
    "LatentOferOutput",
    "LatentOferPreTrainedModel",
    "RECONSTRUCTION_MODES",
    "SLOTS",
]
