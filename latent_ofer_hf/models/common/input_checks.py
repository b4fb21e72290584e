"""Input validation with errors that name the problem (never a traceback from deep inside torch).

Model ``forward``s check what breaks the maths — type, shape, channel count, dtype — from metadata alone, so they
never synchronise with the device. Checks of tensor *values* (NaN/inf, masks holding only 0/1, label ranges) read
the data on the host; they run where data enters the system (the pipeline's image loading, the image processor's
uint8 → float conversion) and, in model ``forward``s, only inside :func:`input_value_checks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import torch

_VALUE_CHECKS: ContextVar[bool] = ContextVar("latent_ofer_input_value_checks", default=False)


@contextmanager
def input_value_checks(enabled: bool = True) -> Iterator[None]:
    """Also check tensor values in model forwards (NaN/inf inputs, 0/1 masks, label ranges) inside this block.

    Off by default: each value check reads the tensor on the host, a device synchronisation per call.

    >>> with input_value_checks():
    ...     model(pixel_values)   # raises ValueError("pixel_values contains NaN or infinite values") on a NaN input
    """
    token = _VALUE_CHECKS.set(enabled)
    try:
        yield
    finally:
        _VALUE_CHECKS.reset(token)


def value_checks_enabled() -> bool:
    """Whether :func:`input_value_checks` is active (in this thread / task)."""
    return _VALUE_CHECKS.get()


def check_finite(values: torch.Tensor, name: str) -> torch.Tensor:
    """Raise ValueError when ``values`` holds NaN or infinity (a host read; meta tensors are skipped)."""
    if values.device.type != "meta" and not bool(torch.isfinite(values).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return values


def check_binary_mask(mask: torch.Tensor, *, name: str, meaning: str = "1 = occluded") -> torch.Tensor:
    """A bool mask as it is; another dtype as ``mask != 0`` (its 0/1 values checked under value checks)."""
    if mask.dtype == torch.bool:
        return mask
    if mask.is_complex():
        raise ValueError(f"{name} must be boolean or hold only 0 and 1 ({meaning}), got dtype {mask.dtype}")
    if value_checks_enabled() and mask.device.type != "meta" and not bool(((mask == 0) | (mask == 1)).all()):
        raise ValueError(f"{name} must be boolean or hold only 0 and 1 ({meaning})")
    return mask != 0


def check_pixel_values(
    pixel_values: object,
    *,
    image_size: int,
    num_channels: int = 3,
    name: str = "pixel_values",
    dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Check a ``[B, C, H, W]`` float batch of the model's size (finite values under value checks); return it, in
    ``dtype`` when given (the model's: a float32 batch for a bfloat16 model is cast, as transformers' ViT does)."""
    if not isinstance(pixel_values, torch.Tensor):
        raise ValueError(
            f"{name} must be a torch.Tensor of shape [B, {num_channels}, {image_size}, {image_size}], "
            f"got {type(pixel_values).__name__}"
        )
    if pixel_values.ndim != 4:
        raise ValueError(
            f"{name} must have 4 dimensions [B, {num_channels}, {image_size}, {image_size}], "
            f"got shape {list(pixel_values.shape)}"
        )
    batch, channels, height, width = pixel_values.shape
    if batch == 0:
        raise ValueError(f"{name} is an empty batch (shape {list(pixel_values.shape)})")
    if channels != num_channels:
        raise ValueError(
            f"{name} must have {num_channels} channels (RGB), got {channels} "
            f"(shape {list(pixel_values.shape)}); convert grayscale/RGBA images to RGB first"
        )
    if (height, width) != (image_size, image_size):
        raise ValueError(
            f"{name} must be {image_size}x{image_size} pixels, got {height}x{width}; resize the face crop first"
        )
    if not pixel_values.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor (normalised pixels), got dtype {pixel_values.dtype}")
    if value_checks_enabled():
        check_finite(pixel_values, name)
    return pixel_values if dtype is None else pixel_values.to(dtype)


def check_patch_mask(patch_mask: object, *, batch_size: int, grid_size: int, name: str = "patch_mask") -> torch.Tensor:
    """Check a patch mask given as ``[B, N]`` or ``[B, g, g]`` (bool or 0/1); return it as bool ``[B, N]``."""
    num_patches = grid_size * grid_size
    if not isinstance(patch_mask, torch.Tensor):
        raise ValueError(
            f"{name} must be a torch.Tensor of shape [B, {num_patches}] or [B, {grid_size}, {grid_size}], "
            f"got {type(patch_mask).__name__}"
        )
    if patch_mask.ndim == 3 and tuple(patch_mask.shape[1:]) == (grid_size, grid_size):
        patch_mask = patch_mask.reshape(patch_mask.shape[0], num_patches)
    if patch_mask.ndim != 2 or patch_mask.shape[1] != num_patches:
        raise ValueError(
            f"{name} must have shape [B, {num_patches}] or [B, {grid_size}, {grid_size}], got {list(patch_mask.shape)}"
        )
    if patch_mask.shape[0] != batch_size:
        raise ValueError(f"{name} has batch size {patch_mask.shape[0]} but the images have {batch_size}")
    return check_binary_mask(patch_mask, name=name)


def check_patch_latents(
    patch_latents: object, *, num_patches: int, latent_dim: int, name: str = "patch_latents"
) -> torch.Tensor:
    """Check ``[B, N, D]`` per-patch latents (no cls token; finite under value checks); return them."""
    if not isinstance(patch_latents, torch.Tensor):
        raise ValueError(
            f"{name} must be a torch.Tensor of shape [B, {num_patches}, {latent_dim}], "
            f"got {type(patch_latents).__name__}"
        )
    if patch_latents.ndim != 3 or tuple(patch_latents.shape[1:]) != (num_patches, latent_dim):
        raise ValueError(
            f"{name} must have shape [B, {num_patches}, {latent_dim}] (patch tokens, cls token dropped), "
            f"got {list(patch_latents.shape)}"
        )
    if patch_latents.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch")
    if value_checks_enabled():
        check_finite(patch_latents, name)
    return patch_latents


def patch_mask_to_pixel_mask(patch_mask: torch.Tensor, *, grid_size: int, patch_size: int) -> torch.Tensor:
    """Bool ``[B, N]`` (or ``[B, g, g]``) patch mask → bool ``[B, 1, g*p, g*p]`` pixel mask of p×p blocks."""
    grid = patch_mask.reshape(patch_mask.shape[0], 1, grid_size, grid_size)
    return grid.repeat_interleave(patch_size, dim=2).repeat_interleave(patch_size, dim=3)
