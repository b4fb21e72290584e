"""Whole-system forward time on this CPU per preset (random weights; speed does not depend on them).

Usage: python benchmarks/forward_speed.py [--presets tiny base] [--repeats 5]
Prints the machine, then median wall time of `LatentOferModel.forward` (detect → MAE fill → recognise) per preset and
batch size after one warm-up call. Last line: `tiny_forward_s_b1=<float>` (the issue's "well under 2 s" check).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

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
    parser = argparse.ArgumentParser()
    parser.add_argument("--presets", nargs="+", default=["tiny", "base"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 3])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    results = {}
    for preset in args.presets:
        for batch in args.batches:
            seconds = time_forward(preset, batch, args.repeats)
            results[(preset, batch)] = seconds
            per_face = seconds / batch * 1000
            print(f"{preset:<6} batch {batch}: {seconds * 1000:8.1f} ms per call, {per_face:8.1f} ms/face")
    if ("tiny", 1) in results:
        print(f"tiny_forward_s_b1={results[('tiny', 1)]:.4f}")


if __name__ == "__main__":
    main()
