"""The patches a perfect detector would flag (``--mask ground_truth`` / ``ground_truth_any``): reconstruction and
recognition measured, or the recogniser trained, apart from detection."""

from __future__ import annotations

import torch


def oracle_patch_mask(batch: dict, mask: str) -> torch.Tensor | None:
    """The patches a perfect detector would flag, ``[B, g, g]`` bool, or None for ``mask="detected"``.

    ``"ground_truth"``: the data set's patch labels, a patch counting as occluded when the occluder covers at least
    half of it (the labels detection is scored against); ``"ground_truth_any"``: every patch the occluder touches,
    so no occluder pixel is left for the fill to continue.
    """
    if mask == "detected":
        return None
    if mask == "ground_truth":
        return batch["patch_mask"]
    grid = batch["patch_mask"].shape[-1]
    pixel_mask = batch["pixel_mask"].float()
    return torch.nn.functional.adaptive_max_pool2d(pixel_mask, grid)[:, 0] > 0


__all__ = ["oracle_patch_mask"]
