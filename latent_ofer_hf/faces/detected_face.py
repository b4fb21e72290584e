"""Face-detection types shared by the detectors, the alignment and the detector factory.

A leaf module (no imports from this package): ``haar``, ``mtcnn``, ``alignment`` and ``detector`` import it, so none
of them needs another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
"""Order of the 5 landmarks; "left" is image-left (smaller x) for an upright face."""


@dataclass(frozen=True, eq=False)
class DetectedFace:
    """One detected face.

    ``box`` is ``(x0, y0, x1, y1)`` in continuous input-image pixel coordinates (pixel ``i`` spans ``[i, i + 1)``).
    ``landmarks`` is float32 ``[5, 2]`` ``(x, y)`` in ``LANDMARK_NAMES`` order, or ``None`` (the detector gives none).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray | None = None

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    @property
    def center(self) -> tuple[float, float]:
        return (self.box[0] + self.box[2]) / 2.0, (self.box[1] + self.box[3]) / 2.0


@runtime_checkable
class FaceDetector(Protocol):
    """Anything with ``detect(image) -> list[DetectedFace]``."""

    def detect(self, image: Image.Image) -> list[DetectedFace]: ...


__all__ = ["LANDMARK_NAMES", "DetectedFace", "FaceDetector"]
