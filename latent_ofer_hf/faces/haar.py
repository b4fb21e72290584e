"""OpenCV Haar-cascade face detector: a torch-free fallback without landmarks.

Needs OpenCV 4.x (``opencv-python-headless<5``): 5.0 ships no cascade files and no ``cv2.CascadeClassifier``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .detected_face import DetectedFace

INSTALL_HINT = 'pip install "opencv-python-headless<5"'
CASCADE_FILE = "haarcascade_frontalface_default.xml"


def _load_cascade(cascade_path: str | Path | None = None) -> Any:
    """A ``cv2.CascadeClassifier``; ``ImportError`` / ``RuntimeError`` with the install command when unavailable."""
    try:
        import cv2
    except ImportError as error:
        raise ImportError(f"The Haar face detector needs OpenCV. Install with: {INSTALL_HINT}") from error
    if not hasattr(cv2, "CascadeClassifier"):
        raise RuntimeError(f"This OpenCV ({cv2.__version__}) has no CascadeClassifier. Install with: {INSTALL_HINT}")
    if cascade_path is None:
        folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
        if not folder:
            raise RuntimeError(f"This OpenCV ({cv2.__version__}) ships no cascade files. Install with: {INSTALL_HINT}")
        cascade_path = Path(folder) / CASCADE_FILE
    if not Path(cascade_path).is_file():
        raise RuntimeError(f"Haar cascade {cascade_path} not found. Install with: {INSTALL_HINT}")
    classifier = cv2.CascadeClassifier(str(cascade_path))
    if classifier.empty():
        raise RuntimeError(f"OpenCV could not load the Haar cascade {cascade_path}. Install with: {INSTALL_HINT}")
    return classifier


class HaarFaceDetector:
    """Viola–Jones frontal-face cascade (``haarcascade_frontalface_default.xml``).

    The cascade gives no calibrated confidence: every face has ``score=1.0`` and ``landmarks=None``, and ``detect``
    sorts faces by box area, largest first.
    """

    def __init__(
        self,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size: tuple[int, int] = (40, 40),
        cascade_path: str | Path | None = None,
    ) -> None:
        self.classifier = _load_cascade(cascade_path)
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size = tuple(min_size)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scale_factor={self.scale_factor}, min_neighbors={self.min_neighbors}, "
            f"min_size={self.min_size})"
        )

    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Faces in a PIL image (any mode), largest first; ``[]`` when there is none."""
        gray = np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))
        if gray.shape[0] < self.min_size[1] or gray.shape[1] < self.min_size[0]:
            return []
        found = self.classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=self.min_size
        )
        faces = [
            DetectedFace(box=(float(x), float(y), float(x + w), float(y + h)), score=1.0)
            for x, y, w, h in np.asarray(found).reshape(-1, 4).tolist()
        ]
        return sorted(faces, key=lambda face: face.area, reverse=True)

    __call__ = detect
