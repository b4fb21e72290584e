"""SynthFER as `datasets` objects: `synthfer_dataset` (one split) and `load_synthfer` (train / validation / test).

Save with ``DatasetDict.save_to_disk(path)`` (reload with ``datasets.load_from_disk``) or export Parquet with
``dataset.to_parquet(file)``, so a training run can reuse a generated set.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path

import datasets
import numpy as np
from PIL import Image

from ...models.common.labels import RAFDB_7
from .expressions import ACTION_UNITS
from .generate import SPLITS, default_split_sizes, is_count, synthfer_sample
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


def _rows(ranges: list[tuple[int, int]], sample_kwargs: dict, source_digest: str = "") -> Iterator[dict]:
    for start, stop in ranges:
        yield from _rows_of_range(start, stop, sample_kwargs)


def _rows_of_range(start: int, stop: int, sample_kwargs: dict) -> Iterator[dict]:
    for index in range(start, stop):
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
    """`num_images` SynthFER faces of one split as a `datasets.Dataset` (deterministic in all arguments; `num_proc`
    worker processes draw contiguous index ranges, the same faces as one)."""
    if not is_count(num_images) or num_images <= 0:
        raise ValueError(f"num_images must be a positive integer, got {num_images!r}")
    if num_proc is not None and (not is_count(num_proc) or num_proc < 1):
        raise ValueError(f"num_proc must be a positive integer or None, got {num_proc!r}")
    num_images = int(num_images)
    sample_kwargs = {
        "split": split,
        "seed": seed,
        "occlusion": occlusion,
        "occlusion_probability": occlusion_probability,
        "image_size": image_size,
    }
    synthfer_sample(0, **sample_kwargs)  # validates the arguments before any worker starts (16-px patches)
    shards = min(num_proc or 1, num_images)
    bounds = [num_images * shard // shards for shard in range(shards + 1)]
    dataset = datasets.Dataset.from_generator(
        _rows,
        features=synthfer_features(image_size // 16),
        gen_kwargs={
            # index ranges, one per worker (not a list of every index: datasets pickles and hashes these)
            "ranges": [(bounds[shard], bounds[shard + 1]) for shard in range(shards)],
            "sample_kwargs": sample_kwargs,
            "source_digest": _source_digest(),
        },
        num_proc=shards if shards > 1 else None,
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
    if isinstance(num_images, Mapping):
        sizes = dict(num_images)
        if not sizes:
            raise ValueError(f"num_images: give the size of at least one split of {SPLITS}")
    elif is_count(num_images):
        sizes = default_split_sizes(num_images)
    else:
        raise ValueError(f"num_images must be a total (an integer) or a dict of split sizes, got {num_images!r}")
    unknown = set(sizes) - set(SPLITS)
    if unknown:
        raise ValueError(f"unknown split(s) {sorted(unknown)}; choose from {SPLITS}")
    for split, size in sizes.items():  # each split's own size, named (synthfer_dataset would not say which)
        if not is_count(size) or size < 1:
            raise ValueError(f"num_images[{split!r}] must be a positive integer, got {size!r}")
    if isinstance(occlusion, str):
        modes = dict.fromkeys(sizes, occlusion)
    elif isinstance(occlusion, Mapping):
        modes = dict(occlusion)
        if unknown := set(modes) - set(SPLITS):
            raise ValueError(f"occlusion: unknown split(s) {sorted(unknown)}; choose from {SPLITS}")
    else:
        raise ValueError(f"occlusion must be a mode or a dict of modes per split, got {occlusion!r}")
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
