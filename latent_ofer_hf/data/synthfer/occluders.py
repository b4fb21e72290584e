"""Procedural occluders of SynthFER in two disjoint families: ``seen`` (may be used in training) and ``unseen``
(evaluation only), so the claim "the detector flags occluders it never saw" can be tested.

Each occluder is drawn as an RGBA image (alpha = 255 on the object) by a function ``(rng, size) → uint8 [h, w, 4]``
where ``size`` is the face width in pixels — the callable signature `ObjectPaste` accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

Draw = Callable[[np.random.Generator, int], np.ndarray]


def _color(rng: np.random.Generator, low: int = 20, high: int = 235) -> tuple[int, int, int, int]:
    r, g, b = (int(v) for v in rng.integers(low, high, 3))
    return r, g, b, 255


def _canvas(width: float, height: float) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGBA", (max(2, round(width)), max(2, round(height))), (0, 0, 0, 0))
    return image, ImageDraw.Draw(image)


def _skin(rng: np.random.Generator) -> tuple[int, int, int, int]:
    tones = ((250, 215, 185), (225, 175, 140), (190, 130, 95), (130, 85, 60), (90, 60, 42))
    base = np.array(tones[rng.integers(len(tones))]) + rng.normal(0, 8, 3)
    r, g, b = (int(v) for v in np.clip(base, 0, 255))
    return r, g, b, 255


# ------------------------------------------------------------------------------------------------- seen family
def draw_hand(rng: np.random.Generator, size: int) -> np.ndarray:
    """An open hand: palm and four or five fingers, random skin tone, slight rotation."""
    w, h = size * rng.uniform(0.5, 0.7), size * rng.uniform(0.6, 0.85)
    image, draw = _canvas(w, h)
    skin = _skin(rng)
    outline = tuple(int(c * 0.75) for c in skin[:3]) + (255,)
    palm_top = h * 0.45
    draw.rounded_rectangle((w * 0.1, palm_top, w * 0.9, h * 0.98), radius=w * 0.2, fill=skin, outline=outline)
    fingers = int(rng.integers(4, 6))
    finger_w = w * 0.8 / fingers
    for index in range(fingers):
        x0 = w * 0.1 + index * finger_w
        top = h * rng.uniform(0.02, 0.15) + (h * 0.2 if index in (0, fingers - 1) else 0)
        right = max(x0 + finger_w - 1, x0 + 2)  # at least 1 px wide on tiny faces
        draw.rounded_rectangle(
            (x0 + 1, top, right, palm_top + h * 0.1), radius=max(finger_w / 2, 0.5), fill=skin, outline=outline
        )
    return np.asarray(image.rotate(rng.uniform(-35, 35), expand=True, resample=Image.Resampling.BILINEAR))


def draw_cup(rng: np.random.Generator, size: int) -> np.ndarray:
    """A mug with a handle, held in front of the lower face."""
    w, h = size * rng.uniform(0.35, 0.5), size * rng.uniform(0.4, 0.55)
    image, draw = _canvas(w * 1.35, h)
    color = _color(rng)
    draw.rectangle((0, h * 0.08, w, h), fill=color)
    draw.ellipse((0, 0, w, h * 0.16), fill=tuple(int(c * 0.7) for c in color[:3]) + (255,))
    draw.ellipse((w * 0.85, h * 0.3, w * 1.33, h * 0.75), outline=color, width=max(2, round(w * 0.1)))
    if rng.random() < 0.5:  # a stripe or logo
        stripe = _color(rng)
        draw.rectangle((0, h * 0.45, w, h * 0.58), fill=stripe)
    return np.asarray(image)


def draw_medical_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A surgical face mask with pleats and ear loops, covering nose and mouth."""
    w, h = size * rng.uniform(0.85, 1.0), size * rng.uniform(0.5, 0.62)
    image, draw = _canvas(w, h)
    palette = ((180, 215, 235), (240, 240, 240), (40, 40, 45), (200, 230, 200), (230, 190, 200))
    base = palette[rng.integers(len(palette))] + (255,)
    draw.polygon(
        [
            (w * 0.08, h * 0.2),
            (w * 0.5, 0),
            (w * 0.92, h * 0.2),
            (w * 0.88, h * 0.8),
            (w * 0.5, h),
            (w * 0.12, h * 0.8),
        ],
        fill=base,
    )
    pleat = tuple(int(c * 0.85) for c in base[:3]) + (255,)
    for row in (0.35, 0.5, 0.65):
        draw.line([(w * 0.12, h * row), (w * 0.88, h * row)], fill=pleat, width=max(1, round(h * 0.03)))
    for x in (0.0, 0.92):
        draw.line([(w * x, h * 0.2), (w * (x + 0.08), h * 0.25)], fill=(250, 250, 250, 255), width=2)
    return np.asarray(image)


def draw_scarf(rng: np.random.Generator, size: int) -> np.ndarray:
    """A knitted scarf wrapped over the chin and mouth, striped."""
    w, h = size * rng.uniform(1.0, 1.25), size * rng.uniform(0.35, 0.5)
    image, draw = _canvas(w, h)
    color, stripe = _color(rng), _color(rng)
    draw.rounded_rectangle((0, 0, w, h), radius=h * 0.3, fill=color)
    stripes = int(rng.integers(2, 5))
    for index in range(stripes):
        y = h * (index + 1) / (stripes + 1)
        draw.line([(0, y), (w, y)], fill=stripe, width=max(2, round(h * 0.07)))
    return np.asarray(image)


# ----------------------------------------------------------------------------------------------- unseen family
def draw_sunglasses(rng: np.random.Generator, size: int) -> np.ndarray:
    """Dark sunglasses: two lenses and a bridge."""
    w, h = size * rng.uniform(0.8, 0.95), size * rng.uniform(0.2, 0.28)
    image, draw = _canvas(w, h)
    lens = tuple(int(v) for v in rng.integers(0, 60, 3)) + (255,)
    frame = _color(rng, 0, 120)
    round_lens = rng.random() < 0.5
    for x0 in (0.02, 0.54):
        box = (w * x0, h * 0.05, w * (x0 + 0.44), h * 0.95)
        (draw.ellipse if round_lens else draw.rounded_rectangle)(
            box, fill=lens, outline=frame, width=2, **({} if round_lens else {"radius": h * 0.2})
        )
    draw.line([(w * 0.46, h * 0.35), (w * 0.54, h * 0.35)], fill=frame, width=max(2, round(h * 0.08)))
    return np.asarray(image)


def draw_microphone(rng: np.random.Generator, size: int) -> np.ndarray:
    """A handheld microphone: mesh head and a long handle, tilted."""
    w, h = size * rng.uniform(0.22, 0.3), size * rng.uniform(0.8, 1.0)
    image, draw = _canvas(w, h)
    head = (150, 150, 155, 255) if rng.random() < 0.7 else _color(rng)
    draw.ellipse((0, 0, w, w), fill=head)
    for offset in np.linspace(0.2, 0.8, 4):
        draw.line([(w * offset, w * 0.1), (w * offset, w * 0.9)], fill=(90, 90, 95, 255), width=1)
    draw.polygon([(w * 0.2, w * 0.9), (w * 0.8, w * 0.9), (w * 0.62, h), (w * 0.38, h)], fill=_color(rng, 0, 80))
    return np.asarray(image.rotate(rng.uniform(-30, 30), expand=True, resample=Image.Resampling.BILINEAR))


def draw_hair_lock(rng: np.random.Generator, size: int) -> np.ndarray:
    """A lock of hair falling over one eye: a bundle of thick curved strands."""
    w, h = size * rng.uniform(0.35, 0.5), size * rng.uniform(0.5, 0.7)
    image, draw = _canvas(w, h)
    color = _color(rng, 10, 200)
    for _ in range(int(rng.integers(6, 12))):
        x = rng.uniform(0.15, 0.85) * w
        points = [(x + rng.normal(0, w * 0.08) * t * 3, h * t) for t in np.linspace(0, 1, 6)]
        draw.line(points, fill=color, width=max(3, round(w * rng.uniform(0.08, 0.16))), joint="curve")
    return np.asarray(image)


def draw_phone(rng: np.random.Generator, size: int) -> np.ndarray:
    """A smartphone held against the cheek: dark body, bright screen edge."""
    w, h = size * rng.uniform(0.3, 0.38), size * rng.uniform(0.55, 0.7)
    image, draw = _canvas(w, h)
    draw.rounded_rectangle((0, 0, w, h), radius=w * 0.15, fill=_color(rng, 0, 90))
    draw.rounded_rectangle(
        (w * 0.08, h * 0.06, w * 0.92, h * 0.94),
        radius=w * 0.1,
        fill=tuple(int(v) for v in rng.integers(120, 255, 3)) + (255,),
    )
    return np.asarray(image.rotate(rng.uniform(-25, 25), expand=True, resample=Image.Resampling.BILINEAR))


@dataclass(frozen=True)
class OccluderFamily:
    """A kind of occluder: how to draw it and where it goes on a face (anchors of `paste_occluder`)."""

    name: str
    draw: Draw
    anchors: tuple[str, ...]


SEEN_OCCLUDERS: tuple[OccluderFamily, ...] = (
    OccluderFamily("hand", draw_hand, ("mouth", "cheek_left", "cheek_right", "eyes", "chin")),
    OccluderFamily("cup", draw_cup, ("mouth", "chin")),
    OccluderFamily("medical_mask", draw_medical_mask, ("mouth",)),
    OccluderFamily("scarf", draw_scarf, ("chin",)),
)
UNSEEN_OCCLUDERS: tuple[OccluderFamily, ...] = (
    OccluderFamily("sunglasses", draw_sunglasses, ("eyes",)),
    OccluderFamily("microphone", draw_microphone, ("mouth", "chin")),
    OccluderFamily("hair_lock", draw_hair_lock, ("eyes", "forehead")),
    OccluderFamily("phone", draw_phone, ("cheek_left", "cheek_right")),
)
OCCLUDER_FAMILIES: dict[str, tuple[OccluderFamily, ...]] = {"seen": SEEN_OCCLUDERS, "unseen": UNSEEN_OCCLUDERS}

__all__ = ["OCCLUDER_FAMILIES", "OccluderFamily", "SEEN_OCCLUDERS", "UNSEEN_OCCLUDERS"]
