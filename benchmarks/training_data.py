"""Two bit-exact speed-ups of training, each against what it replaced, measured in one run:

1. the image processor's normalisation by a per-channel lookup table against the float32 formula it replaced
   (``(x / 255 − mean) / std`` on the whole image; all give the same bits), per face: of a PIL image, and of the
   array the training and evaluation faces are (``array_to_pixel_values``, no round trip through PIL);
2. the detector stage's passes over the clean training faces (``2 + epochs`` of them: statistics, centre, one
   radius per epoch) with the frozen ViT's latents kept after the first pass against re-encoding every pass.

    python benchmarks/training_data.py [--faces 384] [--epochs 4] [--rounds 5]

The two variants of each run alternately, ``--rounds`` times; medians are printed with their ratio. The machine is
printed; compare the figures of one run with each other, not with other days.
Last line: ``training_data face_ms_formula=… face_ms_table=… table_speedup=… face_ms_array=… array_speedup=…
clean_passes_s_reencoded=… clean_passes_s_kept=… kept_speedup=…`` (``array_speedup``: the table from the array
against the table through PIL, as training read its faces before).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from _common import machine, positive_int
from accelerate import Accelerator
from PIL import Image

from latent_ofer_hf import LatentOferImageProcessor, preset_config
from latent_ofer_hf.models.occlusion_detector import OcclusionPatchDetector
from latent_ofer_hf.models.vit_latents import ViTLatentBackbone
from latent_ofer_hf.training.stage_detector import CleanLatents, clean_pass


def formula_pixel_values(processor: LatentOferImageProcessor, image: Image.Image) -> torch.Tensor:
    """The normalisation the lookup table replaced (same bits)."""
    array = np.asarray(image, dtype=np.float32) / 255.0
    array = (array - np.asarray(processor.image_mean, dtype=np.float32)) / np.asarray(
        processor.image_std, dtype=np.float32
    )
    return torch.from_numpy(array.transpose(2, 0, 1).copy())


def time_faces(function, arrays: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for array in arrays:
        function(array)
    return (time.perf_counter() - started) / len(arrays) * 1000


def time_clean_passes(accelerator, vit, detector, loader, passes: int, max_bytes: int) -> float:
    latents = CleanLatents(accelerator, vit, loader, max_bytes=max_bytes)
    started = time.perf_counter()
    for _ in range(passes):
        clean_pass(detector, latents)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=positive_int, default=384, help="clean faces of the detector passes")
    parser.add_argument("--epochs", type=positive_int, default=4, help="detector epochs (the demo preset's: 4)")
    parser.add_argument("--rounds", type=positive_int, default=5)
    args = parser.parse_args(argv)
    print(machine())
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    processor = LatentOferImageProcessor()
    arrays = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(200)]
    for array in arrays[:5]:
        expected = formula_pixel_values(processor, Image.fromarray(array))
        assert torch.equal(processor.to_pixel_values(Image.fromarray(array)), expected)
        assert torch.equal(processor.array_to_pixel_values(array), expected)
    formula, table, direct = [], [], []
    for _ in range(args.rounds):
        formula.append(time_faces(lambda array: formula_pixel_values(processor, Image.fromarray(array)), arrays))
        table.append(time_faces(lambda array: processor.to_pixel_values(Image.fromarray(array)), arrays))
        direct.append(time_faces(processor.array_to_pixel_values, arrays))
    formula_ms, table_ms, array_ms = (statistics.median(times) for times in (formula, table, direct))
    print(f"normalisation per face: formula {formula_ms:.3f} ms, table {table_ms:.3f} ms (PIL image), "
          f"{array_ms:.3f} ms (array)")  # fmt: skip

    config = preset_config("demo")  # random weights: a forward costs the same as the trained one's
    vit = ViTLatentBackbone(config.vit_config).eval().requires_grad_(False)
    detector = OcclusionPatchDetector(config.detector_config).eval()
    faces = torch.randn(args.faces, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader([{"pixel_values": face} for face in faces], batch_size=32)
    accelerator = Accelerator(cpu=True)
    passes = 2 + args.epochs
    reencoded, kept = [], []
    for _ in range(args.rounds):
        reencoded.append(time_clean_passes(accelerator, vit, detector, loader, passes, max_bytes=0))
        kept.append(time_clean_passes(accelerator, vit, detector, loader, passes, max_bytes=1024**3))
    reencoded_s, kept_s = statistics.median(reencoded), statistics.median(kept)
    print(f"{passes} clean passes over {args.faces} faces (demo ViT + Φ): re-encoded {reencoded_s:.2f} s, "
          f"latents kept {kept_s:.2f} s")  # fmt: skip
    print(
        f"training_data face_ms_formula={formula_ms:.3f} face_ms_table={table_ms:.3f} "
        f"table_speedup={formula_ms / table_ms:.2f} face_ms_array={array_ms:.3f} "
        f"array_speedup={table_ms / array_ms:.2f} clean_passes_s_reencoded={reencoded_s:.2f} "
        f"clean_passes_s_kept={kept_s:.2f} kept_speedup={reencoded_s / kept_s:.2f}"
    )


if __name__ == "__main__":
    main()
