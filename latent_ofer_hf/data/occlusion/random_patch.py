"""Random sampling occlusion (paper §1, Fig. 1): mask a random subset of the 14×14 patches of a 224 face crop."""

from __future__ import annotations

import numpy as np

from .masks import (
    DEFAULT_GRID,
    Fill,
    ImageLike,
    OcclusionResult,
    SeedLike,
    check_fill,
    check_grid,
    check_square,
    fill_masked,
    from_rgb_array,
    make_rng,
    num_patches_for_ratio,
    patch_to_pixel_mask,
    to_rgb_array,
)


def random_patch_mask(ratio: float, seed: SeedLike, grid: int = DEFAULT_GRID) -> np.ndarray:
    """Bool ``[grid, grid]`` mask with exactly ``round(ratio · grid²)`` patches drawn uniformly without replacement."""
    grid = check_grid(grid)
    count = num_patches_for_ratio(ratio, grid)
    rng = make_rng(seed)
    flat = np.zeros(grid * grid, dtype=bool)
    flat[rng.choice(grid * grid, size=count, replace=False)] = True
    return flat.reshape(grid, grid)


def random_patch_occlusion(
    image: ImageLike, ratio: float, seed: SeedLike, grid: int = DEFAULT_GRID, fill: Fill = "zero"
) -> OcclusionResult:
    """Occlude exactly ``round(ratio · grid²)`` random patches (0.3 → 59 of 196), paper §1 / Fig. 1.

    The paper does not say what the masked patches contain; the default ``fill="zero"`` paints them black.
    ``"mean"`` uses the ImageNet mean color (≈0 after normalisation), ``"noise"`` uniform random RGB from the seed,
    and an ``(r, g, b)`` tuple a constant color. ``pixel_mask`` is exactly ``patch_mask`` expanded to pixels.
    """
    array, as_pil = to_rgb_array(image)
    size = check_square(array, grid)
    check_fill(fill)
    rng = make_rng(seed)
    patch_mask = random_patch_mask(ratio, rng, grid)
    pixel_mask = patch_to_pixel_mask(patch_mask, size)
    out = fill_masked(array, pixel_mask, fill, rng)
    return OcclusionResult(
        from_rgb_array(out, as_pil),
        pixel_mask,
        patch_mask,
        {"ratio": float(ratio), "num_patches": int(patch_mask.sum())},
    )
