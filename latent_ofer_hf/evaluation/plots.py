"""Plots for the evaluation report, drawn with PIL (no plotting library): the normalized confusion matrix in the
style of the supplement's Fig. 3 (rows: true class, columns: predicted; each row sums to 1)."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont


def _shade(value: float) -> tuple[int, int, int]:
    """White (0) to dark blue (1)."""
    value = min(max(value, 0.0), 1.0)
    return (int(255 - 225 * value), int(255 - 190 * value), int(255 - 95 * value))


def confusion_matrix_image(normalized: list[list[float]], class_names: list[str], title: str = "") -> Image.Image:
    """A PNG-ready picture of a row-normalized confusion matrix with the fraction in every cell."""
    font = ImageFont.load_default()
    cell, left, top = 56, 96, 44 if title else 24
    size = len(class_names)
    image = Image.new("RGB", (left + size * cell + 16, top + size * cell + 72), "white")
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((left, 8), title, fill="black", font=font)
    for row, values in enumerate(normalized):
        draw.text((8, top + row * cell + cell // 2 - 6), class_names[row], fill="black", font=font)
        for column, value in enumerate(values):
            x0, y0 = left + column * cell, top + row * cell
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=_shade(value), outline=(200, 200, 200))
            text = f"{value:.2f}"
            draw.text((x0 + 14, y0 + cell // 2 - 6), text, fill="white" if value > 0.55 else "black", font=font)
    for column, name in enumerate(class_names):
        draw.text((left + column * cell + 4, top + size * cell + 6), name[:8], fill="black", font=font)
    draw.text((left, top + size * cell + 30), "predicted →   (rows: true class)", fill="black", font=font)
    return image


__all__ = ["confusion_matrix_image"]
