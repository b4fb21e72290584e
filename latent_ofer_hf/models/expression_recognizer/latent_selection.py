"""Expression-relevant latent selection (docs/method.md#latent-selection): which ViT patch latents the latent branch
sees.

Two strategies:

- ``"cam"`` (paper, [P §3.3]): average the attention heads' spatial maps ``[B, H, h, w]``, upsample them (nearest) to
  the ``g × g`` patch grid (7×7 → 14×14: each map cell covers 2×2 patches), keep the top ``K = ceil(ratio·N)``
  patches per image and gather their latents. Indices come back **sorted ascending by patch index** (raster order),
  so the gathered sequence keeps the image layout. Ties (e.g. the four patches of one map cell, or a constant map)
  are broken towards the lower patch index (stable sort), so exactly K patches are always kept.
- ``"fixed"`` (official code, [C: main.py]): the same 78-patch box for every image.

The top-k choice is not differentiable. Gradient reaches the gathered latents through the gather, and (our choice,
not in the paper) reaches the attention map through a straight-through factor on each gathered token
(:func:`straight_through_weights`): forward value exactly 1, so the output equals a plain gather.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

# Official cls-first token indices [C: main.py, only_test.py]: rows 3–12 of the 14×14 grid, 8 tokens per row
# (6 in the last). Patch index = token index − 1 (the cls token is dropped from our latents).
OFFICIAL_FIXED_TOKEN_INDICES: tuple[int, ...] = (
    *range(46, 54),
    *range(60, 68),
    *range(74, 82),
    *range(88, 96),
    *range(102, 110),
    *range(116, 124),
    *range(130, 138),
    *range(144, 152),
    *range(158, 166),
    *range(172, 178),
)
OFFICIAL_FIXED_PATCH_INDICES: tuple[int, ...] = tuple(token - 1 for token in OFFICIAL_FIXED_TOKEN_INDICES)
OFFICIAL_FIXED_GRID_SIZE = 14
STRAIGHT_THROUGH_EPS = 1e-6


def num_selected_patches(num_patches: int, ratio: float) -> int:
    """K = ceil(ratio · N), robust to float noise (0.5·196 → 98, 0.3·196 → 59)."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"the latent selection ratio must be in (0, 1], got {ratio}")
    return max(1, math.ceil(round(ratio * num_patches, 9)))


def grid_size_for(num_patches: int) -> int:
    """Side g of the square patch grid (196 → 14); ValueError if N is not a square."""
    grid = math.isqrt(num_patches)
    if grid * grid != num_patches:
        raise ValueError(f"the number of patches must be a square grid, got {num_patches}")
    return grid


def attention_maps_to_patch_scores(attention_maps: torch.Tensor, num_patches: int) -> torch.Tensor:
    """Heads' spatial maps ``[B, H, h, w]`` → per-patch relevance ``[B, N]`` (head mean, nearest upsampling to g×g,
    raster order)."""
    if attention_maps.ndim != 4:
        raise ValueError(f"attention_maps must have shape [B, heads, h, w], got {list(attention_maps.shape)}")
    grid = grid_size_for(num_patches)
    cam = attention_maps.mean(dim=1, keepdim=True)
    cam = F.interpolate(cam, size=(grid, grid), mode="nearest")
    return cam.flatten(1)


def top_patch_indices(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``[B, k]`` of the k highest ``scores`` ``[B, N]`` per row, sorted ascending by patch index.

    Ties go to the lower patch index (stable descending sort), so exactly ``k`` distinct indices come back.
    """
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape [B, N], got {list(scores.shape)}")
    if not 1 <= k <= scores.shape[1]:
        raise ValueError(f"k must be in 1..{scores.shape[1]}, got {k}")
    order = torch.sort(scores.detach(), dim=1, descending=True, stable=True).indices
    return order[:, :k].sort(dim=1).values


def gather_patches(patch_latents: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """``patch_latents`` ``[B, N, D]`` at ``indices`` ``[B, K]`` → ``[B, K, D]`` (differentiable w.r.t. the latents)."""
    return torch.gather(patch_latents, 1, indices.unsqueeze(-1).expand(-1, -1, patch_latents.shape[-1]))


def straight_through_weights(values: torch.Tensor, eps: float = STRAIGHT_THROUGH_EPS) -> torch.Tensor:
    """Straight-through factor ``s = 1 + (w − sg(w)) / (|sg(w)| + eps)`` for the selected map values ``w``.

    Forward value is exactly 1 (``w − sg(w)`` is exactly 0), so multiplying the gathered latents by ``s`` leaves them
    unchanged; the backward pass gives ``∂s/∂w = 1 / (|w| + eps)``, i.e. the gradient of ``w / sg(w)`` (the relative,
    log-derivative) but finite where the ReLU'd map is 0 or negative. Our design, not in the paper.
    """
    detached = values.detach()
    return 1.0 + (values - detached) / (detached.abs() + eps)


def select_latents_by_cam(
    patch_latents: torch.Tensor, attention_maps: torch.Tensor, ratio: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Paper selection: top ``ceil(ratio·N)`` patches of the mean spatial-attention map.

    Args:
        patch_latents: ``[B, N, D]`` ViT patch latents (cls dropped).
        attention_maps: ``[B, H, h, w]`` spatial maps of the attention heads.
        ratio: fraction of patches to keep, in (0, 1].

    Returns:
        ``selected`` ``[B, K, D]`` (latents × straight-through factor, values equal to the plain gather) and
        ``indices`` ``[B, K]`` (long, ascending patch indices).
    """
    num_patches = patch_latents.shape[1]
    scores = attention_maps_to_patch_scores(attention_maps, num_patches)
    indices = top_patch_indices(scores, num_selected_patches(num_patches, ratio))
    selected = gather_patches(patch_latents, indices)
    weights = straight_through_weights(torch.gather(scores, 1, indices))
    return selected * weights.unsqueeze(-1).to(selected.dtype), indices


def select_latents_fixed(patch_latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Official selection: the fixed 78-patch box of the 14×14 grid.

    Returns ``selected`` ``[B, 78, D]`` and ``indices`` ``[B, 78]`` (long, ascending patch indices).
    """
    num_patches = patch_latents.shape[1]
    if num_patches != OFFICIAL_FIXED_GRID_SIZE**2:
        raise ValueError(
            f"the fixed (official) latent selection needs the 14x14 patch grid (196 patches), got {num_patches} patches"
        )
    indices = torch.tensor(OFFICIAL_FIXED_PATCH_INDICES, dtype=torch.long, device=patch_latents.device)
    indices = indices.unsqueeze(0).expand(patch_latents.shape[0], -1)
    return gather_patches(patch_latents, indices), indices
