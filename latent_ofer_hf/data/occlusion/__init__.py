"""The paper's occlusion protocols as deterministic transforms (paper §1 Fig. 1, §4.1, §5).

- :func:`random_patch_occlusion`: random sampling occlusion of ``round(ratio · 196)`` 16×16 patches.
- :class:`GradCAM` + :func:`grad_occlusion`: occlude the top Grad-CAM patches of a FER model.
- :func:`free_form_occlusion`: NVIDIA-style irregular masks in coverage buckets.
- :func:`paste_occluder` / :class:`ObjectPaste`: Syn-* style object pasting at facial anchors.
- :func:`as_dataset_transform`: any of them as a ``datasets`` ``with_transform`` callable.

All return an :class:`OcclusionResult` (``image``, bool ``pixel_mask [H, W]``, bool ``patch_mask [grid, grid]``,
True = occluded).
"""

from __future__ import annotations

from .dataset_transform import OcclusionTransform, TransformFn, as_dataset_transform
from .free_form import NVIDIA_COVERAGE_BUCKETS, free_form_mask, free_form_occlusion
from .grad_cam import GradCAM, default_preprocess, default_reshape
from .grad_occlusion import grad_occlusion, patch_scores_from_cam, top_patches_from_cam
from .masks import (
    DEFAULT_GRID,
    IMAGENET_MEAN_RGB,
    OcclusionResult,
    example_rng,
    image_digest,
    make_rng,
    num_patches_for_ratio,
    patch_to_pixel_mask,
    pixel_to_patch_mask,
)
from .object_paste import (
    ANCHORS,
    CANONICAL_ANCHORS,
    FACE_ANCHORS,
    LANDMARK_KEYS,
    ObjectPaste,
    anchor_point,
    load_occluder_images,
    paste_occluder,
)
from .random_patch import random_patch_mask, random_patch_occlusion

__all__ = [
    "ANCHORS",
    "CANONICAL_ANCHORS",
    "DEFAULT_GRID",
    "FACE_ANCHORS",
    "IMAGENET_MEAN_RGB",
    "LANDMARK_KEYS",
    "NVIDIA_COVERAGE_BUCKETS",
    "GradCAM",
    "ObjectPaste",
    "OcclusionResult",
    "OcclusionTransform",
    "TransformFn",
    "anchor_point",
    "as_dataset_transform",
    "default_preprocess",
    "default_reshape",
    "example_rng",
    "free_form_mask",
    "free_form_occlusion",
    "grad_occlusion",
    "image_digest",
    "load_occluder_images",
    "make_rng",
    "num_patches_for_ratio",
    "paste_occluder",
    "patch_scores_from_cam",
    "patch_to_pixel_mask",
    "pixel_to_patch_mask",
    "random_patch_mask",
    "random_patch_occlusion",
    "top_patches_from_cam",
]
