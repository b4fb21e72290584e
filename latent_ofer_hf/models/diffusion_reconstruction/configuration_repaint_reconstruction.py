"""Configuration of the diffusion reconstruction backend (RePaint), an alternative to the hybrid network."""

from typing import Any

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..common.config_checks import ModelTypeChecked, require_positive_ints, require_rgb_statistics, run_validators
from ..common.deprecation import deprecated_aliases

# Architecture of google/ddpm-ema-celebahq-256 (DDPM on CelebA-HQ faces, 256×256), the weights `from_diffusers` loads.
CELEBAHQ_256_UNET: dict[str, Any] = {
    "sample_size": 256,
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [128, 128, 256, 256, 512, 512],
    "down_block_types": ["DownBlock2D", "DownBlock2D", "DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "DownBlock2D"],
    "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D", "UpBlock2D"],
    "layers_per_block": 2,
    "attention_head_dim": None,
    "downsample_padding": 0,
    "flip_sin_to_cos": False,
    "freq_shift": 1,
    "norm_eps": 1e-6,
    "norm_num_groups": 32,
}


@strict
class RePaintReconstructorConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`RePaintReconstructor`]: inpaints the detected hole with a DDPM `UNet2DModel` sampled by
    diffusers' `RePaintScheduler` (Lugmayr et al., CVPR 2022). Not part of Latent-OFER: a comparison backend with the
    same input/output contract as [`HybridReconstructionNetwork`] (no training here; load a pretrained DDPM).

    Args:
        unet_config (`dict`, *optional*):
            Keyword arguments of diffusers' `UNet2DModel`. Default: the `google/ddpm-ema-celebahq-256` architecture.
        scheduler_config (`dict`, *optional*):
            Keyword arguments of `RePaintScheduler` (default: its defaults, the linear DDPM schedule of 1000 steps).
        num_inference_steps (`int`, *optional*, defaults to 250), jump_length (`int`, *optional*, defaults to 10),
        jump_n_sample (`int`, *optional*, defaults to 10), eta (`float`, *optional*, defaults to 0.0):
            RePaint's resampling schedule, the RePaint paper's settings. The sampler runs the U-Net about
            `num_inference_steps · jump_n_sample` times (minutes per face on a GPU, hours on a CPU).
        keep_visible_pixels (`bool`, *optional*, defaults to `True`):
            Paste the input's visible pixels over the result (RePaint keeps them up to noise already).
        image_mean, image_std (`list[float]`): normalisation of the `pixel_values` in and out (ImageNet).
    """

    model_type = "latent-ofer-repaint-reconstruction"

    unet_config: dict | None = None
    scheduler_config: dict | None = None
    num_inference_steps: int = 250
    jump_length: int = 10
    jump_n_sample: int = 10
    eta: float | int = 0.0
    keep_visible_pixels: bool = True
    image_mean: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_MEAN)
    image_std: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_STD)

    def __post_init__(self, **kwargs):
        self.unet_config = dict(CELEBAHQ_256_UNET if self.unet_config is None else self.unet_config)
        self.scheduler_config = dict(self.scheduler_config or {})
        super().__post_init__(**kwargs)
        run_validators(self)
        self.image_mean = [float(v) for v in self.image_mean]
        self.image_std = [float(v) for v in self.image_std]

    def validate_schedule(self) -> None:
        require_positive_ints(self, "num_inference_steps", "jump_length", "jump_n_sample")
        if isinstance(self.eta, bool) or not isinstance(self.eta, (int, float)) or not 0 <= self.eta <= 1:
            raise ValueError(f"eta must be a number in [0, 1], got {self.eta!r}")

    def validate_unet(self) -> None:
        size = self.unet_config.get("sample_size")
        if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise ValueError(f"unet_config['sample_size'] must be a positive int (square images), got {size!r}")

    def validate_normalization(self) -> None:
        require_rgb_statistics(self, "image_mean")
        require_rgb_statistics(self, "image_std", positive=True)

    @property
    def image_size(self) -> int:
        return self.unet_config["sample_size"]


__all__ = ["CELEBAHQ_256_UNET", "RePaintReconstructorConfig"]

__getattr__ = deprecated_aliases(
    __name__, {"RePaintReconstructionConfig": ("RePaintReconstructorConfig", RePaintReconstructorConfig)}
)
