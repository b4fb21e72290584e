"""Occlusion transforms as ``datasets.Dataset.with_transform`` / ``set_transform`` callables.

Each example gets its own generator derived from ``(seed, blake2b(pixel bytes))`` (:func:`example_rng`), so the
occlusion of an image does not depend on batch composition, order, epoch or worker; identical images share it.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from PIL import Image

from .masks import ImageLike, OcclusionResult, example_rng

#: Any occlusion transform, called as ``transform_fn(image, seed=rng)``; bind the other arguments with
#: ``functools.partial`` (e.g. ``partial(random_patch_occlusion, ratio=0.3)``) or pass an :class:`ObjectPaste`.
TransformFn = Callable[..., OcclusionResult]


class OcclusionTransform:
    """Batch transform: replaces ``image_column`` by the occluded image and adds bool mask columns (an error if the
    data already has columns of those names).

    Works on a batch (``{"image": [PIL, ...], ...}``) or a single example (``{"image": PIL, ...}``); other columns are
    kept. ``pixel_mask`` is bool ``[H, W]`` and ``patch_mask`` bool ``[grid, grid]`` per example (numpy arrays).
    """

    def __init__(
        self,
        transform_fn: TransformFn,
        seed: int,
        image_column: str = "image",
        pixel_mask_column: str = "pixel_mask",
        patch_mask_column: str = "patch_mask",
    ) -> None:
        if not callable(transform_fn):
            raise ValueError(
                f"transform_fn must be callable (image, seed=rng) -> OcclusionResult, got {type(transform_fn).__name__}"
            )
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
            raise ValueError(
                f"seed must be a non-negative int (a Generator would make results order-dependent), got {seed!r}"
            )
        self.transform_fn = transform_fn
        self.seed = int(seed)
        self.image_column = image_column
        self.pixel_mask_column = pixel_mask_column
        self.patch_mask_column = patch_mask_column

    def apply(self, image: ImageLike) -> OcclusionResult:
        """Occlude one image with its per-example generator."""
        if isinstance(image, dict):
            raise ValueError(
                f"column {self.image_column!r} holds undecoded images (dict with bytes/path); "
                f"use the datasets Image() feature with decode=True"
            )
        result = self.transform_fn(image, seed=example_rng(self.seed, image))
        if not isinstance(result, OcclusionResult):
            raise ValueError(f"transform_fn must return an OcclusionResult, got {type(result).__name__}")
        return result

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, Any]:
        if self.image_column not in batch:
            raise ValueError(f"batch has no column {self.image_column!r} (columns: {sorted(batch)}); set image_column=")
        taken = [name for name in (self.pixel_mask_column, self.patch_mask_column) if name in batch]
        if taken:  # e.g. SynthFER's own ground truth of another occluder: never overwritten silently
            raise ValueError(
                f"the data set already has column(s) {taken}: the occlusion masks would replace them; name the new "
                "ones with as_dataset_transform(..., pixel_mask_column=, patch_mask_column=) or remove those columns"
            )
        images = batch[self.image_column]
        out = dict(batch)
        single = isinstance(images, (Image.Image, dict)) or (isinstance(images, np.ndarray) and images.ndim == 3)
        if single:
            result = self.apply(images)
            out[self.image_column] = result.image
            out[self.pixel_mask_column] = result.pixel_mask
            out[self.patch_mask_column] = result.patch_mask
            return out
        results = [self.apply(image) for image in images]
        out[self.image_column] = [r.image for r in results]
        out[self.pixel_mask_column] = [r.pixel_mask for r in results]
        out[self.patch_mask_column] = [r.patch_mask for r in results]
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.transform_fn!r}, seed={self.seed}, image_column={self.image_column!r})"


def as_dataset_transform(transform_fn: TransformFn, seed: int, **columns: str) -> OcclusionTransform:
    """Wrap ``transform_fn`` (called as ``transform_fn(image, seed=rng)``) for ``Dataset.with_transform``;
    ``columns``: ``image_column``, ``pixel_mask_column``, ``patch_mask_column`` (:class:`OcclusionTransform`) — name
    the mask columns where the data has its own (SynthFER's ``pixel_mask``)."""
    return OcclusionTransform(transform_fn, seed, **columns)
