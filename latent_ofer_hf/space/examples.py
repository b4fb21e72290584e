"""Clickable examples of the Space: SynthFER test faces (our own procedural faces, no third-party photos), clean and
with occluders, written once as PNG files (gr.Examples takes files)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from PIL import Image

from ..data.synthfer.generate import synthfer_sample
from ..models.common.labels import RAFDB_7

# (test-split index, occlusion): one face per expression, clean and with seen / held-out occluders
EXAMPLES = ((3, "none"), (0, "none"), (5, "unseen"), (1, "unseen"), (4, "seen"), (6, "unseen"))


def example_files(directory: str | Path | None = None) -> list[str]:
    """The example faces as PNG paths in `directory` (default: one folder in the temporary directory, reused by
    every start; each start rewrites its files, atomically, so they always match this version's generator)."""
    folder = Path(directory) if directory is not None else Path(tempfile.gettempdir()) / "latent-ofer-examples"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, occlusion in EXAMPLES:
        sample = synthfer_sample(index, split="test", occlusion=occlusion)
        path = folder / f"synthfer_test_{index}_{RAFDB_7[sample.label]}_{occlusion}.png"
        partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        Image.fromarray(sample.image).save(partial, format="PNG")
        os.replace(partial, path)  # another app starting at once never sees half a file
        paths.append(str(path))
    return paths


__all__ = ["EXAMPLES", "example_files"]
