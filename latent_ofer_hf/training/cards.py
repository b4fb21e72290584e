"""A short card beside each trained component: what it is, what it was trained on, how, and what that means."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from .arguments import TRAINING_FLAGS, CommonArguments, stage_flags
from .output_folder import DONE_FILE

# every common flag (those of TRAINING_FLAGS change the result; the others only where and how it runs)
COMMON_FLAGS = {item.name for item in dataclasses.fields(CommonArguments)}

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

SEMI_SUPERVISED_DETECTOR = (
    "the occlusion patch detector (a Deep SAD head on the ViT's patch latents: clean patches pulled in, the training "
    "faces' known occluded ones pushed out)"
)


def _what(component: str, directory: Path) -> str:
    """What the component is; for a detector, as its saved config says it was trained."""
    config = directory / "config.json"
    if component == "detector" and config.is_file():
        if json.loads(config.read_text(encoding="utf-8")).get("objective") == "semi-supervised":
            return SEMI_SUPERVISED_DETECTOR
    return WHAT.get(component, component)


# flags written first (or not at all: where and how a run is stored and logged do not change its result)
WRITTEN_FIRST = ("preset", "data", "data_dir", "seed")


def changed_flags(flags: dict[str, Any], names: Iterable[str]) -> list[str]:
    """``--flag value`` for each of ``names`` whose value in ``flags`` (a run's ``training_args.json``) is not what
    the run's preset and data would give by default — what the command needs to reproduce the run."""
    from .arguments import parse_args

    base = ["--preset", str(flags["preset"]), "--data", str(flags["data"])]
    if flags.get("data_dir"):
        base += ["--data_dir", str(flags["data_dir"])]
    defaults = parse_args(base).to_dict()
    shown = []
    for name in names:
        value = flags.get(name)
        if name in WRITTEN_FIRST or name not in defaults or value is None or value == defaults[name]:
            continue
        shown.append(f"--{name} {str(value).lower() if isinstance(value, bool) else value}")
    return shown


def training_command(
    component: str,
    common: CommonArguments,
    flags: dict[str, Any] | None = None,
    stage: str | None = None,
    cpu_threads: int | None = None,
) -> str:
    """The ``train.py`` command of a component; given the run's ``flags``, with every flag of ``stage`` (all flags
    when None) that differs from the preset's defaults. ``cpu_threads``: the per-process thread count a CPU run
    resolved ``--cpu_threads 0`` to, written out (a seed repeats a CPU run bit for bit only with the same count, and
    the default is the process's share of the machine's cores; a run of several processes also needs as many, which
    the launcher sets, not this command)."""
    command = STAGE_FLAGS.get(component, component)
    data = f"--data {common.data}" + (f" --data_dir {common.data_dir}" if common.data_dir else "")
    text = f"accelerate launch train.py --stage {command} --preset {common.preset} {data} --seed {common.seed}"
    if flags:
        names = stage_flags(stage) if stage else [name for name in flags if name in TRAINING_FLAGS or name not in
                                                  COMMON_FLAGS]  # fmt: skip
        text = " ".join([text, *changed_flags(flags, names)])
    if cpu_threads and "--cpu_threads " not in text:
        text += f" --cpu_threads {cpu_threads}"
    return text


def system_training_command(common: CommonArguments, flags: dict[str, Any] | None, cpu_threads: int | None) -> str:
    """The ``--stage all`` command of a system, with every flag of its run that differs from the preset's defaults
    (``flags``: its recognizer stage's ``training_args.json``)."""
    command = training_command("recognizer", common, flags, cpu_threads=cpu_threads)
    return command.replace("--stage recognizer", "--stage all", 1)


def saved_system_training_command(stage_dir: Path) -> str | None:
    """:func:`system_training_command` rebuilt from a finished recognizer stage's folder (its ``training_args.json``,
    and the thread count its ``stage_done.json`` records for a CPU run); None when the folder does not hold them."""
    try:
        flags = json.loads((stage_dir / "training_args.json").read_text(encoding="utf-8"))
        done = stage_dir / DONE_FILE
        run = json.loads(done.read_text(encoding="utf-8")) if done.is_file() else {}
        common = CommonArguments(**{name: value for name, value in flags.items() if name in COMMON_FLAGS})
        threads = run.get("cpu_threads") if run.get("device") == "cpu" else None  # older runs: device not recorded
        return system_training_command(common, flags, threads)
    except (OSError, KeyError, TypeError, ValueError, AttributeError):  # missing, unreadable or not train.py's
        return None


def cpu_threads_of_run(accelerator: Accelerator) -> int | None:
    """This process's thread count when it trains on the CPU (what a card's command needs to repeat the run), else
    None (a GPU run's result does not depend on it)."""
    return torch.get_num_threads() if accelerator.device.type == "cpu" else None


def write_component_card(
    accelerator: Accelerator,
    directory: Path,
    component: str,
    common: CommonArguments,
    state: Any,
    flags: dict[str, Any] | None = None,
    stage: str | None = None,
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
    start = (flags or {}).get("init_from") if component == "mae" else None  # the ViT's MAE checkpoint
    card = component_card(f"latent-ofer-hf {component}", what=_what(component, directory),
                          trained_on=common.data, training_command=training_command(component, common, flags, stage,
                                                           cpu_threads_of_run(accelerator)),
                          training_summary=summary.replace("Preset", f"Data: {data}. Preset", 1),
                          base_model=start)  # fmt: skip
    card.save(directory / "README.md")


__all__ = [
    "cpu_threads_of_run",
    "saved_system_training_command",
    "system_training_command",
    "training_command",
    "write_component_card",
]
