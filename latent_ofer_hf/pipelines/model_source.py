"""Whether a ``model`` argument names a local folder or a Hub repo id, for the command line and the Space."""

from __future__ import annotations

from pathlib import Path


def looks_like_path(model: str) -> bool:
    """A local path rather than a Hub repo id ("user/name")."""
    return Path(model).is_absolute() or model.startswith((".", "~")) or model.count("/") > 1 or Path(model).exists()


def missing_folder(model: str) -> bool:
    """True for a local path that is not a folder: loading it would fail on the Hub's repo-id rules instead."""
    return looks_like_path(model) and not Path(model).expanduser().is_dir()


def load_failure(model: str | None, error: Exception) -> str:
    """One line for a model that failed to load; a name that is no local folder either says so (offline, the Hub's
    own message speaks only of the connection)."""
    if model is None or Path(model).expanduser().exists():
        return f"cannot load the model {model!r}: {error}"
    return f"cannot load the model {model!r}: no local folder of that name, and as a Hub repo id: {error}"


__all__ = ["load_failure", "looks_like_path", "missing_folder"]
