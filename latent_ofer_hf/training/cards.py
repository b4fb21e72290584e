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
    "detector": "the occlusion patch detector (a one-class head on the ViT's patch latents, fit on clean ones only)",
    "reconstructor": "the hybrid reconstruction U-Net with the self-assembly layer",
    "discriminators": "the two discriminators that trained the reconstruction U-Net (training only)",
    "recognizer": "the Latent-OFER expression recogniser (CNN features fused with the selected ViT latents)",
    "baseline": "the plain CNN baseline (the recogniser's trunk and heads, no latents, no reconstruction)",
}


def training_command(component: str, common: CommonArguments) -> str:
    stage = STAGE_FLAGS.get(component, component)
    data = f"--data {common.data}" + (f" --data_dir {common.data_dir}" if common.data_dir else "")
    return f"accelerate launch train.py --stage {stage} --preset {common.preset} {data} --seed {common.seed}"


def write_component_card(
    accelerator: Accelerator, directory: Path, component: str, common: CommonArguments, state: Any
) -> None:
    """``README.md`` in a component folder (main process only), from ``hub_cards/component.md``."""
    from ..evaluation.cards import component_card

    if not accelerator.is_main_process or not directory.is_dir():
        return
    epochs = state.epoch + (1 if state.batches_done else 0)
    best = (
        ""
        if state.best_metric is None
        else f" Best validation metric {state.best_metric:.4f} (epoch {state.best_epoch})."
    )
    trained = (
        f"{state.global_step} optimizer steps in {epochs} epoch(s)"
        if state.global_step
        else "nothing trained (fitted in passes over the clean training faces)"
    )
    summary = (
        f"Preset `{common.preset}`; {trained}; model selection on the validation split only.{best} Every resolved "
        "flag: `training_args.json` in the stage folder."
    )
    data = f"{common.data} ({common.synthfer_train_size} faces)" if common.data == "synthfer" else common.data
    card = component_card(f"latent-ofer-hf {component}", what=WHAT.get(component, component),
                          trained_on=common.data, training_command=training_command(component, common),
                          training_summary=summary.replace("Preset", f"Data: {data}. Preset", 1))  # fmt: skip
    card.save(directory / "README.md")


__all__ = ["training_command", "write_component_card"]
