"""SynthFER samples: one deterministic function of (seed, split, index), and `datasets` builders on top of it.

Splits use disjoint identity pools (a test face is never a training person). Labels cycle through the 7 classes, so
every split is balanced. Occlusion: ``"none"``, ``"seen"`` (occluders allowed in training) or ``"unseen"`` (held-out
families, for evaluation only), pasted with `latent_ofer_hf.data.occlusion.paste_occluder`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from ...models.common.labels import RAFDB_7
from ..occlusion.object_paste import paste_occluder
from .expressions import sample_action_units
from .identity import Identity, sample_identity
from .occluders import OCCLUDER_FAMILIES
from .render import LANDMARK_NAMES, render_face, sample_lighting, sample_pose

SPLITS = ("train", "validation", "test")
IDENTITIES_PER_SPLIT = {"train": 2000, "validation": 300, "test": 600}
# global person ids: train 0–1999, validation 2000–2299, test 2300–2899 (pools never share a person)
IDENTITY_OFFSETS = {"train": 0, "validation": 2000, "test": 2300}
OCCLUSION_MODES = ("none", "seen", "unseen")


@dataclass
class SynthFERSample:
    """One face. Masks: True = occluded; ``patch_mask`` over the 14×14 grid of 16-px patches (224 input)."""

    image: np.ndarray  # uint8 [H, W, 3]
    label: int  # RAF-DB order
    pixel_mask: np.ndarray  # bool [H, W]
    patch_mask: np.ndarray  # bool [grid, grid]
    occluder: str  # family name, "" when clean
    identity: int  # global person id (unique across splits)
    action_units: np.ndarray  # float32 [15]
    landmarks: np.ndarray  # float32 [5, 2] (x, y), LANDMARK_NAMES order
    face_box: tuple[float, float, float, float]


def is_count(value: object) -> bool:
    """An integer (Python's or NumPy's), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check(split: str, occlusion: str, *, index: object, seed: object, occlusion_probability: object) -> None:
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if occlusion not in OCCLUSION_MODES:
        raise ValueError(f"occlusion must be one of {OCCLUSION_MODES}, got {occlusion!r}")
    for name, value in (("index", index), ("seed", seed)):
        if not is_count(value) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    probability = occlusion_probability
    if not isinstance(probability, numbers.Real) or isinstance(probability, bool) or not 0 <= probability <= 1:
        raise ValueError(f"occlusion_probability must be a number in [0, 1], got {probability!r}")


def identity_for(seed: int, split: str, identity: int) -> Identity:
    """The person number `identity` of a split's pool (pools of different splits never share a person)."""
    return sample_identity(np.random.default_rng([seed, 7919, SPLITS.index(split), identity]))


def synthfer_sample(
    index: int,
    *,
    split: str = "train",
    seed: int = 0,
    occlusion: str = "none",
    occlusion_probability: float = 1.0,
    image_size: int = 224,
    grid: int | None = None,
    min_patch_fraction: float = 0.5,
) -> SynthFERSample:
    """The `index`-th face of a split: the same arguments always give the same sample (person numbers and faces
    depend on `seed`: identity 5 of seed 0 and of seed 1 are different people). `grid` (default `image_size // 16`,
    14 at 224, so `image_size` a multiple of 16) is the patch grid of `patch_mask`."""
    _check(split, occlusion, index=index, seed=seed, occlusion_probability=occlusion_probability)
    if not is_count(image_size) or image_size < 32:
        raise ValueError(f"image_size must be an integer >= 32, got {image_size!r}")
    if grid is None:
        if image_size % 16:
            raise ValueError(f"image_size must be a multiple of 16 (the masks' 16-px patches), got {image_size}")
        grid = image_size // 16
    if not is_count(grid) or grid < 1 or image_size % grid:
        raise ValueError(f"image_size {image_size} must be divisible by the patch grid {grid!r}")
    index, seed, image_size, grid = int(index), int(seed), int(image_size), int(grid)
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    label = index % len(RAFDB_7)
    person = int(rng.integers(IDENTITIES_PER_SPLIT[split]))
    identity = identity_for(seed, split, person)
    units = sample_action_units(label, rng)
    image, landmarks, box = render_face(
        identity, units, rng, size=image_size, pose=sample_pose(rng), lighting=sample_lighting(rng)
    )
    pixel_mask = np.zeros(image.shape[:2], dtype=bool)
    patch_mask = np.zeros((grid, grid), dtype=bool)
    occluder = ""
    if occlusion != "none" and rng.random() < occlusion_probability:
        families = OCCLUDER_FAMILIES[occlusion]
        family = families[int(rng.integers(len(families)))]
        face_width, face_size = box[2] - box[0], max(box[2] - box[0], box[3] - box[1])
        rgba = family.draw(rng, max(8, int(face_width)))  # drawn in proportion to the face width
        anchor = family.anchors[int(rng.integers(len(family.anchors)))]
        result = paste_occluder(
            image,
            rgba,
            rng,
            anchor=anchor,
            scale=max(rgba.shape[:2]) / face_size,
            face_box=box,
            landmarks=landmarks,
            grid=grid,
            min_patch_fraction=min_patch_fraction,
        )
        image, pixel_mask, patch_mask, occluder = result.image, result.pixel_mask, result.patch_mask, family.name
    points = np.array([landmarks[name] for name in LANDMARK_NAMES], dtype=np.float32)
    return SynthFERSample(
        image=image,
        label=label,
        pixel_mask=pixel_mask,
        patch_mask=patch_mask,
        occluder=occluder,
        identity=IDENTITY_OFFSETS[split] + person,
        action_units=units,
        landmarks=points,
        face_box=box,
    )


def synthfer_batch(
    num_images: int, *, start: int = 0, **kwargs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays for quick experiments: images uint8 [n, H, W, 3], labels [n], patch masks [n, g, g], pixel masks."""
    samples = [synthfer_sample(start + i, **kwargs) for i in range(num_images)]
    return (
        np.stack([s.image for s in samples]),
        np.array([s.label for s in samples]),
        np.stack([s.patch_mask for s in samples]),
        np.stack([s.pixel_mask for s in samples]),
    )


def default_split_sizes(total: int) -> dict[str, int]:
    """80 / 10 / 10 split of `total` images (at least one per split, so `total` ≥ 3)."""
    if not is_count(total) or total < 3:
        raise ValueError(f"a total of at least 3 images is needed for train / validation / test, got {total!r}")
    total = int(total)
    validation = test = max(1, math.floor(total * 0.1))
    return {"train": total - validation - test, "validation": validation, "test": test}


__all__ = [
    "IDENTITIES_PER_SPLIT",
    "IDENTITY_OFFSETS",
    "OCCLUSION_MODES",
    "SPLITS",
    "SynthFERSample",
    "default_split_sizes",
    "identity_for",
    "synthfer_batch",
    "synthfer_sample",
]
