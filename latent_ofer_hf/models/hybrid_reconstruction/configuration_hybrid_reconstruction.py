"""Configuration of the hybrid reconstruction network's CNN stage (Latent-OFER step 2,
docs/method.md#hybrid-reconstruction)."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..common.config_checks import (
    ModelTypeChecked,
    require_non_negative,
    require_positive_ints,
    require_rgb_statistics,
    run_validators,
)


@strict
class HybridReconstructionConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`HybridReconstructionNetwork`]: the U-Net with the self-assembly layer that refines the MAE's
    coarse fill [P §3.2.2; docs/method.md#refinement-u-net]. Tags (docs/method.md#tags): [P] paper, [C] official code,
    [R] our choice where the paper is silent, [I] inference.

    Args:
        image_size (`int`, *optional*, defaults to 256):
            Working resolution of the U-Net. The official code resizes the 224 face to 256 [C]; any multiple of
            `2**num_downs` works, the system's 224 input is resized in and out.
        ngf (`int`, *optional*, defaults to 64):
            Base width: level l ≥ 1 has `min(ngf·2^(l-1), max_channel_multiplier·ngf)` output channels [C: ngf=64].
        num_downs (`int`, *optional*, defaults to 8):
            Stride-2 levels (256 → 1 for 8) [C].
        assembly_level (`int`, *optional*, defaults to 3):
            Level whose bottleneck holds the self-assembly layer (feature side `image_size / 2**assembly_level`:
            32×32×512 for 256 and ngf 64) [C]. Levels 1..assembly_level carry the mirror stream (their 3×3 conv
            doubles the channels: first half = the face, second half = its mirror); must satisfy
            `2**assembly_level <= max_channel_multiplier`.
        max_channel_multiplier (`int`, *optional*, defaults to 8):
            Width cap in units of `ngf` (512 for ngf 64) [C].
        feature_mask_threshold (`float`, *optional*, defaults to 0.3125):
            The pixel mask is average-pooled (4×4, stride 2, padding 1) `assembly_level` times; feature positions
            above this value are "masked" for the self-assembly layer. 5/16 as in the official `opt.threshold` [C].
        keep_visible_pixels (`bool`, *optional*, defaults to `True`):
            Paste the input's visible pixels over the generator output (only the holes are replaced). The official
            code returns the raw generator output; the paper's figures show the de-occluded face with the visible
            part intact [R].
        residual_refinement (`bool`, *optional*, defaults to `False`):
            Ours, not in the paper (whose U-Net outputs the image [C]): the U-Net outputs a correction added to its
            coarse input (the MAE fill inside the hole, the visible image outside), its last conv starts at zero, and
            at the input resolution the correction, resized, is added to the full-resolution MAE fill. An untrained
            network then returns the MAE fill exactly, and a U-Net working below the input resolution keeps the MAE's
            detail. For short trainings: after one epoch the demo's image-output U-Net was 0.5–0.9 dB below its MAE
            input over the hole (docs/RESULTS.md).
        image_mean (`list[float]`, *optional*, defaults to ImageNet mean), image_std (`list[float]`, *optional*):
            Normalisation of the `pixel_values` the network receives and returns (the system's convention); the
            U-Net itself works in [-1, 1] as the official code [C].
        init_std (`float`, *optional*, defaults to 0.02):
            Conv weights ~ N(0, init_std), biases 0 [C: `init_weights`, gain 0.02].
        lambda_re, lambda_c, lambda_sc, lambda_d (`float`, *optional*, defaults to 1, 0.01, 1, 0.002):
            Loss weights of L = λ_re·L_re + λ_c·L_c + λ_sc·L_sc + λ_d·(L_d + L_df) [P §4.2] (the official code's
            100, 1, 100, 0.2 divided by 100, docs/method.md#losses).
    """

    model_type = "latent-ofer-hybrid-reconstruction"

    image_size: int = 256
    ngf: int = 64
    num_downs: int = 8
    assembly_level: int = 3
    max_channel_multiplier: int = 8
    feature_mask_threshold: float | int = 5 / 16
    keep_visible_pixels: bool = True
    residual_refinement: bool = False
    image_mean: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_MEAN)
    image_std: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_STD)
    init_std: float | int = 0.02
    lambda_re: float | int = 1.0
    lambda_c: float | int = 0.01
    lambda_sc: float | int = 1.0
    lambda_d: float | int = 0.002

    def __post_init__(self, **kwargs):
        self.image_mean = [float(v) for v in self.image_mean] if _numbers(self.image_mean) else self.image_mean
        self.image_std = [float(v) for v in self.image_std] if _numbers(self.image_std) else self.image_std
        super().__post_init__(**kwargs)
        run_validators(self)

    def validate_unet_shape(self) -> None:
        require_positive_ints(self, "image_size", "ngf", "num_downs", "assembly_level", "max_channel_multiplier")
        if self.image_size % 2**self.num_downs:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 2**num_downs = {2**self.num_downs} "
                f"(every stride-2 level halves it exactly)"
            )
        if not self.assembly_level < self.num_downs:
            raise ValueError(f"assembly_level ({self.assembly_level}) must be below num_downs ({self.num_downs})")
        if 2**self.assembly_level > self.max_channel_multiplier:
            raise ValueError(
                f"2**assembly_level = {2**self.assembly_level} exceeds max_channel_multiplier "
                f"{self.max_channel_multiplier}: the mirror-stream widths would not match"
            )

    def validate_weights(self) -> None:
        require_non_negative(
            self, "feature_mask_threshold", "init_std", "lambda_re", "lambda_c", "lambda_sc", "lambda_d"
        )
        if not 0 <= self.feature_mask_threshold < 1:
            raise ValueError(f"feature_mask_threshold must be in [0, 1), got {self.feature_mask_threshold}")

    def validate_normalization(self) -> None:
        require_rgb_statistics(self, "image_mean")
        require_rgb_statistics(self, "image_std", positive=True)

    def level_channels(self, level: int) -> int:
        """Output width of level ``level`` ≥ 1 (the skip width): ``min(ngf·2^(level-1), cap·ngf)``."""
        return min(self.ngf * 2 ** (level - 1), self.max_channel_multiplier * self.ngf)

    @property
    def assembly_size(self) -> int:
        """Side of the self-assembly feature map (32 for the paper's 256 input)."""
        return self.image_size // 2**self.assembly_level


def _numbers(values: object) -> bool:
    return isinstance(values, (list, tuple)) and all(isinstance(v, (int, float)) for v in values)


__all__ = ["HybridReconstructionConfig"]
