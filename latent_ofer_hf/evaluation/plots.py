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
    draw.text((left, top + size * cell + 30), "columns: predicted class, rows: true class", fill="black", font=font)
    return image


COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40))


def curve_image(
    xs: list[float], curves: dict[str, list[float | None]], title: str = "", x_label: str = "random-patch ratio"
) -> Image.Image:
    """Accuracy curves over x in [0, 0.6] (paper Fig. 1 style): y from 0 to 1, one colored line per curve."""
    font = ImageFont.load_default()
    height, left, top, bottom, plot_w = 380, 56, 30, 60, 334
    legend_w = max([font.getlength(name) for name in curves] + [146])
    width = int(left + plot_w + 24 + legend_w)  # the legend's longest name fits whole
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    plot_h = height - top - bottom
    x_max = max(xs) or 1.0

    def point(x: float, y: float) -> tuple[float, float]:
        return left + plot_w * x / x_max, top + plot_h * (1 - y)

    draw.rectangle((left, top, left + plot_w, top + plot_h), outline="black")
    for tick in range(6):
        y = tick / 5
        draw.line((left - 4, point(0, y)[1], left, point(0, y)[1]), fill="black")
        draw.text((8, point(0, y)[1] - 6), f"{y:.1f}", fill="black", font=font)
    for x in xs:
        draw.text((point(x, 0)[0] - 10, top + plot_h + 6), f"{x:.0%}", fill="black", font=font)
    draw.text((left, height - 24), f"occluded patches ({x_label})   ·   y: accuracy", fill="black", font=font)
    if title:
        draw.text((left, 8), title, fill="black", font=font)
    for index, (name, ys) in enumerate(curves.items()):
        color = COLORS[index % len(COLORS)]
        points = [point(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if len(points) > 1:
            draw.line(points, fill=color, width=2)
        for px, py in points:
            draw.ellipse((px - 3, py - 3, px + 3, py + 3), fill=color)
        draw.text((left + plot_w + 12, top + 16 * index), name, fill=color, font=font)
    return image


def image_grid(rows: list[list[Image.Image]], headers: list[str], tile: int = 112) -> Image.Image:
    """Faces in rows under column headers (supplement Figs. 1–2 style: occluded | MAE | hybrid | ground truth)."""
    font = ImageFont.load_default()
    top = 20
    grid = Image.new("RGB", (tile * len(headers), top + tile * len(rows)), "white")
    draw = ImageDraw.Draw(grid)
    for column, header in enumerate(headers):
        draw.text((column * tile + 4, 4), header, fill="black", font=font)
    for row, images in enumerate(rows):
        for column, picture in enumerate(images):
            grid.paste(picture.convert("RGB").resize((tile, tile)), (column * tile, top + row * tile))
    return grid


__all__ = ["confusion_matrix_image", "curve_image", "image_grid"]
