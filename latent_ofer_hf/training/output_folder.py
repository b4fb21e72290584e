"""What an output folder already holds, checked before any work: a run may keep finished stages, but never a mix it
cannot assemble (another preset's networks, a stage missing its weights, or stages trained from a network that this
run would train anew)."""

from __future__ import annotations

import json
from pathlib import Path

from .arguments import STAGES, CommonArguments, SetupError

DONE_FILE = "stage_done.json"
# The earlier stages whose networks each stage reads while it trains (docs/training.md).
STAGE_INPUTS: dict[str, tuple[str, ...]] = {
    "detector": ("mae",),
    "reconstructor": ("mae", "teacher"),
    "recognizer": ("mae", "teacher", "detector", "reconstructor"),
}


# what a run writes at the top of --output_dir besides stages/: a folder holding any of it without stages/ is refused
RUN_WRITES = ("README.md", "config.json", "vit", "detector", "reconstructor", "recognizer", "checkpoints", "ablations")


def finished_stages(output_dir: str | Path) -> list[str]:
    """The stages of the system that finished in `output_dir`, in training order."""
    return [stage for stage in STAGES if (Path(output_dir) / "stages" / stage / DONE_FILE).is_file()]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise SetupError(f"{path} cannot be read ({error}): delete {path.parent} to train that stage again") from None


def check_output_folder(common: CommonArguments, stages: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """A :class:`SetupError` naming what in ``--output_dir`` this run cannot build on; returns the finished stages
    and warnings: later stages kept although trained from a stage this run trains anew (a swap some experiments
    make on purpose, e.g. the λ_sc sweep of docs/RESULTS.md; said before any work, so never silently)."""
    root = Path(common.output_dir)
    if root.is_dir() and not (root / "stages").is_dir():
        if kept := [name for name in RUN_WRITES if (root / name).exists()]:
            raise SetupError(
                f"--output_dir {root} is not a training run's folder (no stages/) and holds {', '.join(kept)}, which "
                "the run would overwrite: give a new or empty folder"
            )
    done = finished_stages(root)
    for stage in done:
        folder = root / "stages" / stage
        saved = folder / "training_args.json"
        preset = _read_json(saved).get("preset") if saved.is_file() else None
        if preset is not None and preset != common.preset:
            raise SetupError(
                f"{folder} was trained with --preset {preset}, this run asks for --preset {common.preset}: its "
                "networks would not fit together; use another --output_dir (or the same preset)"
            )
        for name in _read_json(folder / DONE_FILE).get("components", []):
            for file in ("config.json", "model.safetensors"):
                if not (folder / name / file).is_file():
                    raise SetupError(f"{folder} is incomplete ({name}/{file} is missing): delete it to train it again")
    warnings = []
    for stage in (stage for stage in stages if stage not in done):
        built_on_it = [later for later in done if stage in STAGE_INPUTS.get(later, ())]
        if built_on_it:
            folders = ", ".join(str(root / "stages" / later) for later in built_on_it)
            warnings.append(
                f"warning: stage {stage} is trained anew, but {folders} (trained from its earlier version) are kept "
                "as they are: delete them too to train them on the new one"
            )
    return done, warnings


__all__ = ["DONE_FILE", "RUN_WRITES", "STAGE_INPUTS", "check_output_folder", "finished_stages"]
