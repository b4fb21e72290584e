"""Copy a trained system out of a ``train.py`` output folder into a clean, shippable folder.

``python -m latent_ofer_hf.checkpoints.export runs/demo`` fills ``latent_ofer_hf/checkpoints/demo/`` (the
``DEMO_CHECKPOINT``): each component's ``config.json``, ``model.safetensors`` and card, the system's ``config.json``
and card — no stages, checkpoints, logs or remote-code copies, and no ``auto_map`` (the package is installed wherever
this folder is; ``fer.save_pretrained`` writes the Hub form). Records the training data in the system config
(``training_data``) from the recogniser stage's arguments.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..pipelines.model_source import SYSTEM_MODEL_TYPE
from . import DEMO_CHECKPOINT

COMPONENT_FILES = ("config.json", "model.safetensors", "README.md")


def _config_without_code(path: Path) -> dict:
    """A saved config without remote-code entries, and its components' without the folders they came from."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config.pop("auto_map", None)
    config.pop("custom_pipelines", None)
    for value in config.values():
        if isinstance(value, dict) and "model_type" in value:  # a component's config nested in the system's
            for key in ("auto_map", "_name_or_path"):
                value.pop(key, None)
    return config


def _write_json(path: Path, value: dict) -> None:
    path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n", encoding="utf-8")


SLOTS = ("vit", "detector", "reconstructor", "recognizer")
# what an export holds: a target holding anything else is not replaced (it is not an earlier export)
EXPORTED = {"config.json", "README.md", *SLOTS}


def _check_source(source: Path) -> None:
    """A finished system: its config, and each component its config names, weights included."""
    config_path = source / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{source} holds no trained system (no config.json); run train.py --stage all first")
    config = json.loads(config_path.read_text(encoding="utf-8"))
    if config.get("model_type") != SYSTEM_MODEL_TYPE:
        raise ValueError(f"{source} holds a {config.get('model_type')!r} model, not a Latent-OFER system")
    missing = [f"{slot}/{name}" for slot in SLOTS if config.get(f"{slot}_config") is not None
               for name in ("config.json", "model.safetensors") if not (source / slot / name).is_file()]  # fmt: skip
    if missing:
        raise ValueError(f"{source} is not a finished system (missing {', '.join(missing)}); finish its training run")


def _check_target(source: Path, target: Path) -> None:
    """Never replace the source, a folder holding it or within it, or a folder that is not an earlier export."""
    source, target = source.resolve(), target.resolve()
    if target == source or target in source.parents or source in target.parents:
        raise ValueError(f"--target {target} is {source} itself, holds it or lies inside it: choose another folder")
    if target.exists() and not target.is_dir():
        raise ValueError(f"--target {target} is a file, not a folder")
    if target.is_dir() and (others := sorted(entry.name for entry in target.iterdir() if entry.name not in EXPORTED)):
        raise ValueError(
            f"--target {target} holds other files than an export ({', '.join(others[:5])}): it would be replaced; "
            "choose a new or empty folder, or an earlier export"
        )


def export_system(source: str | Path, target: str | Path = DEMO_CHECKPOINT) -> Path:
    """Copy the finished system in `source` (a ``train.py --stage all`` output) to `target`, replacing an earlier
    export there (a folder holding anything else is refused: it is never deleted)."""
    source, target = Path(source), Path(target).resolve()
    _check_source(source)
    _check_target(source, target)
    config = _config_without_code(source / "config.json")
    arguments = source / "stages" / "recognizer" / "training_args.json"
    if arguments.is_file():
        config["training_data"] = json.loads(arguments.read_text(encoding="utf-8"))["data"]
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _write_json(staging / "config.json", config)
    if (source / "README.md").is_file():
        shutil.copyfile(source / "README.md", staging / "README.md")
    for slot in SLOTS:
        if not (source / slot).is_dir():
            continue
        (staging / slot).mkdir()
        for name in COMPONENT_FILES:
            if name == "config.json":
                _write_json(staging / slot / name, _config_without_code(source / slot / name))
            elif (source / slot / name).is_file():
                shutil.copyfile(source / slot / name, staging / slot / name)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)  # the old folder is replaced only once the new one is complete
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a train.py --stage all output folder")
    parser.add_argument("--target", default=DEMO_CHECKPOINT, help="where to write (default: the demo checkpoint)")
    args = parser.parse_args(argv)
    try:
        path = export_system(args.source, args.target)
    except (OSError, ValueError) as error:  # one line, nothing replaced
        parser.error(str(error))
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"wrote {path} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
