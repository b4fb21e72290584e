"""SynthFER as `datasets` objects: `synthfer_dataset` (one split) and `load_synthfer` (train / validation / test).

Save with ``DatasetDict.save_to_disk(path)`` (reload with ``datasets.load_from_disk``) or export Parquet with
``dataset.to_parquet(file)``, so a training run can reuse a generated set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
from PIL import Image

from ...models.common.labels import RAFDB_7
from .expressions import ACTION_UNITS
from .generate import SPLITS, default_split_sizes, synthfer_sample
from .render import LANDMARK_NAMES


def synthfer_features(grid: int = 14) -> datasets.Features:
    """Columns: index (the sample's number in its split), image, label (RAF-DB order), occlusion_mask (patch
    grid), pixel_mask (L image, 255 = occluded), occluder (family name, "" if clean), identity, action_units,
    landmarks (5 × (x, y))."""
    return datasets.Features(
        {
            "index": datasets.Value("int64"),
            "image": datasets.Image(),
            "label": datasets.ClassLabel(names=list(RAFDB_7)),
            "occlusion_mask": datasets.Array2D((grid, grid), "bool"),
            "pixel_mask": datasets.Image(),
            "occluder": datasets.Value("string"),
            "identity": datasets.Value("int32"),
            "action_units": datasets.List(datasets.Value("float32"), length=len(ACTION_UNITS)),
            "landmarks": datasets.Array2D((len(LANDMARK_NAMES), 2), "float32"),
        }
    )


def _source_digest() -> str:
    """Hash of the generator's code (SynthFER + the occlusion transforms it uses), part of the `datasets` cache key:
    `from_generator` caches by its arguments only, so changed code must change them."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted([*package.joinpath("synthfer").glob("*.py"), *package.joinpath("occlusion").glob("*.py")]):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _rows(indices: list[int], sample_kwargs: dict, source_digest: str = "") -> Iterator[dict]:
    for index in indices:
        sample = synthfer_sample(index, **sample_kwargs)
        yield {
            "index": index,
            "image": Image.fromarray(sample.image),
            "label": sample.label,
            "occlusion_mask": sample.patch_mask,
            "pixel_mask": Image.fromarray(sample.pixel_mask.astype(np.uint8) * 255, mode="L"),
            "occluder": sample.occluder,
            "identity": sample.identity,
            "action_units": sample.action_units.tolist(),
            "landmarks": sample.landmarks,
        }


def synthfer_dataset(
    num_images: int,
    *,
    split: str = "train",
    seed: int = 0,
    occlusion: str = "none",
    occlusion_probability: float = 1.0,
    image_size: int = 224,
    num_proc: int | None = None,
    keep_in_memory: bool = True,
) -> datasets.Dataset:
    """`num_images` SynthFER faces of one split as a `datasets.Dataset` (deterministic in all arguments)."""
    if not isinstance(num_images, int) or num_images <= 0:
        raise ValueError(f"num_images must be a positive integer, got {num_images!r}")
    sample_kwargs = {
        "split": split,
        "seed": seed,
        "occlusion": occlusion,
        "occlusion_probability": occlusion_probability,
        "image_size": image_size,
        "grid": image_size // 16,
    }
    synthfer_sample(0, **sample_kwargs)  # validates the arguments before any worker starts
    shards = max(1, num_proc or 1)
    dataset = datasets.Dataset.from_generator(
        _rows,
        features=synthfer_features(image_size // 16),
        gen_kwargs={
            "indices": list(range(num_images)),
            "sample_kwargs": sample_kwargs,
            "source_digest": _source_digest(),
        },
        num_proc=num_proc,
        keep_in_memory=keep_in_memory,
        split=datasets.NamedSplit(split),
    )
    return dataset.sort("index") if shards > 1 else dataset


def load_synthfer(
    num_images: int | dict[str, int] = 7000,
    *,
    seed: int = 0,
    occlusion: str | dict[str, str] = "none",
    occlusion_probability: float = 1.0,
    image_size: int = 224,
    num_proc: int | None = None,
) -> datasets.DatasetDict:
    """Train / validation / test SynthFER splits (disjoint identities).

    Args:
        num_images: total (split 80/10/10) or a dict of per-split sizes.
        occlusion: one mode for every split, or per split, e.g. ``{"train": "seen", "validation": "seen",
            "test": "unseen"}`` to test on occluders never seen in training.
    """
    sizes = default_split_sizes(num_images) if isinstance(num_images, int) else dict(num_images)
    unknown = set(sizes) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; choose from {SPLITS}")
    modes = {split: occlusion for split in sizes} if isinstance(occlusion, str) else dict(occlusion)
    return datasets.DatasetDict(
        {
            split: synthfer_dataset(
                size,
                split=split,
                seed=seed,
                occlusion=modes.get(split, "none"),
                occlusion_probability=occlusion_probability,
                image_size=image_size,
                num_proc=num_proc,
            )
            for split, size in sizes.items()
        }
    )


__all__ = ["load_synthfer", "synthfer_dataset", "synthfer_features"]
