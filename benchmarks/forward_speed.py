"""Whole-system forward time on this CPU per preset (random weights; speed does not depend on them).

Usage: python benchmarks/forward_speed.py [--presets tiny base] [--repeats 5]
Prints the machine, then median wall time of `LatentOferModel.forward` (detect → MAE fill → recognise) per preset and
batch size after one warm-up call. Last line: `<preset>_forward_s_b<batch>=<float>` for each (tiny at batch 1: the
issue's "well under 2 s" check).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from _common import machine, positive_int, preset_names

from latent_ofer_hf import LatentOferModel, preset_config


def time_forward(preset: str, batch: int, repeats: int) -> float:
    model = LatentOferModel(preset_config(preset)).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.inference_mode():
        model(x)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny", "base"], choices=preset_names())
    parser.add_argument("--batches", nargs="+", type=positive_int, default=[1, 3], help="batch sizes")
    parser.add_argument("--repeats", type=positive_int, default=5, help="timed calls per preset and batch")
    args = parser.parse_args()
    print(machine())
    results = {}
    for preset in args.presets:
        for batch in args.batches:
            seconds = time_forward(preset, batch, args.repeats)
            results[(preset, batch)] = seconds
            per_face = seconds / batch * 1000
            print(f"{preset:<6} batch {batch}: {seconds * 1000:8.1f} ms per call, {per_face:8.1f} ms/face")
    print(" ".join(f"{preset}_forward_s_b{batch}={seconds:.4f}" for (preset, batch), seconds in results.items()))


if __name__ == "__main__":
    main()
