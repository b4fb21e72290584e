"""RePaint diffusion inpainting as a reconstruction backend (beyond the paper; diffusers `UNet2DModel` +
`RePaintScheduler`). Same call as `HybridReconstructionNetwork`: (image, hole) → image with the hole filled."""

from __future__ import annotations

import inspect
import os

import torch
import torch.nn.functional as F
from diffusers import RePaintScheduler, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor
from torch import nn
from transformers import PreTrainedModel

from ..common.hub_code import HubCodeMixin
from ..common.pixel_range import normalized_to_unit_range, unit_range_to_normalized
from ..common.reconstruction import ReconstructionOutput, check_hole, check_square_pixels
from .configuration_repaint_reconstruction import RePaintReconstructorConfig


class RePaintReconstructor(HubCodeMixin, PreTrainedModel):
    """Fill the hole by RePaint sampling of a DDPM U-Net; the visible pixels condition every step.

    Example:
        >>> backend = RePaintReconstructor.from_diffusers("google/ddpm-ema-celebahq-256")   # when online
        >>> out = backend(pixel_values, patch_mask=patch_mask, generator=torch.Generator().manual_seed(0))
    """

    config_class = RePaintReconstructorConfig
    config: RePaintReconstructorConfig
    base_model_prefix = "repaint"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def __init__(self, config: RePaintReconstructorConfig):
        super().__init__(config)
        self.unet = UNet2DModel(**config.unet_config)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        """The diffusers U-Net initialises itself (PyTorch defaults); weights normally come from a trained DDPM."""

    @classmethod
    def from_diffusers(
        cls, pretrained_model_name_or_path: str | os.PathLike, subfolder: str | None = None, **config_kwargs
    ) -> RePaintReconstructor:
        """Wrap a diffusers DDPM (e.g. `google/ddpm-ema-celebahq-256`, or a local copy): U-Net weights and config
        from the repo (`subfolder` if the U-Net lives in one), the scheduler config from its `scheduler_config.json`
        when present."""
        unet = UNet2DModel.from_pretrained(pretrained_model_name_or_path, subfolder=subfolder)
        try:
            scheduler_config = dict(RePaintScheduler.load_config(pretrained_model_name_or_path, subfolder="scheduler"))
        except OSError:
            try:
                scheduler_config = dict(RePaintScheduler.load_config(pretrained_model_name_or_path))
            except OSError:
                scheduler_config = {}
        accepted = set(inspect.signature(RePaintScheduler.__init__).parameters) - {"self"}
        scheduler_config = {k: v for k, v in scheduler_config.items() if k in accepted}
        unet_config = {k: v for k, v in dict(unet.config).items() if not k.startswith("_")}
        model = cls(cls.config_class(unet_config=unet_config, scheduler_config=scheduler_config, **config_kwargs))
        model.unet.load_state_dict(unet.state_dict())
        return model.eval()

    def make_scheduler(self) -> RePaintScheduler:
        scheduler = RePaintScheduler(**self.config.scheduler_config)
        scheduler.eta = self.config.eta
        return scheduler

    @torch.no_grad()
    def forward(
        self,
        pixel_values: torch.Tensor,
        coarse_pixel_values: torch.Tensor | None = None,
        patch_mask: torch.Tensor | None = None,
        pixel_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        num_inference_steps: int | None = None,
        return_dict: bool | None = None,
    ) -> ReconstructionOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `[B, 3, H, H]`): occluded faces (normalised pixels).
            coarse_pixel_values: accepted for the common backend contract and ignored (RePaint starts from noise).
            patch_mask / pixel_mask: the hole, as for `HybridReconstructionNetwork`.
            generator (`torch.Generator`, *optional*): makes the sampling reproducible.
            num_inference_steps (`int`, *optional*): override `config.num_inference_steps` for this call.
            return_dict (`bool`, *optional*): False → a tuple of the output's non-None fields.
        """
        pixel_values = check_square_pixels(pixel_values)
        hole = check_hole(pixel_values, patch_mask, pixel_mask)
        size, config = self.config.image_size, self.config
        dtype = next(self.unet.parameters()).dtype
        image = normalized_to_unit_range(pixel_values, config.image_mean, config.image_std)
        known_image = F.interpolate(image, size=(size, size), mode="bilinear", align_corners=False).to(dtype)
        work_hole = F.interpolate(hole.float(), size=(size, size), mode="nearest")
        known = (1 - work_hole).to(dtype)  # RePaint's convention: 1 = keep

        scheduler = self.make_scheduler()
        scheduler.set_timesteps(
            num_inference_steps or config.num_inference_steps,
            config.jump_length,
            config.jump_n_sample,
            device=pixel_values.device,
        )
        sample = randn_tensor(known_image.shape, generator=generator, device=known_image.device, dtype=dtype)
        previous_t = int(scheduler.timesteps[0]) + 1
        for t in scheduler.timesteps.tolist():
            if t < previous_t:  # denoise one step, re-imposing the (noised) visible pixels
                noise = self.unet(sample, t).sample
                sample = scheduler.step(noise, t, sample, known_image, known, generator).prev_sample
            else:  # RePaint's jump back: re-noise to resample the hole in harmony with the context
                sample = scheduler.undo_step(sample, previous_t, generator)
            previous_t = t

        generated = sample.to(pixel_values.dtype)
        output = F.interpolate(generated, size=pixel_values.shape[-2:], mode="bilinear", align_corners=False)
        output = unit_range_to_normalized(output, config.image_mean, config.image_std)
        if config.keep_visible_pixels:
            output = torch.where(hole, output, pixel_values)
        result = ReconstructionOutput(reconstruction=output, generated=generated, pixel_mask=hole)
        return result if (config.return_dict if return_dict is None else return_dict) else result.to_tuple()


__all__ = ["RePaintReconstructor"]
