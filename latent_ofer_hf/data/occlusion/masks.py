"""Shared pieces of the occlusion transforms: the result type, image/mask conversion, fills and seeding.

Conventions (the same as ``latent_ofer_hf.models.common.input_checks``): a *pixel mask* is a numpy bool ``[H, W]``
array and a *patch mask* a numpy bool ``[grid, grid]`` array in row-major patch order; ``True`` means occluded.
With the default grid of 14 a 224×224 face crop is split into 196 patches of 16×16 pixels (paper §1, Fig. 1).
"""

from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image
from transformers.image_utils import IMAGENET_DEFAULT_MEAN

DEFAULT_GRID = 14

ImageLike = Image.Image | np.ndarray
SeedLike = int | np.random.Generator
Fill = str | tuple[int, int, int]

#: The ImageNet mean color as uint8 RGB: ``fill="mean"`` pixels become ~0 after ImageNet normalisation.
IMAGENET_MEAN_RGB: tuple[int, int, int] = tuple(int(round(255 * m)) for m in IMAGENET_DEFAULT_MEAN)  # (124, 116, 104)
FILL_MODES = ("zero", "mean", "noise")


@dataclass
class OcclusionResult:
    """Output of every occlusion transform.

    ``image`` is of the same kind as the input (PIL RGB image or uint8 ``[H, W, 3]`` array); ``pixel_mask`` is bool
    ``[H, W]`` and ``patch_mask`` bool ``[grid, grid]`` (True = occluded). ``info`` holds transform-specific details
    (e.g. the anchor or coverage that was drawn); it is informative only.
    """

    image: ImageLike
    pixel_mask: np.ndarray
    patch_mask: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)


def check_grid(grid: object) -> int:
    """Return ``grid`` as a positive int or raise ValueError."""
    if isinstance(grid, bool) or not isinstance(grid, numbers.Integral) or grid < 1:
        raise ValueError(f"grid must be a positive integer (patches per side), got {grid!r}")
    return int(grid)


def to_rgb_array(image: object, *, name: str = "image") -> tuple[np.ndarray, bool]:
    """Return ``(uint8 [H, W, 3] copy, was_pil)``; PIL images of any mode are converted to RGB."""
    if isinstance(image, Image.Image):
        return np.array(image.convert("RGB"), dtype=np.uint8), True
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f"{name} must be a PIL image or a uint8 array of shape [H, W, 3], "
                f"got an array of shape {list(image.shape)}"
            )
        if image.dtype != np.uint8:
            raise ValueError(f"{name} must be a uint8 array (0..255), got dtype {image.dtype}")
        return np.array(image, dtype=np.uint8, copy=True), False
    raise ValueError(
        f"{name} must be a PIL image or a uint8 numpy array of shape [H, W, 3], got {type(image).__name__}"
    )


def from_rgb_array(array: np.ndarray, as_pil: bool) -> ImageLike:
    """Return ``array`` as a PIL RGB image when ``as_pil`` else unchanged."""
    return Image.fromarray(array, mode="RGB") if as_pil else array


def check_square(array: np.ndarray, grid: int, *, name: str = "image") -> int:
    """Check a square ``[S, S, ...]`` array with ``S`` divisible by ``grid``; return ``S``."""
    grid = check_grid(grid)
    height, width = array.shape[:2]
    if height != width:
        raise ValueError(f"{name} must be square (an aligned face crop), got {width}x{height} (WxH); crop or resize it")
    if height % grid != 0:
        raise ValueError(
            f"{name} size {height} is not divisible by the patch grid {grid}; "
            f"resize to a multiple of {grid} (e.g. {grid * 16} for 16-pixel patches)"
        )
    return height


def make_rng(seed: object) -> np.random.Generator:
    """An int seed → a fresh ``numpy.random.Generator``; a Generator is used (and advanced) as is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int or a numpy.random.Generator, got {seed!r}")
    return np.random.default_rng(int(seed))


def image_digest(image: ImageLike) -> int:
    """A stable 128-bit hash (blake2b) of an image's RGB pixel bytes and shape."""
    array, _ = to_rgb_array(image)
    hasher = hashlib.blake2b(digest_size=16)
    hasher.update(np.asarray(array.shape, dtype=np.int64).tobytes())
    hasher.update(np.ascontiguousarray(array).tobytes())
    return int.from_bytes(hasher.digest(), "little")


def example_rng(seed: int, image: ImageLike) -> np.random.Generator:
    """Per-example generator derived from ``(seed, blake2b(pixels))``: independent of batch order and worker.

    Identical images get identical occlusions under the same seed.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    digest = image_digest(image)
    words = [int(seed)] + [(digest >> (32 * i)) & 0xFFFFFFFF for i in range(4)]
    return np.random.default_rng(np.random.SeedSequence(words))


def num_patches_for_ratio(ratio: object, grid: int = DEFAULT_GRID) -> int:
    """``round(ratio · grid²)`` (halves round up) after checking ``0 ≤ ratio ≤ 1``."""
    grid = check_grid(grid)
    if isinstance(ratio, bool) or not isinstance(ratio, numbers.Real) or not math.isfinite(float(ratio)):
        raise ValueError(f"ratio must be a finite number in [0, 1], got {ratio!r}")
    if not 0.0 <= float(ratio) <= 1.0:
        raise ValueError(f"ratio must be in [0, 1] (the fraction of the {grid * grid} patches to occlude), got {ratio}")
    return int(math.floor(float(ratio) * grid * grid + 0.5))


def check_fill(fill: object) -> Fill:
    """Validate a fill spec: ``"zero"`` (black), ``"mean"`` (ImageNet mean color), ``"noise"`` or an RGB tuple."""
    if isinstance(fill, str):
        if fill not in FILL_MODES:
            raise ValueError(f"fill must be one of {FILL_MODES} or an (r, g, b) tuple, got {fill!r}")
        return fill
    if (
        isinstance(fill, (tuple, list))
        and len(fill) == 3
        and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) and 0 <= c <= 255 for c in fill)
    ):
        return (int(fill[0]), int(fill[1]), int(fill[2]))
    raise ValueError(f"fill must be one of {FILL_MODES} or an (r, g, b) tuple of ints in 0..255, got {fill!r}")


def fill_masked(array: np.ndarray, pixel_mask: np.ndarray, fill: Fill, rng: np.random.Generator) -> np.ndarray:
    """Return a copy of ``array`` with the ``pixel_mask`` pixels replaced by ``fill``.

    ``"noise"`` draws uniform uint8 RGB values from ``rng`` (only then is ``rng`` advanced).
    """
    fill = check_fill(fill)
    out = array.copy()
    if fill == "zero":
        out[pixel_mask] = 0
    elif fill == "mean":
        out[pixel_mask] = IMAGENET_MEAN_RGB
    elif fill == "noise":
        out[pixel_mask] = rng.integers(0, 256, size=(int(pixel_mask.sum()), 3), dtype=np.uint8)
    else:
        out[pixel_mask] = fill
    return out


def pixel_to_patch_mask(pixel_mask: np.ndarray, grid: int = DEFAULT_GRID, min_fraction: float = 0.5) -> np.ndarray:
    """Bool ``[S, S]`` pixel mask → bool ``[grid, grid]`` patch mask.

    A patch counts as occluded when at least ``min_fraction`` (in ``(0, 1]``) of its pixels are; use a tiny value
    (e.g. ``1e-9``) for "any occluded pixel".
    """
    grid = check_grid(grid)
    pixel_mask = np.asarray(pixel_mask)
    if pixel_mask.ndim != 2:
        raise ValueError(f"pixel_mask must be 2-D [H, W], got shape {list(pixel_mask.shape)}")
    if pixel_mask.dtype != np.bool_:
        raise ValueError(f"pixel_mask must be a bool array (True = occluded), got dtype {pixel_mask.dtype}")
    size = check_square(pixel_mask, grid, name="pixel_mask")
    if not 0.0 < float(min_fraction) <= 1.0:
        raise ValueError(f"min_fraction must be in (0, 1], got {min_fraction}")
    patch = size // grid
    fractions = pixel_mask.reshape(grid, patch, grid, patch).mean(axis=(1, 3))
    return fractions >= float(min_fraction) - 1e-12


def patch_to_pixel_mask(patch_mask: np.ndarray, image_size: int) -> np.ndarray:
    """Bool ``[grid, grid]`` (or flat ``[grid²]``, row-major) patch mask → bool ``[S, S]`` pixel mask of blocks."""
    patch_mask = np.asarray(patch_mask)
    if patch_mask.dtype != np.bool_:
        raise ValueError(f"patch_mask must be a bool array (True = occluded), got dtype {patch_mask.dtype}")
    if patch_mask.ndim == 1:
        grid = math.isqrt(patch_mask.size)
        if grid * grid != patch_mask.size or grid == 0:
            raise ValueError(f"a flat patch_mask must have a square number of entries, got {patch_mask.size}")
        patch_mask = patch_mask.reshape(grid, grid)
    if patch_mask.ndim != 2 or patch_mask.shape[0] != patch_mask.shape[1] or patch_mask.shape[0] == 0:
        raise ValueError(f"patch_mask must have shape [grid, grid], got {list(patch_mask.shape)}")
    grid = patch_mask.shape[0]
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral):
        raise ValueError(f"image_size must be an int, got {image_size!r}")
    if image_size < grid or image_size % grid:
        raise ValueError(f"image_size must be an int divisible by the grid {grid}, got {image_size!r}")
    patch = int(image_size) // grid
    return np.repeat(np.repeat(patch_mask, patch, axis=0), patch, axis=1)
