"""A Hugging Face Space folder ready to upload: ``spaces_app/`` (app, Spaces header, requirements) with this
package's source and its demo checkpoint beside ``app.py``.

A Space installs ``requirements.txt`` before it copies the repository, and latent-ofer-hf is not on PyPI, so the
package cannot be a requirement: it travels as source, which Python imports from the app's folder. The
requirements are the package's runtime dependencies, torch from the PyTorch CPU index (a CPU Space needs no CUDA
stack). ``python -m latent_ofer_hf.space.bundle dist/space`` (``make space``), then
``hf upload USER/NAME dist/space . --repo-type space``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent
#: the Space's own files, in the repository beside the package
SPACE_SOURCE = PACKAGE.parent / "spaces_app"
SPACE_FILES = ("app.py", "README.md", "requirements.txt")


def bundle_space(output: str | Path, source: str | Path = SPACE_SOURCE) -> Path:
    """Write the Space into `output` (created; must be empty or absent); returns it."""
    output, source = Path(output), Path(source)
    missing = [name for name in SPACE_FILES if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{source} lacks {', '.join(missing)}: bundle from a checkout of the repository (spaces_app/ beside "
            "latent_ofer_hf/)"
        )
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise FileExistsError(f"{output} exists and is not an empty folder; give a new one")
    output.mkdir(parents=True, exist_ok=True)
    for name in SPACE_FILES:
        shutil.copy2(source / name, output / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    shutil.copytree(PACKAGE, output / PACKAGE.name, ignore=ignore)
    return output


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(prog="python -m latent_ofer_hf.space.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("output", help="a new folder for the Space (e.g. dist/space)")
    args = parser.parse_args(argv)
    try:
        output = bundle_space(args.output)
    except (FileNotFoundError, FileExistsError) as error:
        parser.error(str(error))
    size = sum(path.stat().st_size for path in output.rglob("*") if path.is_file())
    print(f"the Space is in {output} ({size / 2**20:.1f} MiB): hf upload USER/NAME {output} . --repo-type space")
    return output


if __name__ == "__main__":
    main()


__all__ = ["SPACE_FILES", "SPACE_SOURCE", "bundle_space", "main"]
