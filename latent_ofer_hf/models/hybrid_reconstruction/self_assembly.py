"""The self-assembly layer of the hybrid reconstruction network [P §3.2.2, Eqs. 2–3;
docs/method.md#self-assembly-layer].

At the U-Net bottleneck (32×32×512 for a 256 input) every masked feature position p_i, in raster order, is replaced by
the cosine-weighted mix of three candidates:

- p_s: the mirror stream's feature at the same spatial position (the feature of the horizontally mirrored face),
  averaged over its 3×3 neighbourhood (positions outside the map are left out of the mean);
- p_k: the most similar *known* (unmasked) feature of the same sample;
- p_{i−1}: the previously generated feature (none for the first masked position: S_0 = 0).

Weights are the cosine similarities S(p_i, ·) clamped at 0 and divided by their sum. Unmasked positions pass through.

Where we differ from the official `HybridFunction` (docs/method.md#official-code-deviations), on purpose:
- the output *is* the mix above (the official layer decodes an attention map over known patches only, so the mirror
  and previous terms enter only through the normalisation);
- S_sym is computed at the masked position's own spatial index (the official code reads it at the running count of
  masked positions, i.e. at the wrong place) and the query is normalised (a true cosine, Eq. 2);
- the mask is per sample (no cache of the first sample's mask) and the batch may hold many samples;
- plain autograd (the official custom backward drops the mirror stream's gradient).

Defined outputs for degenerate cases (not covered by the paper): negative cosines count as 0 (a mix of
anti-similar features is not a convex combination); when no candidate has a positive similarity — e.g. every
position is masked, so there is no known feature — the position keeps its own feature (the ViT fill's features).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EPS = 1e-8


def feature_mask_from_pixels(pixel_mask: torch.Tensor, levels: int, threshold: float) -> torch.Tensor:
    """Pixel mask ``[B, 1, H, W]`` (True/1 = hole) → feature mask ``[B, H/2^levels, W/2^levels]`` (bool).

    The official code convolves the mask ``levels`` times with a 4×4 stride-2 kernel of weights 1/16 (zero padding 1,
    i.e. an average pool that counts the padding) and keeps positions whose value exceeds ``threshold`` (5/16) [C].
    """
    mask = pixel_mask.to(torch.float32)
    for _ in range(levels):
        mask = F.avg_pool2d(mask, kernel_size=4, stride=2, padding=1, count_include_pad=True)
    return (mask > threshold)[:, 0]


def _check(features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor) -> None:
    if features.ndim != 4:
        raise ValueError(f"features must be [B, C, H, W], got shape {list(features.shape)}")
    if mirror_features.shape != features.shape:
        raise ValueError(
            f"mirror_features must match features {list(features.shape)}, got {list(mirror_features.shape)}"
        )
    batch, _, height, width = features.shape
    if tuple(feature_mask.shape) != (batch, height, width):
        raise ValueError(f"feature_mask must be [B, H, W] = {[batch, height, width]}, got {list(feature_mask.shape)}")


def _rows(features: torch.Tensor) -> torch.Tensor:
    """``[B, C, H, W]`` → ``[B·H·W, C]`` position-major rows (a view when the memory is channels-last)."""
    batch, channels, height, width = features.shape
    return features.permute(0, 2, 3, 1).reshape(batch * height * width, channels)


def _writable_view(features: torch.Tensor, rows: torch.Tensor) -> bool:
    """Whether ``rows`` is a view of ``features`` whose rows do not overlap, so that writing it writes ``features``
    (false for NCHW memory, which reshaping copies, and for expanded tensors)."""
    if rows.untyped_storage().data_ptr() != features.untyped_storage().data_ptr():
        return False
    count, channels = rows.shape
    return (channels == 1 or rows.stride(1) == 1) and (count == 1 or rows.stride(0) >= channels)


def _norm(vectors: torch.Tensor, eps: float) -> torch.Tensor:
    """Euclidean norm over the last dimension, clamped at ``eps`` (a reduction: no temporary of the input's size)."""
    return torch.linalg.vector_norm(vectors, dim=-1).clamp_min(eps)


def self_assembly(
    features: torch.Tensor,
    mirror_features: torch.Tensor,
    feature_mask: torch.Tensor,
    eps: float = EPS,
    *,
    inplace: bool = False,
) -> torch.Tensor:
    """Batched self-assembly: features and mirror-stream features ``[B, C, H, W]``, bool mask ``[B, H, W]`` → features.

    Every candidate and similarity is computed for all samples and masked positions at once (one batched matmul for
    the most-similar-known search); only the chain through the previously generated feature runs step by step, one
    step per masked position for all samples together. Work is position-major: free for channels-last inputs, and
    the output is channels-last in memory (same shape and values; convolutions and norms accept either layout).
    Half-precision inputs are computed in float32 (squared norms of 512-d features overflow float16) and the result
    is cast back.

    ``inplace=True`` (only without autograd) writes the masked positions into ``features`` itself when its memory is
    position-major without overlap (channels-last strides, e.g. a half of a channels-last conv output, as the U-Net
    hands it) and returns it, sparing a full-map copy; otherwise the result is a new tensor. Use the returned tensor
    either way. With no masked position the input itself is returned (unchanged).
    """
    _check(features, mirror_features, feature_mask)
    grad = torch.is_grad_enabled() and (features.requires_grad or mirror_features.requires_grad)
    if inplace and grad:
        raise ValueError("self_assembly(inplace=True) needs autograd off (torch.no_grad() or torch.inference_mode())")
    if features.dtype in (torch.float16, torch.bfloat16):
        result = self_assembly(features.float(), mirror_features.float(), feature_mask, eps)
        if inplace and _writable_view(features, _rows(features)):
            return features.copy_(result)
        return result.to(features.dtype)
    batch, channels, height, width = features.shape
    num_positions = height * width
    mask = feature_mask.reshape(batch, num_positions).to(device=features.device, dtype=torch.bool)
    counts = mask.sum(dim=1)
    count_list = counts.tolist()  # the one host sync for the batch's masked counts
    steps = max(count_list)
    if steps == 0:
        return features
    rows = _rows(features)  # [B·N, C]
    in_place = inplace and _writable_view(features, rows)
    output = rows if in_place else rows.clone()
    offsets = torch.arange(batch, device=mask.device) * num_positions

    # masked positions of each sample in raster order, padded to T = the largest count with its unmasked positions
    # (computed on, never written back): step-major row indices [T, B]
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :steps].T
    valid = torch.arange(steps, device=mask.device)[:, None] < counts[None, :]  # [T, B]; False = padding
    index = (order + offsets).contiguous()
    current = rows.index_select(0, index.view(-1)).view(steps, batch, channels)  # p_i [T, B, C]
    current_norm = _norm(current, eps)[..., None]
    # without autograd p_i is normalised in place; the chain reads a position's own feature from `rows` instead
    current_unit = current / current_norm if grad else current.div_(current_norm)

    # p_s: 3×3 mean of the mirror stream (positions outside the map left out), pooled over the masked bounding box only
    mirror_candidate = _mirror_means(mirror_features, mask.view(batch, height, width), order)
    sim_mirror = torch.linalg.vecdot(current_unit, mirror_candidate) / _norm(mirror_candidate, eps)  # [T, B]

    # p_k: the most similar known feature of the same sample (known rows padded to K, padding scored −inf)
    known_counts = num_positions - counts
    known_slots = num_positions - min(count_list)
    if known_slots == 0:  # every position of every sample masked: no known candidate
        sim_known = torch.zeros_like(sim_mirror)
        known_candidate = torch.zeros_like(current)
    else:
        known_order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)[:, :known_slots]  # [B, K]
        known_index = known_order + offsets[:, None]
        known = rows.index_select(0, known_index.view(-1)).view(batch, known_slots, channels)
        known_norm = _norm(known, eps)[..., None]
        known_unit = known / known_norm if grad else known.div_(known_norm)
        padding = torch.arange(known_slots, device=mask.device)[None, :] >= known_counts[:, None]  # [B, K]
        bias = torch.zeros(padding.shape, dtype=features.dtype, device=features.device)
        bias = bias.masked_fill_(padding, float("-inf"))[:, None, :]  # [B, 1, K]
        similarity = torch.baddbmm(bias, current_unit.transpose(0, 1), known_unit.transpose(1, 2))  # [B, T, K]
        sim_known, best = similarity.max(dim=-1)  # [B, T]; −inf where a sample has no known position
        sim_known = sim_known.T
        known_candidate = rows.index_select(0, known_index.gather(1, best).T.reshape(-1)).view_as(current)

    weight_mirror, weight_known = sim_mirror.clamp_min(0), sim_known.clamp_min(0)
    if grad:
        numerator = torch.addcmul(weight_mirror[..., None] * mirror_candidate, weight_known[..., None], known_candidate)
    else:
        numerator = mirror_candidate.mul_(weight_mirror[..., None]).addcmul_(weight_known[..., None], known_candidate)
    # padding steps are dropped; weight 1 keeps them off the keep-own-feature branch
    denominator = (weight_mirror + weight_known).masked_fill_(~valid, 1.0)  # [T, B]
    fallback = (denominator <= eps).any(dim=1).tolist()  # steps where some sample's weight sum may vanish
    if grad:
        generated = _chain_autograd(current, current_unit, numerator, denominator, fallback, eps)
    else:
        generated = _chain_inference(rows, index, current_unit, numerator, denominator, fallback, eps)

    # write back the masked positions (padding steps are left out); channels-last once reshaped
    generated = generated.view(-1, channels)
    if min(count_list) == steps:  # no padding step
        output.index_copy_(0, index.view(-1), generated)
    else:
        keep = valid.view(-1)
        output.index_copy_(0, index.view(-1)[keep], generated[keep])
    if in_place:
        return features
    return output.view(batch, height, width, channels).permute(0, 3, 1, 2)


def _mirror_means(mirror_features: torch.Tensor, mask: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """3×3 means of the mirror stream at the masked positions ``order`` [T, B] → ``[T, B, C]``.

    Pooled over the bounding box of all masked positions plus a one-position margin only: the means inside the box
    see every neighbour that exists in the map.
    """
    batch, channels, height, width = mirror_features.shape
    rows_hit, columns_hit = mask.any(dim=(0, 2)), mask.any(dim=(0, 1))
    first_row, last_row = _first_last(rows_hit)
    first_column, last_column = _first_last(columns_hit)
    first_row, last_row, first_column, last_column = torch.stack(
        [first_row, last_row, first_column, last_column]
    ).tolist()  # one host sync for the box
    top, bottom = max(first_row - 1, 0), min(last_row + 2, height)
    left, right = max(first_column - 1, 0), min(last_column + 2, width)
    crop = mirror_features[:, :, top:bottom, left:right]
    pooled = F.avg_pool2d(crop, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    crop_height, crop_width = bottom - top, right - left
    pooled = pooled.permute(0, 2, 3, 1).reshape(batch * crop_height * crop_width, channels)
    y, x = order // width - top, order % width - left
    inside = (y >= 0) & (y < crop_height) & (x >= 0) & (x < crop_width)  # padding steps may fall outside the box
    sample = torch.arange(batch, device=order.device)[None, :] * (crop_height * crop_width)
    local = torch.where(inside, y * crop_width + x, 0) + sample
    return pooled.index_select(0, local.reshape(-1)).view(*order.shape, channels)


def _first_last(hit: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the first and last True of a non-empty bool vector, as 0-d tensors (no host sync)."""
    index = torch.arange(hit.shape[0], device=hit.device)
    return torch.where(hit, index, hit.shape[0]).min(), torch.where(hit, index, -1).max()


def _chain_autograd(
    current: torch.Tensor,
    current_unit: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    fallback: list[bool],
    eps: float,
) -> torch.Tensor:
    """The sequential part with plain autograd ops: out_t = (numerator_t + w_t·out_{t−1}) / (denominator_t + w_t),
    w_t = max(0, cos(p_t, out_{t−1})), w_0 = 0; a position with all weights 0 keeps its own feature (checked only
    at the steps flagged in `fallback`)."""
    outputs: list[torch.Tensor] = []
    previous = previous_unit = None
    for step, keep_own in enumerate(fallback):
        step_numerator, total = numerator[step], denominator[step]
        if previous_unit is not None:
            weight = torch.linalg.vecdot(current_unit[step], previous_unit).clamp_min(0)
            step_numerator = torch.addcmul(step_numerator, weight[:, None], previous)
            total = total + weight
        if keep_own:
            mixed = step_numerator / total.clamp_min(eps)[:, None]
            previous = torch.where((total > eps)[:, None], mixed, current[step])
        else:
            previous = step_numerator / total[:, None]
        previous_unit = previous / _norm(previous, eps)[:, None]
        outputs.append(previous)
    return torch.stack(outputs)


def _chain_inference(
    rows: torch.Tensor,
    index: torch.Tensor,
    current_unit: torch.Tensor,
    numerator: torch.Tensor,
    denominator: torch.Tensor,
    fallback: list[bool],
    eps: float,
) -> torch.Tensor:
    """:func:`_chain_autograd` without autograd, a few in-place ops per step. Step t's output overwrites
    ``current_unit[t]`` once read (returned: that buffer). A position's own feature (needed only where every weight
    is 0) is read from ``rows`` at ``index`` [T, B]."""
    units, numerators, denominators = current_unit.unbind(0), numerator.unbind(0), denominator[..., None].unbind(0)
    previous = None
    for step, (out, step_numerator, total, keep_own) in enumerate(
        zip(units, numerators, denominators, fallback, strict=True)
    ):
        if previous is None:  # S_0 = 0: the first step mixes the mirror and known candidates only
            torch.div(step_numerator, total.clamp_min(eps), out=out)
        else:
            inverse_norm = torch.linalg.vector_norm(previous, dim=-1, keepdim=True).clamp_min_(eps).reciprocal_()
            weight = torch.linalg.vecdot(out, previous)[:, None].clamp_min_(0).mul_(inverse_norm)  # [B, 1]
            total = weight + total
            torch.addcmul(step_numerator, weight, previous, out=out)
            out.div_(total.clamp_min(eps) if keep_own else total)
        if keep_own:
            out.copy_(torch.where(total > eps, out, rows.index_select(0, index[step])))
        previous = out
    return current_unit


def self_assembly_reference(
    features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """Plain per-sample, per-position version of :func:`self_assembly` (the test oracle; slow).

    Written for readability: explicit loops over samples, positions and 3×3 neighbors, one candidate at a time.
    """
    _check(features, mirror_features, feature_mask)
    batch, channels, height, width = features.shape

    def cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a / a.norm().clamp_min(eps) * (b / b.norm().clamp_min(eps))).sum()

    samples = []
    for b in range(batch):
        feats, mirror, masked = features[b], mirror_features[b], feature_mask[b].bool()
        known = [feats[:, y, x] for y in range(height) for x in range(width) if not masked[y, x]]
        columns, previous = [], None
        for y in range(height):
            for x in range(width):
                p = feats[:, y, x]
                if not masked[y, x]:
                    columns.append(p)
                    continue
                neighbors = [
                    mirror[:, yy, xx]
                    for yy in range(y - 1, y + 2)
                    for xx in range(x - 1, x + 2)
                    if 0 <= yy < height and 0 <= xx < width
                ]
                p_mirror = torch.stack(neighbors).mean(0)
                weights, candidates = [cosine(p, p_mirror)], [p_mirror]
                if known:
                    sims = torch.stack([cosine(p, k) for k in known])
                    best = int(sims.argmax())
                    weights.append(sims[best])
                    candidates.append(known[best])
                if previous is not None:
                    weights.append(cosine(p, previous))
                    candidates.append(previous)
                weights = [w.clamp_min(0) for w in weights]
                total = sum(weights)
                if total > eps:
                    out = sum(w * c for w, c in zip(weights, candidates, strict=True)) / total
                else:
                    out = p
                columns.append(out)
                previous = out
        samples.append(torch.stack(columns, dim=1).reshape(channels, height, width))
    return torch.stack(samples)


class SelfAssemblyLayer(nn.Module):
    """The layer as a module (no parameters): ``(features, mirror_features, feature_mask) → features``."""

    def forward(
        self, features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor, inplace: bool = False
    ) -> torch.Tensor:
        return self_assembly(features, mirror_features, feature_mask, inplace=inplace)


__all__ = ["SelfAssemblyLayer", "feature_mask_from_pixels", "self_assembly", "self_assembly_reference"]
