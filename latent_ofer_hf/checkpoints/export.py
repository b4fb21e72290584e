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


def export_system(source: str | Path, target: str | Path = DEMO_CHECKPOINT) -> Path:
    """Copy the system in `source` (a ``train.py --stage all`` output) to `target`, replacing what was there."""
    source, target = Path(source), Path(target)
    config_path = source / "config.json"
    if not config_path.is_file():
        raise ValueError(f"{source} holds no trained system (no config.json); run train.py --stage all first")
    config = _config_without_code(config_path)
    arguments = source / "stages" / "recognizer" / "training_args.json"
    if arguments.is_file():
        config["training_data"] = json.loads(arguments.read_text(encoding="utf-8"))["data"]
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    _write_json(staging / "config.json", config)
    if (source / "README.md").is_file():
        shutil.copyfile(source / "README.md", staging / "README.md")
    for slot in ("vit", "detector", "reconstructor", "recognizer"):
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
    path = export_system(args.source, args.target)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    print(f"wrote {path} ({size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
