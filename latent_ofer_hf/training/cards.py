"""A short card beside each trained component: what it is, what it was trained on, how, and what that means."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from accelerate import Accelerator

from .arguments import CommonArguments

STAGE_FLAGS = {"baseline": "recognizer --baseline", "discriminators": "reconstructor"}
WHAT = {
    "mae": "the shared MAE ViT (patch latents and the MAE fill of the detected patches)",
    "teacher": "the frozen FER teacher of the semantic-consistency loss (a CNN-only recogniser)",
    "detector": "the ViT-SVDD occlusion patch detector (Deep-SVDD head over the ViT's patch latents)",
    "reconstructor": "the hybrid reconstruction U-Net with the self-assembly layer",
    "discriminators": "the two discriminators that trained the reconstruction U-Net (training only)",
    "recognizer": "the Latent-OFER expression recogniser (CNN features fused with the selected ViT latents)",
    "baseline": "the plain CNN baseline (the recogniser's trunk and heads, no latents, no reconstruction)",
}


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def write_component_card(
    accelerator: Accelerator, directory: Path, component: str, common: CommonArguments, state: Any
) -> None:
    """``README.md`` in a component folder (main process only)."""
    if not accelerator.is_main_process or not directory.is_dir():
        return
    if common.data == "synthfer":
        data = (
            f"SynthFER, this project's procedural cartoon faces ({common.synthfer_train_size} training faces, "
            f"seed {common.seed}). **Its predictions on real photos are not meaningful.**"
        )
    else:
        data = f"`{common.data}` from your copy in `{common.data_dir}` (check that data set's licence)."
    epochs = state.epoch + (1 if state.batches_done else 0)
    best = (
        ""
        if state.best_metric is None
        else f" Best validation metric {state.best_metric:.4f} at epoch {state.best_epoch}."
    )
    text = (
        f"# latent-ofer-hf: {component}\n\n"
        f"{_sentence(WHAT.get(component, component))}, part of a Latent-OFER system (Lee, Lee, Yoo, ICCV 2023) "
        f"built with the latent-ofer-hf package.\n\n"
        f"- Trained on: {data}\n"
        f"- Preset `{common.preset}`; {state.global_step} optimizer steps in {epochs} epoch(s); model "
        f"selection on the validation split only.{best}\n"
        f"- Command: `accelerate launch train.py --stage {STAGE_FLAGS.get(component, component)} "
        f"--preset {common.preset} --data {common.data} --seed {common.seed}` (the full resolved arguments are in "
        f"`training_args.json` of the stage folder).\n"
    )
    (directory / "README.md").write_text(text, encoding="utf-8")


__all__ = ["write_component_card"]
