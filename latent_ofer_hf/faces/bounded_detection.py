"""Face detection at a bounded cost: on a copy of the image no larger than ``max_side``, boxes mapped back.

A detector's cost grows with the image area (MTCNN's pyramid starts at the full resolution): a 6000×6000 photo took
~23 s and ~2.2 GB on the 2-core CPU. Detecting on a copy whose longer side is at most ``max_side`` bounds both
(the copy is at most ``max_side²`` pixels), while the faces are still cropped from the full-resolution image.
Faces smaller than ``min_face_size · side / max_side`` pixels in the original are then not found.
"""

from __future__ import annotations

from PIL import Image

from .detected_face import DetectedFace, FaceDetector

#: longest side (pixels) of the copy a detector sees; docs/performance.md measures the bound
DETECTION_MAX_SIDE = 1280


def detect_bounded(
    detector: FaceDetector, image: Image.Image, *, max_side: int | None = DETECTION_MAX_SIDE
) -> list[DetectedFace]:
    """``detector.detect`` on `image` downscaled to at most `max_side` (None: as it is); boxes and landmarks in
    `image`'s pixel coordinates."""
    if max_side is not None and (not isinstance(max_side, int) or isinstance(max_side, bool) or max_side < 32):
        raise ValueError(f"max_side must be an int >= 32 or None, got {max_side!r}")
    width, height = image.size
    if max_side is None or max(width, height) <= max_side:
        return list(detector.detect(image))
    scale = max_side / max(width, height)
    small = image.resize((max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BILINEAR)
    sx, sy = width / small.width, height / small.height
    faces = []
    for face in detector.detect(small):
        x0, y0, x1, y1 = face.box
        box = (min(x0 * sx, width), min(y0 * sy, height), min(x1 * sx, width), min(y1 * sy, height))
        landmarks = None
        if face.landmarks is not None:
            landmarks = face.landmarks.copy()
            landmarks[:, 0] *= sx
            landmarks[:, 1] *= sy
        faces.append(DetectedFace(box=box, score=face.score, landmarks=landmarks))
    return faces


__all__ = ["DETECTION_MAX_SIDE", "detect_bounded"]
