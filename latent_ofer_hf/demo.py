"""``make demo``: run the whole Latent-OFER system offline on the CPU and print what each step produced.

No trained checkpoint exists yet (it comes with the training work), so this runs the untrained ``tiny`` system on a
generated image: it shows the data flow — latents → occlusion mask → MAE fill + U-Net → recognition — and the component
sizes, NOT a usable expression recogniser. Pass a saved model directory to run that instead.
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from .models.latent_ofer import LatentOferModel
from .presets import preset_config
from .sizes import format_table, measure


def _test_card(size: int = 224) -> torch.Tensor:
    """A generated face-like test card in [0, 1] with a dark 4×6-patch block over the lower face (an "occluder")."""
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing="ij")
    face = ((xs / 0.7) ** 2 + (ys / 0.9) ** 2 < 1).float()
    image = torch.stack([0.35 + 0.5 * face, 0.3 + 0.35 * face, 0.3 + 0.25 * face])
    image[:, 144:208, 64:160] = 0.05
    return image.unsqueeze(0)


def _normalise(image: torch.Tensor) -> torch.Tensor:
    """[0, 1] RGB → ImageNet-normalised, as every component expects."""
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)
    return (image - mean) / std


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a saved LatentOferModel directory (default: untrained tiny system)")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    if args.model:
        model = LatentOferModel.from_pretrained(args.model)
    else:
        print("NOTE: no trained Latent-OFER checkpoint exists yet. Running the UNTRAINED 'tiny' system with random "
              "weights: its labels and masks are meaningless; this shows the data flow and shapes only.\n")
        model = LatentOferModel(preset_config("tiny")).eval()
    pixel_values = _normalise(_test_card(model.config.vit_config.image_size))
    start = time.perf_counter()
    with torch.no_grad():
        out = model(pixel_values)
    elapsed = time.perf_counter() - start
    probabilities = out.logits.softmax(-1)[0]
    print(f"forward on CPU: {elapsed * 1000:.0f} ms for one 224x224 face")
    flagged = out.patch_mask[0]
    print(f"1. detect: {int(flagged.sum())} of {flagged.numel()} patches flagged as occluded "
          f"(ratio {float(out.occlusion_ratio[0]):.2f}; an unfitted SVDD has radius 0 and flags everything)")
    what = {"hybrid": "MAE fill + U-Net with self-assembly", "mae": "MAE fill", "diffusion": "RePaint"}
    mode = model.config.reconstruction
    if out.reconstruction is not None:
        print(f"2. reconstruct ({what[mode]}) of those patches -> {tuple(out.reconstruction.shape)}")
    print(f"3. recognise: {out.relevant_patches.shape[1]} expression-relevant ViT latents used; scores:")
    for index in probabilities.argsort(descending=True).tolist():
        print(f"     {model.config.id2label[index]:<9} {float(probabilities[index]):.3f}")
    print("\nComponent sizes (python -m latent_ofer_hf.sizes):")
    print(format_table(measure("paper") + measure("base")))


if __name__ == "__main__":
    main()
