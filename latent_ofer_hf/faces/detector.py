"""The detector factory: the best face detector available offline.

The shared types live in :mod:`.detected_face`; they are re-exported here so that
``from latent_ofer_hf.faces.detector import DetectedFace`` keeps working.
"""

from __future__ import annotations

from typing import Literal

from .detected_face import LANDMARK_NAMES, DetectedFace, FaceDetector
from .haar import INSTALL_HINT as HAAR_HINT
from .haar import HaarFaceDetector
from .mtcnn import MTCNNFaceDetector
from .mtcnn_networks import INSTALL_HINT as MTCNN_HINT


def default_face_detector(prefer: Literal["mtcnn", "haar"] = "mtcnn", device: str | None = None) -> FaceDetector:
    """The best detector available offline.

    ``prefer="mtcnn"``: MTCNN when its weights are found, else OpenCV's Haar cascade. ``prefer="haar"``: the other way
    round. Raises ``RuntimeError`` naming both install options when neither works.
    """
    if prefer not in ("mtcnn", "haar"):
        raise ValueError(f"prefer must be 'mtcnn' or 'haar', got {prefer!r}")
    errors: list[str] = []
    order = ("mtcnn", "haar") if prefer == "mtcnn" else ("haar", "mtcnn")
    for name in order:
        try:
            return MTCNNFaceDetector(device=device) if name == "mtcnn" else HaarFaceDetector()
        except (ImportError, FileNotFoundError, RuntimeError) as error:
            errors.append(f"{name}: {error}")
    raise RuntimeError(
        "No face detector is available. Install either the MTCNN weights: "
        f"{MTCNN_HINT}, or OpenCV's Haar cascade: {HAAR_HINT}.\n" + "\n".join(errors)
    )


__all__ = ["LANDMARK_NAMES", "DetectedFace", "FaceDetector", "default_face_detector"]
