"""The contract every reconstruction backend shares (hybrid U-Net, RePaint, the MAE fill alone).

A backend is called as ``backend(pixel_values, coarse_pixel_values=..., patch_mask=... | pixel_mask=...)`` with
normalised square images and returns a [`ReconstructionOutput`]; the hole is given as exactly one of a patch mask
(the detector's) or a pixel mask (any shape of hole).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput

from .input_checks import check_binary_mask, check_patch_mask, check_pixel_values, patch_mask_to_pixel_mask


@dataclass
class ReconstructionOutput(ModelOutput):
    r"""
    Output of a reconstruction backend. S = the backend's working size (`config.image_size`).

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            λ_re · L1(generated, target) when `target_pixel_values` is given (L_re, [P §3.2.3]; hybrid only).
        reconstruction (`torch.FloatTensor` of shape `[B, 3, H, W]`):
            The de-occluded face at the input size and in the input's normalisation; visible pixels are the input's
            when `keep_visible_pixels`.
        generated (`torch.FloatTensor` of shape `[B, 3, S, S]`, *optional*):
            Raw generator output in [-1, 1] scale (no tanh, as the official code) — what the losses see.
        coarse (`torch.FloatTensor` of shape `[B, 3, S, S]`, *optional*):
            The stage-1 image the U-Net refines: MAE fill inside the hole, input outside, [-1, 1] scale.
        pixel_mask (`torch.BoolTensor` of shape `[B, 1, H, W]`):
            The hole that was filled (True = reconstructed).
        feature_mask (`torch.BoolTensor` of shape `[B, s, s]`, *optional*):
            Positions the self-assembly layer rebuilt (s = S / 2**assembly_level; hybrid only).
        assembly_features (`torch.FloatTensor` of shape `[B, C, s, s]`, *optional*):
            Self-assembly output before its InstanceNorm (the features L_c constrains; hybrid only).
    """

    loss: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    generated: torch.FloatTensor | None = None
    coarse: torch.FloatTensor | None = None
    pixel_mask: torch.BoolTensor | None = None
    feature_mask: torch.BoolTensor | None = None
    assembly_features: torch.FloatTensor | None = None


def check_square_pixels(
    pixel_values: object, name: str = "pixel_values", dtype: torch.dtype | None = None
) -> torch.Tensor:
    """A float ``[B, 3, H, H]`` batch of any square size, in ``dtype`` when given (the model's)."""
    if not isinstance(pixel_values, torch.Tensor):
        raise ValueError(f"{name} must be a torch.Tensor of shape [B, 3, H, H], got {type(pixel_values).__name__}")
    size = pixel_values.shape[-1] if pixel_values.ndim == 4 else 0
    return check_pixel_values(pixel_values, image_size=size, name=name, dtype=dtype)


def check_hole(
    pixel_values: torch.Tensor, patch_mask: torch.Tensor | None, pixel_mask: torch.Tensor | None
) -> torch.Tensor:
    """The hole as a bool ``[B, 1, H, W]`` pixel mask, from exactly one of a patch mask or a pixel mask."""
    batch, _, height, width = pixel_values.shape
    if (patch_mask is None) == (pixel_mask is None):
        raise ValueError("give exactly one of patch_mask ([B, g, g] or [B, g*g]) and pixel_mask ([B, 1, H, W])")
    if patch_mask is not None:
        if not isinstance(patch_mask, torch.Tensor) or patch_mask.ndim not in (2, 3):
            raise ValueError("patch_mask must be a tensor of shape [B, g, g] or [B, g*g]")
        num_patches = patch_mask[0].numel()
        grid = int(round(num_patches**0.5))
        if grid * grid != num_patches or height % grid:
            raise ValueError(f"patch_mask with {num_patches} patches does not tile a {height}x{width} image")
        patch_mask = check_patch_mask(patch_mask, batch_size=batch, grid_size=grid)
        return patch_mask_to_pixel_mask(patch_mask, grid_size=grid, patch_size=height // grid).to(pixel_values.device)
    if not isinstance(pixel_mask, torch.Tensor):
        raise ValueError(f"pixel_mask must be a torch.Tensor of shape [B, 1, H, W], got {type(pixel_mask).__name__}")
    if pixel_mask.ndim == 3:
        pixel_mask = pixel_mask[:, None]
    if tuple(pixel_mask.shape) != (batch, 1, height, width):
        raise ValueError(f"pixel_mask must have shape {[batch, 1, height, width]}, got {list(pixel_mask.shape)}")
    return check_binary_mask(pixel_mask, name="pixel_mask", meaning="1 = hole").to(pixel_values.device)


__all__ = ["ReconstructionOutput", "check_hole", "check_square_pixels"]
