"""5-point face alignment: a least-squares similarity transform onto a canonical template, warped with PIL.

Coordinates are continuous pixel coordinates (pixel ``i`` spans ``[i, i + 1)``, its centre is ``i + 0.5``), the
convention of PIL's ``Image.transform`` and of ``DetectedFace``. Matrices are ``2 × 3`` affine maps
``[x', y'] = M @ [x, y, 1]``; ``align_face`` returns the *crop → image* map (the one PIL's AFFINE transform takes).

Canonical template (``CANONICAL_TEMPLATE``, in units of the crop side): derived from the widely used ArcFace /
InsightFace 112 × 112 five-point template (``arcface_dst`` in insightface), which frames a tight face (eyes at 46 %,
mouth corners at 82 % of the height). FER data sets' aligned crops show the whole head: RAF-DB's aligned faces have
the eyes at about 40 % and the mouth corners at about 72 % of the height. The ArcFace points are therefore scaled
uniformly (×0.881) about the crop's vertical centre line so that the mean eye height lands at 0.40 and the mean
mouth-corner height at 0.72; the horizontal centre stays at 0.5. Result (×224, rounded): eyes (80.8, 89.8),
(142.9, 89.4), nose (112.0, 125.1), mouth corners (86.5, 161.4), (138.0, 161.1); eye distance 62.1 px (27.7 %).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .detected_face import DetectedFace

ARCFACE_TEMPLATE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)
"""InsightFace's ArcFace 5-point template for a 112 × 112 crop (left eye, right eye, nose, mouth left, right)."""

EYE_HEIGHT, MOUTH_HEIGHT = 0.40, 0.72
"""Target mean eye / mouth-corner heights, as fractions of the crop height (RAF-DB-like framing)."""


def _derive_template() -> np.ndarray:
    unit = ARCFACE_TEMPLATE_112 / 112.0
    eye_y, mouth_y = unit[:2, 1].mean(), unit[3:, 1].mean()
    scale = (MOUTH_HEIGHT - EYE_HEIGHT) / (mouth_y - eye_y)
    return np.stack([0.5 + scale * (unit[:, 0] - 0.5), EYE_HEIGHT + scale * (unit[:, 1] - eye_y)], axis=1)


CANONICAL_TEMPLATE = _derive_template()
"""``[5, 2]`` landmark positions in units of the crop side (multiply by ``output_size``)."""


def face_template(output_size: int = 224) -> np.ndarray:
    """The canonical 5 points in pixels of an ``output_size`` × ``output_size`` crop."""
    return CANONICAL_TEMPLATE * float(output_size)


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation; no reflection) mapping `source` onto `target`.

    Umeyama's closed form (IEEE TPAMI 1991) for ``[N, 2]`` point sets, ``N >= 2``; returns the ``2 × 3`` matrix.
    """
    source, target = np.asarray(source, dtype=np.float64), np.asarray(target, dtype=np.float64)
    if source.shape != target.shape or source.ndim != 2 or source.shape[1] != 2 or len(source) < 2:
        raise ValueError(f"need two [N, 2] point sets with N >= 2, got {source.shape} and {target.shape}")
    source_mean, target_mean = source.mean(axis=0), target.mean(axis=0)
    source_centered, target_centered = source - source_mean, target - target_mean
    source_variance = (source_centered**2).sum(axis=1).mean()
    if not np.isfinite(source_variance) or source_variance < 1e-12:
        raise ValueError("degenerate points: all source points coincide (or are not finite)")
    covariance = target_centered.T @ source_centered / len(source)
    u, singular_values, vt = np.linalg.svd(covariance)
    signs = np.array([1.0, 1.0 if np.linalg.det(u) * np.linalg.det(vt) >= 0 else -1.0])
    rotation = u @ np.diag(signs) @ vt
    scale = float((singular_values * signs).sum() / source_variance)
    translation = target_mean - scale * rotation @ source_mean
    return np.concatenate([scale * rotation, translation[:, None]], axis=1)


def invert_affine(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a ``2 × 3`` affine matrix."""
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def apply_affine(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``[N, 2]`` points mapped by a ``2 × 3`` affine matrix."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    matrix = np.asarray(matrix, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def crop_to_image_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points in the aligned crop → input-image coordinates, with the matrix returned by ``align_face``."""
    return apply_affine(points, matrix)


def image_to_crop_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Input-image points → aligned-crop coordinates, with the matrix returned by ``align_face``."""
    return apply_affine(points, invert_affine(matrix))


def box_crop_matrix(box: tuple[float, float, float, float], output_size: int = 224, margin: float = 0.2) -> np.ndarray:
    """Crop → image matrix of the square around the box centre with side ``max(width, height) * (1 + margin)``."""
    x0, y0, x1, y1 = (float(v) for v in box)
    side = max(x1 - x0, y1 - y0) * (1.0 + margin)
    if not side > 0:
        raise ValueError(f"empty face box {box}")
    step = side / output_size
    return np.array([[step, 0.0, (x0 + x1 - side) / 2.0], [0.0, step, (y0 + y1 - side) / 2.0]])


def align_face(
    image: Image.Image,
    face: DetectedFace,
    output_size: int = 224,
    margin: float = 0.2,
    template: np.ndarray | None = None,
) -> tuple[Image.Image, np.ndarray]:
    """An ``output_size`` × ``output_size`` RGB face crop and its ``2 × 3`` crop → image matrix.

    With landmarks: the similarity transform that best maps them onto `template` (default ``CANONICAL_TEMPLATE``,
    in units of the crop side). Without: the square around the box centre enlarged by `margin` (0.2 gives about the
    template's framing for MTCNN boxes). Bilinear warp; regions outside the image are black.
    """
    if output_size < 1:
        raise ValueError(f"output_size must be >= 1, got {output_size}")
    if face.landmarks is not None:
        target = (CANONICAL_TEMPLATE if template is None else np.asarray(template, dtype=np.float64)) * output_size
        image_to_crop = similarity_transform(np.asarray(face.landmarks, dtype=np.float64), target)
        matrix = invert_affine(image_to_crop)
    else:
        matrix = box_crop_matrix(face.box, output_size, margin)
    crop = image.convert("RGB").transform(
        (output_size, output_size),
        Image.Transform.AFFINE,
        tuple(matrix.reshape(-1).tolist()),
        resample=Image.Resampling.BILINEAR,
        fillcolor=(0, 0, 0),
    )
    return crop, matrix
