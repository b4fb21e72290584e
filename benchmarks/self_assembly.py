"""Speed of the batched self-assembly layer on this CPU (issue: hybrid reconstruction network).

Usage: python benchmarks/self_assembly.py [--repeats 7] [--skip-network]

Setting: 32×32×512 features (the paper's 256² U-Net bottleneck), a lower-face block of 12×30 = 360 of 1024 positions
masked (35 %), random features. Inputs are the two channel halves of one [B, 1024, 32, 32] conv output. The headline
uses the layout and write the U-Net uses in inference: that conv output is channels-last (the layer works
position-major) and the layer writes into its face half (`inplace=True`). (On a CPU the U-Net runs a batch one face
at a time by default, so there it makes batch-1 calls; batch-8 calls come from a whole-batch U-Net, e.g. on a GPU
or after `disable_slicing()`.) Also timed: the same halves into a new output tensor, and halves of an NCHW output.
Median wall time after one warm-up; forward under `torch.inference_mode`, forward +
backward with autograd (never in place). Then the layer's share of the whole reconstruction forward as it runs by
default (paper-preset `HybridReconstructionNetwork`, random weights, 224² input with the matching hole).

Anchor (from the issue): the official implementation, a per-sample per-position Python loop that only runs at batch
1, takes 0.42 s per image for this forward on this CPU class. Goal: ≤ 4 ms per image at batch 8, and batch 8 at least
3× faster per image than batch 1. Last line: `self_assembly_ms_per_image_b8=<float>` (channels-last halves, in
place; forward).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from latent_ofer_hf import HybridReconstructionConfig, HybridReconstructionNetwork
from latent_ofer_hf.models.hybrid_reconstruction import self_assembly

OFFICIAL_S_PER_IMAGE = 0.42
SIDE, CHANNELS = 32, 512
ROWS, COLUMNS = slice(20, 32), slice(1, 31)  # 12 × 30 = 360 positions = 35.2 % of 1024


def _median(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _inputs(batch: int, channels_last: bool, requires_grad: bool = False):
    conv_output = torch.randn(batch, 2 * CHANNELS, SIDE, SIDE)
    if channels_last:
        conv_output = conv_output.contiguous(memory_format=torch.channels_last)
    conv_output.requires_grad_(requires_grad)
    mask = torch.zeros(batch, SIDE, SIDE, dtype=torch.bool)
    mask[:, ROWS, COLUMNS] = True
    face, mirror = conv_output.chunk(2, dim=1)
    return conv_output, face, mirror, mask


def time_layer(batch: int, channels_last: bool, backward: bool, repeats: int, inplace: bool = False) -> float:
    """Median seconds per call for one batch (in place: repeated calls rewrite the same masked positions)."""
    conv_output, face, mirror, mask = _inputs(batch, channels_last, requires_grad=backward)
    if not backward:
        def run():
            with torch.inference_mode():
                self_assembly(face, mirror, mask, inplace=inplace)
    else:
        weights = torch.randn(batch, CHANNELS, SIDE, SIDE)

        def run():
            conv_output.grad = None
            (self_assembly(face, mirror, mask) * weights).sum().backward()
    return _median(run, repeats)


def time_network_share(batch: int, repeats: int) -> tuple[float, float]:
    """(whole reconstruction forward, self-assembly part) in seconds per call, paper preset at 224² input, as the
    network runs by default (on a CPU it slices a batch into single faces: the layer runs once per face)."""
    network = HybridReconstructionNetwork(HybridReconstructionConfig()).eval()
    x = torch.randn(batch, 3, 224, 224)
    patch_mask = torch.zeros(batch, 14, 14, dtype=torch.bool)
    patch_mask[:, 9:, 1:13] = True  # lower face, ~31 % of the patches
    layer_time = []
    original = network.unet.assembly.forward

    def timed(*args, **kwargs):
        start = time.perf_counter()
        result = original(*args, **kwargs)
        layer_time[-1] += time.perf_counter() - start
        return result

    def forward():
        layer_time.append(0.0)
        network(x, coarse_pixel_values=x, patch_mask=patch_mask)

    network.unet.assembly.forward = timed
    with torch.inference_mode():
        whole = _median(forward, max(1, repeats // 3))
    return whole, statistics.median(layer_time[1:])  # [0] is the warm-up's


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--skip-network", action="store_true", help="skip the whole-network share (slow)")
    args = parser.parse_args()
    torch.manual_seed(0)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"setting: {SIDE}x{SIDE}x{CHANNELS} features, {12 * 30} of {SIDE * SIDE} positions masked "
          f"({12 * 30 / SIDE**2:.1%}), median of {args.repeats}")
    results = {}
    layouts = {"in place (U-Net)": (True, True), "channels_last": (True, False), "nchw": (False, False)}
    for layout, (channels_last, inplace) in layouts.items():
        for batch in (1, 8):
            for backward in (False, True) if not inplace else (False,):
                seconds = time_layer(batch, channels_last, backward, args.repeats, inplace=inplace)
                results[layout, batch, backward] = seconds / batch * 1e3
                what = "forward + backward" if backward else "forward"
                print(f"{layout:<17} batch {batch}  {what:<18} {seconds / batch * 1e3:8.2f} ms per image")
    forward_b1, forward_b8 = results["in place (U-Net)", 1, False], results["in place (U-Net)", 8, False]
    print(f"speed-up over the official layer (0.42 s/image, batch 1 only): batch 1 "
          f"{OFFICIAL_S_PER_IMAGE * 1e3 / forward_b1:.0f}x, batch 8 {OFFICIAL_S_PER_IMAGE * 1e3 / forward_b8:.0f}x")
    print(f"batch 8 vs batch 1 per image (forward): {forward_b1 / forward_b8:.2f}x faster")
    if not args.skip_network:
        for batch in (1, 8):
            whole, layer = time_network_share(batch, args.repeats)
            print(f"paper-preset reconstruction forward, batch {batch}: {whole / batch * 1e3:.0f} ms per image, "
                  f"self-assembly {layer / batch * 1e3:.2f} ms per image = {layer / whole:.1%} of it")
    print(f"self_assembly_ms_per_image_b8={forward_b8:.3f}")


if __name__ == "__main__":
    main()
