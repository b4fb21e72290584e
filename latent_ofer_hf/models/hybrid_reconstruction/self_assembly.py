"""The self-assembly layer of the hybrid reconstruction network [P §3.2.2, Eqs. 2–3; spec §2.3.3].

At the U-Net bottleneck (32×32×512 for a 256 input) every masked feature position p_i, in raster order, is replaced by
the cosine-weighted mix of three candidates:

- p_s: the mirror stream's feature at the same spatial position (the feature of the horizontally mirrored face),
  averaged over its 3×3 neighbourhood (positions outside the map are left out of the mean);
- p_k: the most similar *known* (unmasked) feature of the same sample;
- p_{i−1}: the previously generated feature (none for the first masked position: S_0 = 0).

Weights are the cosine similarities S(p_i, ·) clamped at 0 and divided by their sum. Unmasked positions pass through.

Where we differ from the official `HybridFunction` (spec §6), on purpose:
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
        raise ValueError(f"mirror_features must match features {list(features.shape)}, "
                         f"got {list(mirror_features.shape)}")
    batch, _, height, width = features.shape
    if tuple(feature_mask.shape) != (batch, height, width):
        raise ValueError(f"feature_mask must be [B, H, W] = {[batch, height, width]}, got {list(feature_mask.shape)}")


def _norm(vectors: torch.Tensor, eps: float) -> torch.Tensor:
    """Euclidean norm over the last dimension, clamped at ``eps`` (``vecdot`` is much faster than ``vector_norm``)."""
    return torch.linalg.vecdot(vectors, vectors).clamp_min(eps * eps).sqrt()


def self_assembly(
    features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """Batched self-assembly: features and mirror-stream features ``[B, C, H, W]``, bool mask ``[B, H, W]`` → features.

    Every candidate and similarity is computed for all samples and positions at once; only the chain through the
    previously generated feature runs step by step (one step per masked position, all samples together). Work is
    done position-major (``[B, N, C]``): free for channels-last inputs, and the output is channels-last in memory
    (same shape and values; convolutions and norms accept either layout). Half-precision inputs are computed in
    float32 (squared norms of 512-d features overflow float16) and the result is cast back.
    """
    _check(features, mirror_features, feature_mask)
    if features.dtype in (torch.float16, torch.bfloat16):
        result = self_assembly(features.float(), mirror_features.float(), feature_mask, eps)
        return result.to(features.dtype)
    batch, channels, height, width = features.shape
    num_positions = height * width
    mask = feature_mask.reshape(batch, num_positions).to(device=features.device, dtype=torch.bool)
    counts = mask.sum(dim=1)
    steps = int(counts.max())
    if steps == 0:
        return features
    flat = features.permute(0, 2, 3, 1).reshape(batch, num_positions, channels)  # [B, N, C]

    # masked positions of each sample in raster order, then its unmasked ones; the first `steps` are processed
    order = torch.argsort((~mask).to(torch.int8), dim=1, stable=True)[:, :steps]  # [B, T]
    valid = torch.arange(steps, device=mask.device)[None, :] < counts[:, None]  # [B, T]; False = padding
    rows = order[..., None].expand(-1, -1, channels)
    current = flat.gather(1, rows)  # p_i [B, T, C]
    current_unit = current / _norm(current, eps)[..., None]

    # p_s: 3×3 mean of the mirror stream (positions outside the map are left out); pooling is fast channels-last
    if mirror_features.stride(1) != 1:  # not channels-last strided (e.g. NCHW): pooling is much faster channels-last
        mirror_features = mirror_features.contiguous(memory_format=torch.channels_last)
    mirror = F.avg_pool2d(mirror_features, kernel_size=3, stride=1, padding=1, count_include_pad=False)
    mirror_candidate = mirror.permute(0, 2, 3, 1).reshape(batch, num_positions, channels).gather(1, rows)
    sim_mirror = torch.linalg.vecdot(current_unit, mirror_candidate) / _norm(mirror_candidate, eps)  # [B, T]

    # p_k: the most similar known feature of the same sample (known rows gathered, padded with -inf scores)
    known_counts = num_positions - counts
    known_slots = int(known_counts.max())
    if known_slots == 0:  # every position of every sample masked: no known candidate
        sim_known = torch.zeros_like(sim_mirror)
        known_candidate = torch.zeros_like(current)
    else:
        known_order = torch.argsort(mask.to(torch.int8), dim=1, stable=True)[:, :known_slots]  # [B, K]
        known = flat.gather(1, known_order[..., None].expand(-1, -1, channels))  # [B, K, C]
        known_unit = known / _norm(known, eps)[..., None]
        padding = torch.arange(known_slots, device=mask.device)[None, :] >= known_counts[:, None]
        bias = torch.zeros(padding.shape, dtype=features.dtype, device=features.device)
        bias = bias.masked_fill(padding, float("-inf"))[:, None, :]  # [B, 1, K]
        similarity = torch.baddbmm(bias, current_unit, known_unit.transpose(1, 2))  # [B, T, K]
        sim_known, known_index = similarity.max(dim=-1)  # [B, T]
        sim_known = torch.where((known_counts > 0)[:, None], sim_known, torch.zeros_like(sim_known))
        known_candidate = known.gather(1, known_index[..., None].expand(-1, -1, channels))  # [B, T, C]

    weight_mirror, weight_known = sim_mirror.clamp_min(0), sim_known.clamp_min(0)
    numerator = weight_mirror[..., None] * mirror_candidate + weight_known[..., None] * known_candidate
    denominator = weight_mirror + weight_known  # [B, T]

    # the sequential part: S_{i-1} = cos(p_i, out_{i-1}); S_0 = 0 (the "previous" of the first step is 0). Few,
    # in-place ops per step when no gradient is needed: this chain is the only part that cannot be batched.
    needs_fallback = (denominator <= eps).any(dim=0).tolist()  # steps where the weight sum may vanish
    grad = torch.is_grad_enabled() and (current.requires_grad or numerator.requires_grad)
    previous = features.new_zeros(batch, channels)
    previous_unit = previous
    outputs = []
    steps_inputs = zip(current_unit.unbind(1), numerator.unbind(1), denominator.unbind(1), needs_fallback, strict=True)
    for step, (unit, step_numerator, step_denominator, fallback) in enumerate(steps_inputs):
        weight = torch.linalg.vecdot(unit, previous_unit)
        weight = weight.clamp_min(0) if grad else weight.clamp_min_(0)
        total = step_denominator + weight
        if fallback:  # no positive similarity: keep the position's own feature
            mixed = torch.addcmul(step_numerator, weight[:, None], previous) / total.clamp_min(eps)[:, None]
            previous = torch.where((total > eps)[:, None], mixed, current[:, step])
        elif grad:  # total ≥ the step's denominator > eps
            previous = torch.addcmul(step_numerator, weight[:, None], previous) / total[:, None]
        else:
            previous = torch.addcmul(step_numerator, weight[:, None], previous).div_(total[:, None])
        norm = torch.linalg.vector_norm(previous, dim=-1, keepdim=True)
        previous_unit = previous / norm.clamp_min(eps) if grad else previous * norm.clamp_min_(eps).reciprocal_()
        outputs.append(previous)
    generated = torch.stack(outputs, dim=1)  # [B, T, C]

    # write back; padding steps rewrite their (unmasked) position with its own value
    generated = torch.where(valid[..., None], generated, current)
    return flat.scatter(1, rows, generated).reshape(batch, height, width, channels).permute(0, 3, 1, 2)


def self_assembly_reference(
    features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor, eps: float = EPS
) -> torch.Tensor:
    """Plain per-sample, per-position version of :func:`self_assembly` (the test oracle; slow).

    Written for readability: explicit loops over samples, positions and 3×3 neighbours, one candidate at a time.
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
                neighbours = [mirror[:, yy, xx] for yy in range(y - 1, y + 2) for xx in range(x - 1, x + 2)
                              if 0 <= yy < height and 0 <= xx < width]
                p_mirror = torch.stack(neighbours).mean(0)
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
        self, features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor
    ) -> torch.Tensor:
        return self_assembly(features, mirror_features, feature_mask)


__all__ = ["SelfAssemblyLayer", "feature_mask_from_pixels", "self_assembly", "self_assembly_reference"]
