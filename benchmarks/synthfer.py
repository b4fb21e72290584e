"""SynthFER generation speed on this CPU (issue: data; target ≥ 300 images/s at 224²).

Usage: python benchmarks/synthfer.py [--images 700]
Times `synthfer_sample` (render + occluder + masks, in memory) for clean, seen- and unseen-occluded faces, one
process; then building a `datasets.Dataset` (PNG-encodes images and masks) for comparison.
Last line: `synthfer_images_per_s=<float>` (mixed: one third each of clean, seen, unseen).
"""

from __future__ import annotations

import argparse
import time

from _common import machine, positive_int

from latent_ofer_hf.data.synthfer.dataset import synthfer_dataset
from latent_ofer_hf.data.synthfer.generate import synthfer_sample


def rate(num_images: int, **kwargs) -> float:
    start = time.perf_counter()
    for index in range(num_images):
        synthfer_sample(index, **kwargs)
    return num_images / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=positive_int, default=700, help="faces per occlusion mode")
    args = parser.parse_args()
    print(f"{machine()}; one process")
    rate(20)  # warm-up
    rates = {mode: rate(args.images, occlusion=mode) for mode in ("none", "seen", "unseen")}
    for mode, value in rates.items():
        print(f"224x224, occlusion={mode:<6}: {value:7.1f} images/s")
    mixed = 3 / sum(1 / value for value in rates.values())
    start = time.perf_counter()
    # a seed of this run: the datasets cache would otherwise hand back an earlier run's build of the same faces
    synthfer_dataset(max(1, args.images // 2), occlusion="seen", seed=time.time_ns() % 2**31)
    built = max(1, args.images // 2) / (time.perf_counter() - start)
    print(f"datasets.Dataset build (PNG-encoded, seen occluders): {built:.1f} images/s")
    print(f"synthfer_images_per_s={mixed:.1f}")


if __name__ == "__main__":
    main()
