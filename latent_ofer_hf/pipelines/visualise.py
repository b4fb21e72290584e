"""Deprecated module name, kept for 0.1.x: use ``latent_ofer_hf.pipelines.visualize``."""

import warnings

from ..models.common.deprecation import REMOVED_IN, deprecated_aliases
from .visualize import shade_patches, visualize

warnings.warn(
    f"latent_ofer_hf.pipelines.visualise is deprecated and will be removed in {REMOVED_IN}; "
    "use latent_ofer_hf.pipelines.visualize",
    FutureWarning,
    stacklevel=2,
)
__getattr__ = deprecated_aliases(__name__, {"visualise": ("visualize", visualize)})

__all__ = ["shade_patches", "visualize"]
