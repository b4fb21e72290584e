"""``make demo``: run the whole Latent-OFER system offline on the CPU and print what each step produced.

No trained checkpoint exists yet (it comes with the training work), so this runs the untrained ``tiny`` system on a
generated SynthFER face through `pipeline("occluded-fer")`: it shows the data flow — latents → occlusion mask →
MAE fill + U-Net → recognition — and the component
sizes, NOT a usable expression recogniser. Pass a saved model directory to run that instead.
"""

from __future__ import annotations

import argparse
import time

import torch
from PIL import Image
from transformers import pipeline

from .data.synthfer.generate import synthfer_sample
from .models.latent_ofer import LatentOferModel
from .presets import preset_config
from .sizes import format_table, measure


def _test_face(size: int = 224) -> Image.Image:
    """A SynthFER face (our own procedural data, no third-party image) wearing a held-out occluder."""
    sample = synthfer_sample(3, split="test", occlusion="unseen", image_size=size)
    return Image.fromarray(sample.image)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a saved LatentOferModel directory (default: untrained tiny system)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    if args.model:
        model = LatentOferModel.from_pretrained(args.model)
    else:
        print(
            "NOTE: no trained Latent-OFER checkpoint exists yet. Running the UNTRAINED 'tiny' system with random "
            "weights: its labels and masks are meaningless; this shows the data flow and shapes only.\n"
        )
        model = LatentOferModel(preset_config("tiny")).eval()
    fer = pipeline("occluded-fer", model=model)
    face = _test_face(model.config.vit_config.image_size)
    start = time.perf_counter()
    (result,) = fer(face, detector=None)  # the generated image is already an aligned face crop
    elapsed = time.perf_counter() - start
    print(f"pipeline('occluded-fer') on one generated 224x224 face with an occluder: {elapsed * 1000:.0f} ms on CPU")
    flagged = result["occlusion_mask"]
    print(
        f"1. detect: {int(flagged.sum())} of {flagged.size} patches flagged as occluded "
        f"(ratio {result['occlusion_ratio']:.2f}; an unfitted SVDD has radius 0 and flags everything)"
    )
    what = {"hybrid": "MAE fill + U-Net with self-assembly", "mae": "MAE fill", "diffusion": "RePaint"}
    print(
        f"2. reconstruct ({what.get(model.config.reconstruction, 'none')}) -> "
        f"{result.get('reconstruction').size if 'reconstruction' in result else 'skipped'}"
    )
    print(f"3. recognise: {len(result['relevant_patches'])} expression-relevant ViT latents used; scores:")
    for entry in result["scores"]:
        print(f"     {entry['label']:<9} {entry['score']:.3f}")
    print("\nComponent sizes (python -m latent_ofer_hf.sizes):")
    print(format_table(measure("paper") + measure("base")))


if __name__ == "__main__":
    main()
