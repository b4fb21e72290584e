"""Common face-detection types and the default detector choice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

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


def default_face_detector(prefer: Literal["mtcnn", "haar"] = "mtcnn", device: str | None = None) -> FaceDetector:
    """The best detector available offline.

    ``prefer="mtcnn"``: MTCNN when its weights are found, else OpenCV's Haar cascade. ``prefer="haar"``: the other way
    round. Raises ``RuntimeError`` naming both install options when neither works.
    """
    from .haar import HaarFaceDetector
    from .mtcnn import MTCNNFaceDetector
    from .mtcnn_networks import INSTALL_HINT as MTCNN_HINT

    if prefer not in ("mtcnn", "haar"):
        raise ValueError(f"prefer must be 'mtcnn' or 'haar', got {prefer!r}")
    errors: list[str] = []
    order = ("mtcnn", "haar") if prefer == "mtcnn" else ("haar", "mtcnn")
    for name in order:
        try:
            return MTCNNFaceDetector(device=device) if name == "mtcnn" else HaarFaceDetector()
        except (ImportError, FileNotFoundError, RuntimeError) as error:
            errors.append(f"{name}: {error}")
    from .haar import INSTALL_HINT as HAAR_HINT

    raise RuntimeError(
        "No face detector is available. Install either the MTCNN weights: "
        f"{MTCNN_HINT}, or OpenCV's Haar cascade: {HAAR_HINT}.\n" + "\n".join(errors)
    )
