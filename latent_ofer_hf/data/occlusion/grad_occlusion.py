"""Grad occlusion (paper §1, Fig. 1): occlude the patches that matter most to a FER model according to Grad-CAM.

Our reading [R] (docs/method.md#data-and-occlusion-protocols): average the CAM per 16×16 patch and mask the top
``round(ratio · 196)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .grad_cam import GradCAM
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

CamSource = np.ndarray | GradCAM | Callable[[ImageLike], np.ndarray]


def patch_scores_from_cam(cam: np.ndarray, grid: int = DEFAULT_GRID) -> np.ndarray:
    """Mean CAM value per patch: float64 ``[grid, grid]`` from a square ``[S, S]`` CAM with ``S % grid == 0``."""
    grid = check_grid(grid)
    cam = np.asarray(cam)
    if cam.ndim != 2:
        raise ValueError(f"cam must be a 2-D [H, W] array, got shape {list(cam.shape)}")
    if not np.issubdtype(cam.dtype, np.number) or np.issubdtype(cam.dtype, np.complexfloating):
        raise ValueError(f"cam must hold real numbers, got dtype {cam.dtype}")
    if not np.isfinite(cam).all():
        raise ValueError("cam contains NaN or infinite values")
    size = check_square(cam, grid, name="cam")
    patch = size // grid
    return cam.astype(np.float64).reshape(grid, patch, grid, patch).mean(axis=(1, 3))


def top_patches_from_cam(cam: np.ndarray, ratio: float, grid: int = DEFAULT_GRID) -> np.ndarray:
    """Bool ``[grid, grid]`` mask of the ``round(ratio · grid²)`` patches with the highest mean CAM.

    Ties are broken by row-major patch index (lower index first), so the result is deterministic.
    """
    grid = check_grid(grid)
    count = num_patches_for_ratio(ratio, grid)
    scores = patch_scores_from_cam(cam, grid).ravel()
    order = np.argsort(-scores, kind="stable")
    flat = np.zeros(scores.size, dtype=bool)
    flat[order[:count]] = True
    return flat.reshape(grid, grid)


def grad_occlusion(
    image: ImageLike,
    cam: CamSource,
    ratio: float,
    grid: int = DEFAULT_GRID,
    fill: Fill = "zero",
    seed: SeedLike = 0,
    target: int | None = None,
) -> OcclusionResult:
    """Occlude the top-``ratio`` patches of a class activation map.

    ``cam`` is a precomputed ``[S, S]`` map (``S`` divisible by ``grid``; need not equal the image size), a
    :class:`GradCAM` (called with ``target``, default the predicted class) or any callable ``image → cam``. The
    selection is deterministic; ``seed`` only matters for ``fill="noise"``. ``pixel_mask`` is ``patch_mask`` expanded.
    """
    array, as_pil = to_rgb_array(image)
    size = check_square(array, grid)
    check_fill(fill)
    num_patches_for_ratio(ratio, grid)
    info: dict[str, object] = {"ratio": float(ratio)}
    if isinstance(cam, GradCAM):
        cam_map = cam(from_rgb_array(array.copy(), as_pil), target=target)
        info["target"] = cam.last_target
    elif isinstance(cam, np.ndarray):
        cam_map = cam
    elif callable(cam):
        cam_map = np.asarray(cam(from_rgb_array(array.copy(), as_pil)))
    else:
        raise ValueError(f"cam must be a numpy array, a GradCAM or a callable image -> cam, got {type(cam).__name__}")
    patch_mask = top_patches_from_cam(cam_map, ratio, grid)
    pixel_mask = patch_to_pixel_mask(patch_mask, size)
    out = fill_masked(array, pixel_mask, fill, make_rng(seed))
    info["num_patches"] = int(patch_mask.sum())
    return OcclusionResult(from_rgb_array(out, as_pil), pixel_mask, patch_mask, info)
