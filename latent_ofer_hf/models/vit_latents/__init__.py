"""Step 1a — the shared ViT: per-patch latent vectors and the MAE fill of given patches."""

from .configuration_vit_latents import LATENT_SOURCES, ViTLatentsConfig
from .modeling_vit_latents import ViTLatentBackbone, ViTLatentsOutput, ViTLatentsPreTrainedModel

__all__ = ["LATENT_SOURCES", "ViTLatentBackbone", "ViTLatentsConfig", "ViTLatentsOutput", "ViTLatentsPreTrainedModel"]
