"""Whether a ``model`` argument names a local folder or a Hub repo id, for the command line and the Space."""

from __future__ import annotations

import json
from pathlib import Path

SYSTEM_MODEL_TYPE = "latent-ofer"  # LatentOferConfig.model_type (also of the Hub's remote-code copy)


def looks_like_path(model: str) -> bool:
    """A local path rather than a Hub repo id ("user/name")."""
    return Path(model).is_absolute() or model.startswith((".", "~")) or model.count("/") > 1 or Path(model).exists()


def missing_folder(model: str) -> bool:
    """True for a local path that is not a folder: loading it would fail on the Hub's repo-id rules instead."""
    return looks_like_path(model) and not Path(model).expanduser().is_dir()


def system_folder_problem(model: str) -> str | None:
    """Why a local ``model`` cannot be a saved Latent-OFER system, in one line, before anything loads (None: a Hub
    repo id, or a folder whose config is a system's): no such path, a file, no ``config.json``, one component's
    folder, or another library's model."""
    if not looks_like_path(model):
        return None
    folder = Path(model).expanduser()
    if not folder.exists():
        return f"{model}: no such folder (give a saved system's folder or a Hub repo id)"
    if not folder.is_dir():
        return f"{model} is a file; give a saved system's folder (config.json, vit/, detector/, ...) or a Hub repo id"
    try:
        found = json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except FileNotFoundError:
        return f"{model}: no config.json in it (not a saved model's folder)"
    except (OSError, ValueError, AttributeError) as error:
        return f"{model}/config.json cannot be read as a model's config ({error})"
    if found == SYSTEM_MODEL_TYPE:
        return None
    if isinstance(found, str) and found.startswith(f"{SYSTEM_MODEL_TYPE}-"):
        return f"{model} holds one component of a system ({found!r}): give the system's folder, the one above it"
    return (
        f"{model} holds a {found!r} model, not a Latent-OFER system ({SYSTEM_MODEL_TYPE!r}): give a system's folder, "
        "e.g. the --output_dir of train.py"
    )


def load_failure(model: str | None, error: Exception) -> str:
    """One line for a model that failed to load; a name that is no local folder either says so (offline, the Hub's
    own message speaks only of the connection)."""
    reason = " ".join(str(error).split())  # one line: the Hub's and transformers' messages span several
    if model is None or Path(model).expanduser().exists():
        return f"cannot load the model {model!r}: {reason}"
    return f"cannot load the model {model!r}: no local folder of that name, and as a Hub repo id: {reason}"


__all__ = ["SYSTEM_MODEL_TYPE", "load_failure", "looks_like_path", "missing_folder", "system_folder_problem"]
