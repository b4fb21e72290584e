"""Free-form (irregular) masks in the spirit of the NVIDIA partial-convolution masks (paper §5, ref. [27]).

The paper's self-assembly ablation (Tables 8–9) occludes RAF-DB test faces with the NVIDIA irregular masks, which come
in coverage buckets 0–10 %, 10–20 %, …, 50–60 %. The masks here are procedural (random walks of thick strokes with
rounded joints plus some ellipses) and are grown shape by shape until their coverage lands in the requested bucket;
a shape that would overshoot the bucket is rejected and shapes shrink after repeated rejections, so generation ends.
Drawing uses ``PIL.ImageDraw`` only.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from PIL import Image, ImageDraw

from .masks import (
    DEFAULT_GRID,
    Fill,
    ImageLike,
    OcclusionResult,
    SeedLike,
    check_fill,
    check_square,
    fill_masked,
    from_rgb_array,
    make_rng,
    pixel_to_patch_mask,
    to_rgb_array,
)

#: The coverage buckets of the NVIDIA irregular mask test set (fraction of occluded pixels).
NVIDIA_COVERAGE_BUCKETS: tuple[tuple[float, float], ...] = tuple((i / 10, (i + 1) / 10) for i in range(6))


def _check_coverage(coverage: object) -> tuple[float, float]:
    if (
        not isinstance(coverage, (tuple, list))
        or len(coverage) != 2
        or not all(isinstance(c, numbers.Real) and not isinstance(c, bool) for c in coverage)
    ):
        raise ValueError(f"coverage must be a (low, high) pair of fractions, got {coverage!r}")
    low, high = float(coverage[0]), float(coverage[1])
    if not (0.0 <= low < high <= 1.0):
        raise ValueError(f"coverage must satisfy 0 <= low < high <= 1, got {coverage!r}")
    return low, high


def _draw_shape(
    rng: np.random.Generator, size: int, scale: float, max_vertices: int, ellipse_probability: float
) -> np.ndarray:
    """One random stroke (random walk of a thick polyline) or ellipse as a bool ``[size, size]`` layer."""
    layer = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(layer)
    if rng.random() < ellipse_probability:
        rx, ry = rng.uniform(0.03, 0.12, size=2) * size * scale + 0.5
        cx, cy = rng.uniform(0, size, size=2)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    else:
        vertices = int(rng.integers(2, max_vertices + 1))
        width = max(1, int(round(rng.uniform(0.02, 0.07) * size * scale)))
        x, y = rng.uniform(0, size, size=2)
        angle = rng.uniform(0, 2 * math.pi)
        points = [(float(x), float(y))]
        for _ in range(vertices - 1):
            angle += rng.uniform(-0.5 * math.pi, 0.5 * math.pi)
            length = rng.uniform(0.04, 0.15) * size * scale
            x = float(np.clip(x + length * math.cos(angle), 0, size - 1))
            y = float(np.clip(y + length * math.sin(angle), 0, size - 1))
            points.append((x, y))
        draw.line(points, fill=255, width=width, joint="curve")
        radius = width / 2
        for px, py in points:  # round caps
            draw.ellipse([px - radius, py - radius, px + radius, py + radius], fill=255)
    return np.asarray(layer) > 0


def free_form_mask(
    size: int,
    seed: SeedLike,
    coverage: tuple[float, float] = (0.1, 0.2),
    *,
    max_vertices: int = 10,
    ellipse_probability: float = 0.25,
    max_shapes: int = 5000,
) -> np.ndarray:
    """Bool ``[size, size]`` irregular mask (True = occluded) whose coverage lies in ``[low, high]``.

    A target coverage is drawn uniformly in the bucket and shapes are added until it is reached, never exceeding
    ``high``; the result always has at least one occluded pixel. Deterministic for a given seed.
    Raises RuntimeError if the bucket cannot be hit within ``max_shapes`` draws (e.g. a bucket narrower than a pixel).
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 8:
        raise ValueError(f"size must be an int >= 8, got {size!r}")
    low, high = _check_coverage(coverage)
    if isinstance(max_vertices, bool) or not isinstance(max_vertices, numbers.Integral) or max_vertices < 2:
        raise ValueError(f"max_vertices must be an int >= 2, got {max_vertices!r}")
    if not 0.0 <= float(ellipse_probability) <= 1.0:
        raise ValueError(f"ellipse_probability must be in [0, 1], got {ellipse_probability}")
    size = int(size)
    rng = make_rng(seed)
    total = size * size
    target = rng.uniform(low, high)
    mask = np.zeros((size, size), dtype=bool)
    covered = 0
    scale, rejections = 1.0, 0
    for _ in range(max_shapes):
        if covered > 0 and covered >= target * total:
            return mask
        union = mask | _draw_shape(rng, size, scale, int(max_vertices), float(ellipse_probability))
        union_covered = int(union.sum())
        if union_covered > high * total:
            rejections += 1
            if rejections >= 8:
                scale, rejections = scale * 0.7, 0
            continue
        mask, covered = union, union_covered
    if covered > 0 and covered >= target * total:
        return mask
    raise RuntimeError(f"could not reach a coverage in [{low}, {high}] within {max_shapes} shapes for size {size}")


def free_form_occlusion(
    image: ImageLike,
    seed: SeedLike,
    coverage: tuple[float, float] = (0.1, 0.2),
    grid: int = DEFAULT_GRID,
    fill: Fill = "zero",
    min_patch_fraction: float = 0.5,
    **mask_kwargs: object,
) -> OcclusionResult:
    """Occlude an image with :func:`free_form_mask` (NVIDIA-style irregular mask, paper §5 Tables 8–9).

    ``patch_mask`` marks patches with at least ``min_patch_fraction`` of their pixels occluded.
    """
    array, as_pil = to_rgb_array(image)
    size = check_square(array, grid)
    check_fill(fill)
    if not 0.0 < float(min_patch_fraction) <= 1.0:
        raise ValueError(f"min_patch_fraction must be in (0, 1], got {min_patch_fraction}")
    rng = make_rng(seed)
    pixel_mask = free_form_mask(size, rng, coverage, **mask_kwargs)  # type: ignore[arg-type]
    patch_mask = pixel_to_patch_mask(pixel_mask, grid, min_patch_fraction)
    out = fill_masked(array, pixel_mask, fill, rng)
    return OcclusionResult(from_rgb_array(out, as_pil), pixel_mask, patch_mask, {"coverage": float(pixel_mask.mean())})
