"""Pictures of pipeline results: the image with face boxes, and per face the aligned input with the occluded
patches shaded, the reconstruction beside it, and the expression scores as bars."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

BOX_COLOR = (255, 60, 60)
BAR_COLOR = (70, 130, 220)


def shade_patches(
    face: Image.Image,
    occlusion_mask: np.ndarray,
    color: tuple[int, int, int] = (255, 0, 0),
    alpha: float = 0.45,
    outline: tuple[int, int, int] | None = None,
    **deprecated: object,
) -> Image.Image:
    """The face crop with every flagged patch of the ``[g, g]`` mask tinted, and with an ``outline`` colour its edge
    drawn too (visible where the face itself is red); the old keyword ``colour`` still works in 0.1.x, with a
    FutureWarning."""
    if "colour" in deprecated:
        warnings.warn("shade_patches(colour=...) is deprecated; use color=", FutureWarning, stacklevel=2)
        color = deprecated.pop("colour")
    if deprecated:
        raise TypeError(f"shade_patches() got unexpected keyword arguments {sorted(deprecated)}")
    pixels = np.asarray(face.convert("RGB"), dtype=np.float32)
    grid = occlusion_mask.shape[0]
    cell_h, cell_w = pixels.shape[0] / grid, pixels.shape[1] / grid
    mask = np.kron(occlusion_mask.astype(np.float32), np.ones((int(round(cell_h)), int(round(cell_w)))))
    mask = np.pad(mask, ((0, max(0, pixels.shape[0] - mask.shape[0])), (0, max(0, pixels.shape[1] - mask.shape[1]))))
    mask = mask[: pixels.shape[0], : pixels.shape[1], None] * alpha
    blended = pixels * (1 - mask) + np.asarray(color, dtype=np.float32) * mask
    if outline is not None:  # the pixels of flagged cells that touch an unflagged cell (or the crop's edge)
        inside = mask[..., 0] > 0
        padded = np.pad(inside, 1)
        edge = inside & ~(padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:])
        blended[edge] = outline
    return Image.fromarray(blended.astype(np.uint8))


def _bars(scores: Sequence[dict], width: int, height: int) -> Image.Image:
    panel = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(panel)
    row = height / max(1, len(scores))
    for index, entry in enumerate(scores):
        y = index * row
        draw.rectangle((80, y + 3, 80 + (width - 90) * float(entry["score"]), y + row - 3), fill=BAR_COLOR)
        draw.text((4, y + row / 2 - 6), f"{entry['label']} {float(entry['score']):.2f}", fill="black")
    return panel


def _footer(notice: str, width: int) -> Image.Image:
    """The notice in black on a pale strip as wide as the picture, wrapped to that width."""
    draw = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines, current = [], ""
    for word in notice.split():
        trial = f"{current} {word}".strip()
        if current and draw.textlength(trial) > width - 12:
            lines.append(current)
            trial = word
        current = trial
    lines.append(current)
    strip = Image.new("RGB", (width, 8 + 14 * len(lines)), (255, 244, 214))
    writer = ImageDraw.Draw(strip)
    for index, text in enumerate(lines):
        writer.text((6, 4 + 14 * index), text, fill="black")
    return strip


def visualize(image: Image.Image, faces: Sequence[dict], tile: int = 224, notice: str | None = None) -> Image.Image:
    """One picture: the image with its face boxes (scaled to fit 2·tile) above one row per face, and below them
    `notice` (e.g. the pipeline's ``model_notice``: what the model's predictions are not good for) when given."""
    picture = image.convert("RGB").copy()
    draw = ImageDraw.Draw(picture)
    line = max(2, round(max(picture.size) / 300))
    for face in faces:
        box = face["box"]
        draw.rectangle((box["xmin"], box["ymin"], box["xmax"], box["ymax"]), outline=BOX_COLOR, width=line)
        draw.text((box["xmin"] + line, box["ymin"] + line), face["label"], fill=BOX_COLOR)
    scale = min(2 * tile / picture.width, 2 * tile / picture.height)
    picture = picture.resize((max(1, round(picture.width * scale)), max(1, round(picture.height * scale))))
    width = max(picture.width, 3 * tile)
    sheet = Image.new("RGB", (width, picture.height + len(faces) * tile), "white")
    sheet.paste(picture, (0, 0))
    for row, face in enumerate(faces):
        y = picture.height + row * tile
        if "face" in face:
            sheet.paste(shade_patches(face["face"].resize((tile, tile)), face["occlusion_mask"]), (0, y))
        if "reconstruction" in face:
            sheet.paste(face["reconstruction"].resize((tile, tile)), (tile, y))
        sheet.paste(_bars(face["scores"], width - 2 * tile, tile), (2 * tile, y))
    if notice:
        footer = _footer(notice, width)
        framed = Image.new("RGB", (width, sheet.height + footer.height), "white")
        framed.paste(sheet, (0, 0))
        framed.paste(footer, (0, sheet.height))
        sheet = framed
    return sheet


__all__ = ["shade_patches", "visualize"]
