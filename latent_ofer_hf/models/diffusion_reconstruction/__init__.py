from .configuration_repaint_reconstruction import CELEBAHQ_256_UNET, RePaintReconstructionConfig
from .modeling_repaint_reconstruction import RePaintReconstructor

__all__ = ["CELEBAHQ_256_UNET", "RePaintReconstructionConfig", "RePaintReconstructor"]
