"""Step 1a — the shared ViT: per-patch latent vectors and the MAE fill of given patches."""

from ..common.deprecation import deprecated_aliases
from .configuration_vit_latents import LATENT_SOURCES, ViTLatentBackboneConfig
from .modeling_vit_latents import ViTLatentBackbone, ViTLatentBackboneOutput, ViTLatentBackbonePreTrainedModel

__all__ = [
    "LATENT_SOURCES",
    "ViTLatentBackbone",
    "ViTLatentBackboneConfig",
    "ViTLatentBackboneOutput",
    "ViTLatentBackbonePreTrainedModel",
]

__getattr__ = deprecated_aliases(
    __name__,
    {
        "ViTLatentsConfig": ("ViTLatentBackboneConfig", ViTLatentBackboneConfig),
        "ViTLatentsOutput": ("ViTLatentBackboneOutput", ViTLatentBackboneOutput),
        "ViTLatentsPreTrainedModel": ("ViTLatentBackbonePreTrainedModel", ViTLatentBackbonePreTrainedModel),
    },
)
