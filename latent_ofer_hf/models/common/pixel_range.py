"""Conversions between the system's normalised pixels and the [-1, 1] images generative networks work in.

Mean and std come from the config (lists), not from buffers: non-persistent buffers are not restored by
``from_pretrained``'s meta-device loading.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .deprecation import deprecated_aliases


def _channel_stats(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(1, -1, 1, 1)


def normalized_to_unit_range(pixel_values: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """``(x · std + mean) · 2 − 1``: normalised pixels → [-1, 1]."""
    return (pixel_values * _channel_stats(std, pixel_values) + _channel_stats(mean, pixel_values)) * 2 - 1


def unit_range_to_normalized(images: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Inverse of :func:`normalized_to_unit_range`."""
    return ((images + 1) / 2 - _channel_stats(mean, images)) / _channel_stats(std, images)


__all__ = ["normalized_to_unit_range", "unit_range_to_normalized"]

__getattr__ = deprecated_aliases(
    __name__,
    {
        "normalised_to_unit_range": ("normalized_to_unit_range", normalized_to_unit_range),
        "unit_range_to_normalised": ("unit_range_to_normalized", unit_range_to_normalized),
    },
)
