"""How hard is SynthFER? A small ResNet trained on clean SynthFER faces, tested clean and occluded.

Usage: python benchmarks/synthfer_baseline.py [--train 7000] [--test 700] [--epochs 12] [--size 112]
Model: transformers ResNet with basic blocks [1, 1, 1, 1], widths 16–128 (0.31 M params) + linear head, trained from
scratch with AdamW + one-cycle (max lr 3e-3), batch 64, horizontal flips, at `--size`² (faces rendered at 224²
and resized). Test sets: the `test` split (people never seen in training), clean; with 30 % random-patch occlusion
(black); with `seen` occluders; with `unseen` occluders. Prints accuracies and the confusion matrix.
Last line: `synthfer_clean_accuracy=<float>`.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import machine, positive_int
from transformers import ResNetConfig, ResNetModel

from latent_ofer_hf.data.occlusion import random_patch_occlusion
from latent_ofer_hf.data.synthfer import synthfer_batch
from latent_ofer_hf.models.common.labels import RAFDB_7


def to_tensor(images: np.ndarray, size: int) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x - 0.5) / 0.25


class SmallResNet(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = ResNetModel(
            ResNetConfig(layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], embedding_size=16)
        )
        self.head = torch.nn.Linear(128, len(RAFDB_7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(x).pooler_output.flatten(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=positive_int, default=7000, help="training faces")
    parser.add_argument("--test", type=positive_int, default=700, help="test faces per condition")
    parser.add_argument("--epochs", type=positive_int, default=12)
    parser.add_argument("--size", type=positive_int, default=112, help="input side in pixels (at least 32)")
    args = parser.parse_args()
    if args.size < 32:
        parser.error(f"--size must be at least 32, got {args.size}")
    torch.manual_seed(0)
    print(machine())
    start = time.perf_counter()
    train_images, train_labels, _, _ = synthfer_batch(args.train, split="train")
    test_images, test_labels, _, _ = synthfer_batch(args.test, split="test")
    sets = {
        "clean": test_images,
        "30 % random patches": np.stack(
            [random_patch_occlusion(image, 0.3, seed=index).image for index, image in enumerate(test_images)]
        ),
        "seen occluders": synthfer_batch(args.test, split="test", occlusion="seen")[0],
        "unseen occluders": synthfer_batch(args.test, split="test", occlusion="unseen")[0],
    }
    print(f"generated {args.train} + {4 * args.test} faces in {time.perf_counter() - start:.0f} s")
    model = SmallResNet()
    x, y = to_tensor(train_images, args.size), torch.from_numpy(train_labels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    steps = args.epochs * ((len(x) + 63) // 64)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=steps)
    for epoch in range(args.epochs):
        model.train()
        for batch in torch.randperm(len(x)).split(64):
            inputs = x[batch]
            flip = torch.rand(len(batch)) < 0.5
            inputs = torch.where(flip[:, None, None, None], inputs.flip(-1), inputs)
            loss = torch.nn.functional.cross_entropy(model(inputs), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        print(f"epoch {epoch + 1}/{args.epochs} done, {time.perf_counter() - start:.0f} s", flush=True)
    model.eval()
    results = {}
    with torch.no_grad():
        for name, images in sets.items():
            predictions = model(to_tensor(images, args.size)).argmax(1).numpy()
            results[name] = float((predictions == test_labels).mean())
            print(f"test accuracy, {name:<20}: {results[name]:.3f}")
            if name == "clean":
                confusion = np.zeros((7, 7), dtype=int)
                np.add.at(confusion, (test_labels, predictions), 1)
    print("confusion (rows true, columns predicted), order:", ", ".join(RAFDB_7))
    print(confusion)
    print(f"synthfer_clean_accuracy={results['clean']:.4f}")


if __name__ == "__main__":
    main()
