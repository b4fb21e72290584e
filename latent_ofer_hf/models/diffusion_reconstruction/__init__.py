from ..common.deprecation import deprecated_aliases
from .configuration_repaint_reconstruction import CELEBAHQ_256_UNET, RePaintReconstructorConfig
from .modeling_repaint_reconstruction import RePaintReconstructor

__all__ = ["CELEBAHQ_256_UNET", "RePaintReconstructorConfig", "RePaintReconstructor"]

__getattr__ = deprecated_aliases(
    __name__, {"RePaintReconstructionConfig": ("RePaintReconstructorConfig", RePaintReconstructorConfig)}
)
