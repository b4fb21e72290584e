"""Contact sheet of SynthFER: ``python -m latent_ofer_hf.data.contact_sheet --out synthfer.png``.

One row per class; columns show clean faces, faces with ``seen`` occluders and faces with ``unseen`` occluders, the
ground-truth occlusion mask outlined in red.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..models.common.labels import RAFDB_7
from .synthfer.generate import SPLITS, synthfer_sample

OUTLINE = np.array((255, 30, 30), dtype=np.uint8)


def outline_mask(image: np.ndarray, mask: np.ndarray, width: int = 2) -> np.ndarray:
    """Copy of `image` with the boundary of the boolean `mask` painted red."""
    inner = mask.copy()
    for _ in range(width):  # erode by one pixel per round (4-neighbourhood)
        shrunk = inner.copy()
        shrunk[1:] &= inner[:-1]
        shrunk[:-1] &= inner[1:]
        shrunk[:, 1:] &= inner[:, :-1]
        shrunk[:, :-1] &= inner[:, 1:]
        inner = shrunk
    out = image.copy()
    out[mask & ~inner] = OUTLINE
    return out


def contact_sheet(per_column: int = 2, tile: int = 112, seed: int = 0, split: str = "test") -> Image.Image:
    """The sheet as a PIL image: 7 rows × (clean, seen, unseen) × `per_column` tiles."""
    modes = ("none", "seen", "unseen")
    label_width, header = 70, 18
    sheet = Image.new("RGB", (label_width + len(modes) * per_column * tile, header + len(RAFDB_7) * tile), "white")
    draw = ImageDraw.Draw(sheet)
    for column, mode in enumerate(modes):
        title = {"none": "clean", "seen": "seen occluders", "unseen": "unseen occluders"}[mode]
        draw.text((label_width + column * per_column * tile + 4, 3), title, fill="black")
    for row, name in enumerate(RAFDB_7):
        draw.text((4, header + row * tile + tile // 2 - 6), name, fill="black")
        for column, mode in enumerate(modes):
            for k in range(per_column):
                index = row + len(RAFDB_7) * (k + per_column * column)  # index % 7 is the class
                sample = synthfer_sample(index, split=split, seed=seed, occlusion=mode)
                face = outline_mask(sample.image, sample.pixel_mask) if mode != "none" else sample.image
                x = label_width + (column * per_column + k) * tile
                thumbnail = Image.fromarray(face).resize((tile, tile), Image.Resampling.BILINEAR)
                sheet.paste(thumbnail, (x, header + row * tile))
    return sheet


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m latent_ofer_hf.data.contact_sheet", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", default="synthfer_contact_sheet.png", help="the PNG to write (its folder is made)")
    parser.add_argument("--per-column", type=int, default=2, help="faces per class in each column group (1 to 50)")
    parser.add_argument("--tile", type=int, default=112, help="tile side in pixels (32 to 512)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split", default="test", choices=SPLITS)
    args = parser.parse_args(argv)
    if not 1 <= args.per_column <= 50 or not 32 <= args.tile <= 512:
        parser.error(f"--per-column must be in 1..50 and --tile in 32..512, got {args.per_column} and {args.tile}")
    if args.seed < 0:
        parser.error(f"--seed must be a non-negative integer, got {args.seed}")
    out = Path(args.out)
    Image.init()
    if out.is_dir() or out.suffix.lower() not in Image.EXTENSION:
        parser.error(f"--out {args.out}: give an image file name (e.g. sheet.png)")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        parser.error(f"--out {args.out}: cannot create its folder ({error.strerror or error})")
    contact_sheet(args.per_column, args.tile, args.seed, args.split).save(out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
