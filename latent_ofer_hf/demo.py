"""``latent-ofer demo --console``: the shipped demo checkpoint on generated test faces, printed step by step.

Runs `pipeline("occluded-fer", model=DEMO_CHECKPOINT)` offline on CPU on SynthFER test faces (people never seen in
training) — clean and wearing an occluder of a family held out from training — and prints, per face, the true
expression, the prediction, and how many patches the detector flagged against the occluder's true patches. The
demo checkpoint was trained on synthetic cartoon faces only: it is not a recogniser for real photos.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from PIL import Image
from transformers import pipeline

from .checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
from .checkpoints.synthetic_notice import notice_printed_by_caller
from .data.synthfer.generate import synthfer_sample
from .models.common.labels import RAFDB_7
from .models.latent_ofer import LatentOferModel
from .presets import preset_config


def load_demo_system(model: str | None = None):
    """`model`, else the demo checkpoint, else (a checkout without its weights) the untrained tiny system; returns
    (pipeline, a sentence saying what was loaded)."""
    if model is not None:
        return pipeline("occluded-fer", model=model), f"model: {model}"
    if demo_checkpoint_available():
        fer = pipeline("occluded-fer", model=DEMO_CHECKPOINT)
        return fer, f"model: the shipped demo checkpoint ({DEMO_CHECKPOINT})"
    untrained = LatentOferModel(preset_config("tiny")).eval()
    return (
        pipeline("occluded-fer", model=untrained),
        "model: UNTRAINED tiny system with random weights (the demo checkpoint is not installed): its labels and "
        "masks are meaningless",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a saved system folder or Hub repo id (default: the demo checkpoint)")
    parser.add_argument("--faces", type=int, default=7, help="test faces per condition (one per expression at 7)")
    args = parser.parse_args(argv)
    with notice_printed_by_caller():  # printed below, once
        fer, loaded = load_demo_system(args.model)
    print(loaded)
    if fer.model_notice:
        print(f"NOTE: {fer.model_notice}")
    size = fer.image_processor.size
    print(f"\n{'condition':<10} {'true':<9} {'predicted':<9} {'score':>5}  flagged patches (true occluder patches)")
    correct, seconds = 0, 0.0
    for occlusion in ("none", "unseen"):
        for index in range(args.faces):
            sample = synthfer_sample(index, split="test", occlusion=occlusion, image_size=size)
            start = time.perf_counter()
            (face,) = fer(Image.fromarray(sample.image), detector=None)  # already an aligned face crop
            seconds += time.perf_counter() - start
            flagged = face["occlusion_mask"]
            hit = int(np.logical_and(flagged, sample.patch_mask).sum())
            truth = f"({hit} of {int(sample.patch_mask.sum())} found)" if occlusion != "none" else ""
            correct += face["label"] == RAFDB_7[sample.label]
            print(
                f"{occlusion:<10} {RAFDB_7[sample.label]:<9} {face['label']:<9} {face['score']:>5.2f}  "
                f"{int(flagged.sum()):>3} {truth}"
            )
    total = 2 * args.faces
    print(f"\n{correct} of {total} correct; {seconds / total * 1000:.0f} ms per face here (no face detection)")


if __name__ == "__main__":
    main()
