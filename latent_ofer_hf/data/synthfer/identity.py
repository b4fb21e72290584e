"""Identities of SynthFER: face shape, skin, hair, eyes, brows, lips — sampled from one seed per identity."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SKIN_TONES = np.array(
    [(255, 224, 196), (241, 194, 160), (224, 172, 135), (198, 134, 96), (161, 102, 68), (120, 75, 50), (88, 56, 38)],
    dtype=np.float32,
)
HAIR_COLORS = np.array(
    [(20, 16, 14), (60, 40, 28), (110, 72, 40), (170, 120, 60), (220, 190, 120), (140, 140, 140), (150, 50, 30)],
    dtype=np.float32,
)
IRIS_COLORS = np.array([(70, 45, 25), (40, 80, 140), (60, 110, 70), (100, 80, 50), (30, 30, 30)], dtype=np.float32)
HAIR_STYLES = ("short", "long", "bald", "fringe", "bun")


def _tone(palette: np.ndarray, rng: np.random.Generator, spread: float = 10.0) -> tuple[int, int, int]:
    base = palette[rng.integers(len(palette))] + rng.normal(0, spread, 3)
    return tuple(int(v) for v in np.clip(base, 0, 255))


@dataclass(frozen=True)
class Identity:
    """Geometry in a canonical 224×224 frame (scaled for other sizes) and colors of one synthetic person."""

    face_half_width: float
    face_half_height: float
    jaw: float  # 0 = round chin, 1 = square jaw
    eye_spacing: float  # half distance between eye centres / face half-width
    eye_size: float
    brow_thickness: float
    nose_length: float
    mouth_width: float  # half mouth width / face half-width
    lip_thickness: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    iris: tuple[int, int, int]
    lips: tuple[int, int, int]
    hair_style: str


def sample_identity(rng: np.random.Generator) -> Identity:
    skin = _tone(SKIN_TONES, rng)
    lips = tuple(int(v) for v in np.clip(np.array(skin) * rng.uniform(0.62, 0.8) + np.array((40, 0, 5)), 0, 255))
    return Identity(
        face_half_width=rng.uniform(60, 74),
        face_half_height=rng.uniform(80, 92),
        jaw=rng.uniform(0, 1),
        eye_spacing=rng.uniform(0.36, 0.46),
        eye_size=rng.uniform(0.85, 1.2),
        brow_thickness=rng.uniform(3, 6.5),
        nose_length=rng.uniform(0.85, 1.15),
        mouth_width=rng.uniform(0.3, 0.4),
        lip_thickness=rng.uniform(0.8, 1.3),
        skin=skin,
        hair=_tone(HAIR_COLORS, rng),
        iris=_tone(IRIS_COLORS, rng, 8),
        lips=lips,
        hair_style=HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
    )


__all__ = ["HAIR_STYLES", "Identity", "sample_identity"]
