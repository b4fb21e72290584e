"""Expressions of SynthFER as action-unit-like intensities (FACS-inspired prototypes, our own parameterisation).

Each of the 7 basic expressions is a prototype over 15 action units; a sample scales its prototype by a random
intensity, jitters every unit, adds low background activity, and, with some probability, blends toward a class that
people also confuse it with (fear ↔ surprise, disgust ↔ anger / sadness, sadness ↔ neutral, …). The blends make
some samples genuinely ambiguous, so a classifier cannot reach 100 %.
"""

from __future__ import annotations

import numpy as np

from ...models.common.labels import RAFDB_7

ACTION_UNITS: tuple[str, ...] = (
    "AU1_inner_brow_raise",
    "AU2_outer_brow_raise",
    "AU4_brow_lower",
    "AU5_upper_lid_raise",
    "AU6_cheek_raise",
    "AU7_lid_tighten",
    "AU9_nose_wrinkle",
    "AU10_upper_lip_raise",
    "AU12_lip_corner_pull",
    "AU15_lip_corner_depress",
    "AU17_chin_raise",
    "AU20_lip_stretch",
    "AU23_lip_tighten",
    "AU25_lips_part",
    "AU26_jaw_drop",
)
AU = {name.split("_", 1)[0]: index for index, name in enumerate(ACTION_UNITS)}  # "AU12" → 8

_PROTOTYPES: dict[str, dict[str, float]] = {
    "happy": {"AU6": 0.75, "AU12": 0.95, "AU25": 0.35},
    "sad": {"AU1": 0.85, "AU4": 0.5, "AU15": 0.85, "AU17": 0.35},
    "surprise": {"AU1": 0.9, "AU2": 0.9, "AU5": 0.85, "AU25": 0.5, "AU26": 0.8},
    "fear": {"AU1": 0.85, "AU2": 0.55, "AU4": 0.55, "AU5": 0.85, "AU20": 0.85, "AU25": 0.6, "AU26": 0.45},
    "angry": {"AU4": 0.95, "AU5": 0.35, "AU7": 0.75, "AU23": 0.85, "AU17": 0.3},
    "disgust": {"AU9": 0.95, "AU10": 0.75, "AU15": 0.45, "AU4": 0.35, "AU17": 0.3},
    "neutral": {},
}
# which classes each expression is confused with (blend targets)
CONFUSIONS: dict[str, tuple[str, ...]] = {
    "fear": ("surprise",),
    "surprise": ("fear",),
    "disgust": ("angry", "sad"),
    "angry": ("disgust",),
    "sad": ("neutral", "fear"),
    "neutral": ("sad",),
    "happy": ("neutral",),
}


def prototype(name: str) -> np.ndarray:
    """The action-unit vector of an expression at full intensity."""
    vector = np.zeros(len(ACTION_UNITS), dtype=np.float32)
    for unit, value in _PROTOTYPES[name].items():
        vector[AU[unit]] = value
    return vector


PROTOTYPES = np.stack([prototype(name) for name in RAFDB_7])  # [7, 15] in RAF-DB label order


def sample_action_units(
    label: int,
    rng: np.random.Generator,
    *,
    confusion_probability: float = 0.15,
    intensity: tuple[float, float] = (0.35, 1.0),
    jitter: float = 0.25,
    background: float = 0.08,
) -> np.ndarray:
    """Action-unit intensities in [0, 1] for one face of class `label` (RAF-DB order)."""
    name = RAFDB_7[label]
    units = PROTOTYPES[label] * rng.uniform(*intensity)
    if rng.random() < confusion_probability:
        other = RAFDB_7.index(CONFUSIONS[name][rng.integers(len(CONFUSIONS[name]))])
        weight = rng.uniform(0.25, 0.55)
        units = (1 - weight) * units + weight * PROTOTYPES[other] * rng.uniform(*intensity)
    units = units * rng.normal(1.0, jitter, size=units.shape) + np.abs(rng.normal(0.0, background, size=units.shape))
    return np.clip(units, 0.0, 1.0).astype(np.float32)


__all__ = ["ACTION_UNITS", "AU", "CONFUSIONS", "PROTOTYPES", "prototype", "sample_action_units"]
