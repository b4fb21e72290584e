"""Configuration of the ViT-SVDD occlusion patch detector (Deep-SVDD head over ViT patch latents)."""

import math

import torch
from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.activations import ACT2FN

from ..common.config_checks import (
    ModelTypeChecked,
    require_choice,
    require_non_negative,
    require_positive,
    require_positive_int_list,
    require_positive_ints,
    run_validators,
)
from ..common.deprecation import deprecated_aliases

SVDD_OBJECTIVES = ("soft-boundary", "one-class", "semi-supervised")
INPUT_NORMALIZATIONS = ("none", "per_position")
PROJECTORS = ("mlp", "identity")


@strict
class OcclusionPatchDetectorConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`OcclusionPatchDetector`], the one-class (Deep SVDD) classifier that flags occluded ViT patches
    [P §3.1; docs/method.md#occlusion-detector]. Tags (docs/method.md#tags): [P] paper, [C-dep] Deep-SVDD-PyTorch
    (`lukasruff/Deep-SVDD-PyTorch`), [R] our choice where the paper is silent, [I] inference.

    Args:
        latent_dim (`int`, *optional*, defaults to 512):
            Width D of one patch latent. 512 = MAE decoder width, the space of the saved Latent-OFER latents
            [docs/method.md#vit-latents, I]; use 1024 for MAE ViT-L encoder tokens.
        num_patches (`int`, *optional*, defaults to 196):
            Patch tokens N per image, cls token dropped; must be a square g×g grid (196 = 14×14) [P §1].
        patch_size (`int`, *optional*, defaults to 16):
            Side p of a square patch in pixels, used only to expand the patch mask into the `[B, 1, g*p, g*p]` pixel
            mask (16 → 224×224) [P §3.2].
        hidden_dims (`list[int]`, *optional*, defaults to `(256,)`):
            Hidden widths of the bias-free MLP Φ: `latent_dim → *hidden_dims → rep_dim`. Empty means one linear map.
            Not in the paper (Φ is unspecified, docs/method.md#open-questions Q2): a small MLP, our choice
            [R, docs/method.md#occlusion-detector].
        rep_dim (`int`, *optional*, defaults to 64):
            Output width of Φ, i.e. of the SVDD hypersphere space. Not in the paper; of the order of Deep-SVDD-PyTorch's
            `rep_dim` (32 for MNIST, 128 for CIFAR-10) [C-dep].
        hidden_act (`str`, *optional*, defaults to `"leaky_relu"`):
            Non-linearity between the linear layers (none after the last). Deep-SVDD-PyTorch's networks use
            `F.leaky_relu` (slope 0.01) [C-dep]. Must satisfy act(0) = 0 (e.g. not `"sigmoid"`): a non-zero value at 0
            acts like a bias, which Deep SVDD forbids to avoid the trivial "map everything to c" solution.
        objective (`str`, *optional*, defaults to `"soft-boundary"`):
            `"soft-boundary"`: L = R² + 1/(ν·n) Σ max(0, d² − R²), with R set by the ν-quantile rule, which makes R
            "determined automatically" as the paper says [P §3.1, R docs/method.md#occlusion-detector]. `"one-class"`:
            L = mean d², the paper's Eq. 1 without the weight-decay term [P §3.1]. The weight decay (λ/2)·Σ‖W‖² of Eq. 1
            is left to the optimiser (`weight_decay`; Deep-SVDD-PyTorch uses 1e-6 with Adam [C-dep]).
            `"semi-supervised"` (ours): Deep SAD (Ruff et al., ICLR 2020, Deep SVDD's semi-supervised successor) —
            clean patches pulled to c (d²) and patches *known* to be occluded pushed away (η·(d² + 1e-6)⁻¹), the mean
            over all patches; R is then only the ν-quantile threshold. Our reading of [P §4.2], "trained with KDEF
            synthesised by copy-pasting hands and cups" (docs/method.md#open-questions Q2): the training faces carry
            the `seen` occluder families; the `unseen` ones stay unseen, so what is measured on them is still the
            detector's reach beyond what it was shown (docs/RESULTS.md#why-the-goals-are-not-met, point 1).
        nu (`float`, *optional*, defaults to 0.1):
            ν ∈ (0, 1]: expected fraction of clean patches outside the sphere; sets R as the (1 − ν)-quantile of clean
            distances and weights the soft-boundary penalty. Deep-SVDD-PyTorch default [C-dep]; the `demo` preset uses
            0.01 (ours: fewer false alarms filled, measured in docs/RESULTS.md).
        eta (`float`, *optional*, defaults to 1.0):
            η > 0: the weight of the known-occluded patches in the `"semi-supervised"` objective (Deep SAD's default,
            1); unused by the one-class objectives.
        center_eps (`float`, *optional*, defaults to 0.1):
            When the centre c is initialised as the mean of Φ outputs, coordinates with |c_i| < eps are pushed to ±eps
            so that a bias-free Φ cannot reach c with zero weights. Deep-SVDD-PyTorch's `init_center_c` default
            [C-dep]; 0 disables it. Not applied with `projector="identity"` (there are no weights to collapse).
        input_normalization (`str`, *optional*, defaults to `"none"`):
            `"none"`: Φ reads the latents as they are (the paper [P §3.1]). `"per_position"` (ours,
            docs/method.md#occlusion-detector): each latent is first standardised by the mean and standard deviation
            of clean training latents *at its patch position* (buffers `position_mean`, `position_std` `[N, D]`,
            fitted with `fit_input_normalization` before the centre). Faces are aligned, so what is normal differs
            from the eyes to the chin; the paper's position-blind head finds 3.7 % of black random patches on the
            demo ViT, this one all of them (docs/RESULTS.md#why-the-goals-are-not-met).
        projector (`str`, *optional*, defaults to `"mlp"`):
            `"mlp"`: the learned bias-free Φ of Deep SVDD (the paper [P §3.1]). `"identity"` (ours): Φ(z) = z, nothing
            trained; with `"per_position"` normalisation the distance to the centre is the norm of the per-position
            z-score (a diagonal-Gaussian one-class detector), R still the ν-quantile of clean distances. Needs
            `rep_dim == latent_dim`. Measured with the demo ViT: better detection and accuracy than the learned
            one-class Φ on every protocol (docs/RESULTS.md#why-the-goals-are-not-met); the `demo` preset used it
            until the learned Φ with `objective="semi-supervised"` (Deep SAD) found three times the `unseen`
            occluder patches (docs/RESULTS.md).

    Example:

    ```python
    >>> config = OcclusionPatchDetectorConfig(latent_dim=32, hidden_dims=[16], rep_dim=8)
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
    nu: float | int = 0.1
    eta: float | int = 1.0
    center_eps: float | int = 0.1
    input_normalization: str = "none"
    projector: str = "mlp"

    def __post_init__(self, **kwargs):
        self.hidden_dims = list(self.hidden_dims)
        super().__post_init__(**kwargs)
        run_validators(self)

    def validate_sizes(self) -> None:
        require_positive_ints(self, "latent_dim", "num_patches", "patch_size", "rep_dim")
        require_positive_int_list(self, "hidden_dims", allow_empty=True)
        if math.isqrt(self.num_patches) ** 2 != self.num_patches:
            raise ValueError(
                f"num_patches must be a perfect square (a g×g patch grid, e.g. 196 = 14×14), got {self.num_patches}"
            )

    def validate_projector(self) -> None:
        if self.hidden_act not in ACT2FN:
            raise ValueError(f"hidden_act {self.hidden_act!r} is unknown; choose one of {sorted(ACT2FN)}")
        if float(ACT2FN[self.hidden_act](torch.zeros(1, device="cpu"))[0]) != 0.0:
            raise ValueError(
                f"hidden_act {self.hidden_act!r} is not zero at 0; it would act as a bias, which "
                f"Deep SVDD forbids (use e.g. 'leaky_relu', 'relu' or 'gelu')"
            )

    def validate_objective(self) -> None:
        require_choice(self, "objective", SVDD_OBJECTIVES)
        if isinstance(self.nu, bool) or not isinstance(self.nu, (int, float)) or not 0.0 < self.nu <= 1.0:
            raise ValueError(f"nu must be a number in (0, 1], got {self.nu!r}")
        require_non_negative(self, "center_eps")
        require_positive(self, "eta")

    def validate_normalization(self) -> None:
        require_choice(self, "input_normalization", INPUT_NORMALIZATIONS)
        require_choice(self, "projector", PROJECTORS)
        if self.projector == "identity" and self.objective == "semi-supervised":
            raise ValueError(
                "objective='semi-supervised' trains Φ on known occluded patches: it needs projector='mlp' (the "
                "identity projector has nothing to train)"
            )
        if self.projector == "identity" and self.rep_dim != self.latent_dim:
            raise ValueError(
                f"projector='identity' maps each latent to itself: rep_dim must equal latent_dim ({self.latent_dim}), "
                f"got {self.rep_dim}"
            )

    @property
    def grid_size(self) -> int:
        """Side g of the patch grid (14 for 196 patches)."""
        return math.isqrt(self.num_patches)


__all__ = ["INPUT_NORMALIZATIONS", "PROJECTORS", "OcclusionPatchDetectorConfig"]

__getattr__ = deprecated_aliases(
    __name__, {"OcclusionDetectorConfig": ("OcclusionPatchDetectorConfig", OcclusionPatchDetectorConfig)}
)
