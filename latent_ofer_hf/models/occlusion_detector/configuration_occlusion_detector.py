"""Configuration of the ViT-SVDD occlusion patch detector (Deep-SVDD head over ViT patch latents)."""

from __future__ import annotations

import math

import torch
from transformers import PreTrainedConfig
from transformers.activations import ACT2FN

SVDD_OBJECTIVES = ("soft-boundary", "one-class")


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class OcclusionDetectorConfig(PreTrainedConfig):
    r"""
    Configuration of [`OcclusionPatchDetector`], the one-class (Deep SVDD) classifier that flags occluded ViT patches
    [P §3.1; spec §2.2]. Tags: [P] paper, [C-dep] Deep-SVDD-PyTorch (`lukasruff/Deep-SVDD-PyTorch`), [R] spec
    recommendation, [I] inference.

    Args:
        latent_dim (`int`, *optional*, defaults to 512):
            Width D of one patch latent. 512 = MAE decoder width, the space of the saved Latent-OFER latents
            [spec §2.1, I]; use 1024 for MAE ViT-L encoder tokens.
        num_patches (`int`, *optional*, defaults to 196):
            Patch tokens N per image, cls token dropped; must be a square g×g grid (196 = 14×14) [P §1].
        patch_size (`int`, *optional*, defaults to 16):
            Side p of a square patch in pixels, used only to expand the patch mask into the `[B, 1, g*p, g*p]` pixel
            mask (16 → 224×224) [P §3.2].
        hidden_dims (`list[int]`, *optional*, defaults to `(256,)`):
            Hidden widths of the bias-free MLP Φ: `latent_dim → *hidden_dims → rep_dim`. Empty means one linear map.
            Not in the paper (Φ is unspecified, spec §7 Q2): a small MLP as recommended [R spec §2.2].
        rep_dim (`int`, *optional*, defaults to 64):
            Output width of Φ, i.e. of the SVDD hypersphere space. Not in the paper; of the order of Deep-SVDD-PyTorch's
            `rep_dim` (32 for MNIST, 128 for CIFAR-10) [C-dep].
        hidden_act (`str`, *optional*, defaults to `"leaky_relu"`):
            Non-linearity between the linear layers (none after the last). Deep-SVDD-PyTorch's networks use
            `F.leaky_relu` (slope 0.01) [C-dep]. Must satisfy act(0) = 0 (e.g. not `"sigmoid"`): a non-zero value at 0
            acts like a bias, which Deep SVDD forbids to avoid the trivial "map everything to c" solution.
        objective (`str`, *optional*, defaults to `"soft-boundary"`):
            `"soft-boundary"`: L = R² + 1/(ν·n) Σ max(0, d² − R²), with R set by the ν-quantile rule, which makes R
            "determined automatically" as the paper says [P §3.1, R spec §2.2]. `"one-class"`: L = mean d², the
            paper's Eq. 1 without the weight-decay term [P §3.1]. The weight decay (λ/2)·Σ‖W‖² of Eq. 1 is left to the
            optimiser (`weight_decay`; Deep-SVDD-PyTorch uses 1e-6 with Adam [C-dep]).
        nu (`float`, *optional*, defaults to 0.1):
            ν ∈ (0, 1]: expected fraction of clean patches outside the sphere; sets R as the (1 − ν)-quantile of clean
            distances and weights the soft-boundary penalty. Deep-SVDD-PyTorch default [C-dep].
        center_eps (`float`, *optional*, defaults to 0.1):
            When the centre c is initialised as the mean of Φ outputs, coordinates with |c_i| < eps are pushed to ±eps
            so that a bias-free Φ cannot reach c with zero weights. Deep-SVDD-PyTorch's `init_center_c` default
            [C-dep]; 0 disables it.

    Example:

    ```python
    >>> config = OcclusionDetectorConfig(latent_dim=32, hidden_dims=[16], rep_dim=8)
    >>> model = OcclusionPatchDetector(config)
    ```
    """

    model_type = "latent-ofer-occlusion-detector"

    latent_dim: int = 512
    num_patches: int = 196
    patch_size: int = 16
    hidden_dims: list[int] | tuple[int, ...] = (256,)
    rep_dim: int = 64
    hidden_act: str = "leaky_relu"
    objective: str = "soft-boundary"
    nu: float = 0.1
    center_eps: float = 0.1

    def __post_init__(self, **kwargs):
        for name in ("latent_dim", "num_patches", "patch_size", "rep_dim"):
            if not _is_positive_int(getattr(self, name)):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        grid = math.isqrt(self.num_patches)
        if grid * grid != self.num_patches:
            raise ValueError(f"num_patches must be a perfect square (a g×g patch grid, e.g. 196 = 14×14), "
                             f"got {self.num_patches}")
        if not isinstance(self.hidden_dims, (list, tuple)) or not all(_is_positive_int(h) for h in self.hidden_dims):
            raise ValueError(f"hidden_dims must be a list of positive integers (may be empty), "
                             f"got {self.hidden_dims!r}")
        self.hidden_dims = list(self.hidden_dims)
        if self.hidden_act not in ACT2FN:
            raise ValueError(f"hidden_act {self.hidden_act!r} is unknown; choose one of {sorted(ACT2FN)}")
        if float(ACT2FN[self.hidden_act](torch.zeros(1, device="cpu"))[0]) != 0.0:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not zero at 0; it would act as a bias, which "
                             f"Deep SVDD forbids (use e.g. 'leaky_relu', 'relu' or 'gelu')")
        if self.objective not in SVDD_OBJECTIVES:
            raise ValueError(f"objective must be one of {SVDD_OBJECTIVES}, got {self.objective!r}")
        if isinstance(self.nu, bool) or not isinstance(self.nu, (int, float)) or not 0.0 < self.nu <= 1.0:
            raise ValueError(f"nu must be a number in (0, 1], got {self.nu!r}")
        if isinstance(self.center_eps, bool) or not isinstance(self.center_eps, (int, float)) or not (
            math.isfinite(self.center_eps) and self.center_eps >= 0
        ):
            raise ValueError(f"center_eps must be a finite number >= 0, got {self.center_eps!r}")
        super().__post_init__(**kwargs)

    @property
    def grid_size(self) -> int:
        """Side g of the patch grid (14 for 196 patches)."""
        return math.isqrt(self.num_patches)


__all__ = ["OcclusionDetectorConfig"]
