"""Object-paste occlusion: the Syn-AffectNet / Syn-RAF-DB / Syn-KDEF protocol (paper §4.1, §4.2).

The paper pastes real object images (hands, cups, …) onto faces; no object list or script was released [C]
(docs/method.md#data-and-occlusion-protocols). Here an RGBA occluder is resized relative to the face, placed at a facial
anchor (from 5-point landmarks when given, else canonical positions in an aligned crop), jittered from the seed,
alpha-blended and clipped at the image borders.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from .masks import (
    DEFAULT_GRID,
    ImageLike,
    OcclusionResult,
    SeedLike,
    check_square,
    from_rgb_array,
    make_rng,
    pixel_to_patch_mask,
    to_rgb_array,
)

OccluderSource = np.ndarray | Image.Image | Callable[[np.random.Generator, int], np.ndarray]
Scale = float | tuple[float, float]

FACE_ANCHORS = ("eyes", "mouth", "nose", "cheek_left", "cheek_right", "forehead", "chin")
ANCHORS = (*FACE_ANCHORS, "random")
#: Anchor centers as (x, y) fractions of the face box of an aligned crop; "left" is the image's left.
CANONICAL_ANCHORS: dict[str, tuple[float, float]] = {
    "eyes": (0.50, 0.38),
    "nose": (0.50, 0.56),
    "mouth": (0.50, 0.75),
    "cheek_left": (0.27, 0.62),
    "cheek_right": (0.73, 0.62),
    "forehead": (0.50, 0.17),
    "chin": (0.50, 0.92),
}
LANDMARK_KEYS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
ALPHA_THRESHOLD = 127


def to_rgba_array(occluder: object, *, name: str = "occluder") -> np.ndarray:
    """PIL image (converted to RGBA) or uint8 ``[h, w, 4]`` array → uint8 ``[h, w, 4]`` array."""
    if isinstance(occluder, Image.Image):
        return np.array(occluder.convert("RGBA"), dtype=np.uint8)
    if isinstance(occluder, np.ndarray):
        if occluder.ndim != 3 or occluder.shape[2] != 4 or occluder.shape[0] == 0 or occluder.shape[1] == 0:
            raise ValueError(f"{name} must be an RGBA uint8 array of shape [h, w, 4], got shape {list(occluder.shape)}")
        if occluder.dtype != np.uint8:
            raise ValueError(f"{name} must be a uint8 RGBA array, got dtype {occluder.dtype}")
        return np.ascontiguousarray(occluder)
    raise ValueError(f"{name} must be an RGBA uint8 array or a PIL image, got {type(occluder).__name__}")


def _check_face_box(face_box: object, size: int) -> tuple[float, float, float, float]:
    if face_box is None:
        return 0.0, 0.0, float(size), float(size)
    if not isinstance(face_box, (tuple, list, np.ndarray)) or len(face_box) != 4:
        raise ValueError(f"face_box must be (x0, y0, x1, y1), got {face_box!r}")
    x0, y0, x1, y1 = (float(v) for v in face_box)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"face_box must have x1 > x0 and y1 > y0, got {face_box!r}")
    return x0, y0, x1, y1


def _check_landmarks(landmarks: object) -> dict[str, np.ndarray] | None:
    if landmarks is None:
        return None
    if not isinstance(landmarks, Mapping):
        raise ValueError(f"landmarks must be a dict name -> (x, y), got {type(landmarks).__name__}")
    missing = [key for key in LANDMARK_KEYS if key not in landmarks]
    if missing:
        raise ValueError(f"landmarks are missing {missing}; the 5-point convention needs {list(LANDMARK_KEYS)}")
    points = {}
    for key in LANDMARK_KEYS:
        point = np.asarray(landmarks[key], dtype=np.float64)
        if point.shape != (2,) or not np.isfinite(point).all():
            raise ValueError(f"landmarks[{key!r}] must be a finite (x, y) pair, got {landmarks[key]!r}")
        points[key] = point
    return points


def anchor_point(
    anchor: str,
    face_box: tuple[float, float, float, float],
    landmarks: Mapping[str, tuple[float, float]] | None = None,
) -> tuple[float, float]:
    """Centre ``(x, y)`` of a named facial anchor (not ``"random"``).

    With 5-point landmarks (``left_eye`` = the eye on the image's left): eyes = eye midpoint, nose = nose tip,
    mouth = mouth-corner midpoint, cheeks = below each eye at the nose–mouth midheight, forehead / chin = the eye–mouth
    axis extended by 0.6 / 0.45 of its length. Without landmarks: :data:`CANONICAL_ANCHORS` within ``face_box``.
    """
    if anchor not in CANONICAL_ANCHORS:
        raise ValueError(f"anchor must be one of {FACE_ANCHORS}, got {anchor!r}")
    points = _check_landmarks(landmarks)
    if points is None:
        x0, y0, x1, y1 = face_box
        fx, fy = CANONICAL_ANCHORS[anchor]
        return x0 + fx * (x1 - x0), y0 + fy * (y1 - y0)
    eyes = (points["left_eye"] + points["right_eye"]) / 2
    mouth = (points["mouth_left"] + points["mouth_right"]) / 2
    cheek_y = (points["nose"][1] + mouth[1]) / 2
    centers = {
        "eyes": eyes,
        "nose": points["nose"],
        "mouth": mouth,
        "cheek_left": np.array([points["left_eye"][0], cheek_y]),
        "cheek_right": np.array([points["right_eye"][0], cheek_y]),
        "forehead": eyes - 0.6 * (mouth - eyes),
        "chin": mouth + 0.45 * (mouth - eyes),
    }
    point = centers[anchor]
    return float(point[0]), float(point[1])


def _sample_scale(scale: object, rng: np.random.Generator) -> float:
    if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
        low = high = float(scale)
    elif isinstance(scale, (tuple, list)) and len(scale) == 2:
        low, high = float(scale[0]), float(scale[1])
    else:
        raise ValueError(f"scale must be a number or a (low, high) pair, got {scale!r}")
    if not (0.0 < low <= high):
        raise ValueError(f"scale must be positive with low <= high, got {scale!r}")
    return low if low == high else float(rng.uniform(low, high))


def _resize_longest(occluder: np.ndarray, longest: int) -> np.ndarray:
    height, width = occluder.shape[:2]
    factor = longest / max(height, width)
    new_size = (max(1, int(round(width * factor))), max(1, int(round(height * factor))))
    if new_size == (width, height):
        return occluder
    # Pillow resizes RGBA with premultiplied alpha, so transparent pixels do not bleed color.
    return np.array(Image.fromarray(occluder, mode="RGBA").resize(new_size, Image.Resampling.BILINEAR), dtype=np.uint8)


def _paste(
    array: np.ndarray,
    source: OccluderSource,
    rng: np.random.Generator,
    anchor: str,
    scale: Scale,
    face_box: object,
    landmarks: object,
    jitter: float,
    grid: int,
    min_patch_fraction: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, object]]:
    size = check_square(array, grid)
    box = _check_face_box(face_box, size)
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    if not 0.0 < float(min_patch_fraction) <= 1.0:
        raise ValueError(f"min_patch_fraction must be in (0, 1], got {min_patch_fraction}")
    if float(jitter) < 0:
        raise ValueError(f"jitter must be >= 0, got {jitter}")
    x0, y0, x1, y1 = box
    face_size = max(x1 - x0, y1 - y0)
    if anchor == "random":
        _check_landmarks(landmarks)
        cx, cy = float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1))
    else:
        cx, cy = anchor_point(anchor, box, landmarks)  # type: ignore[arg-type]
    longest = max(1, int(round(_sample_scale(scale, rng) * face_size)))
    if isinstance(source, (np.ndarray, Image.Image)):
        occluder = to_rgba_array(source)
    elif callable(source):
        occluder = to_rgba_array(source(rng, longest), name="the occluder returned by the callable source")
    else:
        raise ValueError(
            f"an occluder must be an RGBA array, a PIL image or a callable (rng, size) -> RGBA array, "
            f"got {type(source).__name__}"
        )
    occluder = _resize_longest(occluder, longest)
    if jitter > 0:
        dx, dy = rng.uniform(-jitter, jitter, size=2) * face_size
        cx, cy = cx + float(dx), cy + float(dy)
    cx, cy = float(np.clip(cx, 0, size - 1)), float(np.clip(cy, 0, size - 1))

    occ_h, occ_w = occluder.shape[:2]
    top, left = int(round(cy - occ_h / 2)), int(round(cx - occ_w / 2))
    iy0, iy1 = max(top, 0), min(top + occ_h, size)
    ix0, ix1 = max(left, 0), min(left + occ_w, size)
    out = array.copy()
    pixel_mask = np.zeros((size, size), dtype=bool)
    if iy1 > iy0 and ix1 > ix0:
        patch = occluder[iy0 - top : iy1 - top, ix0 - left : ix1 - left]
        alpha = patch[..., 3:4].astype(np.int32)
        region = out[iy0:iy1, ix0:ix1].astype(np.int32)
        blended = (patch[..., :3].astype(np.int32) * alpha + region * (255 - alpha) + 127) // 255
        out[iy0:iy1, ix0:ix1] = blended.astype(np.uint8)
        pixel_mask[iy0:iy1, ix0:ix1] = patch[..., 3] > ALPHA_THRESHOLD
    patch_mask = pixel_to_patch_mask(pixel_mask, grid, min_patch_fraction)
    info = {"anchor": anchor, "center": (cx, cy), "box": (left, top, left + occ_w, top + occ_h)}
    return out, pixel_mask, patch_mask, info


def paste_occluder(
    image: ImageLike,
    occluder_rgba: OccluderSource,
    seed: SeedLike,
    anchor: str = "random",
    scale: Scale = (0.3, 0.6),
    face_box: tuple[float, float, float, float] | None = None,
    landmarks: Mapping[str, tuple[float, float]] | None = None,
    jitter: float = 0.05,
    grid: int = DEFAULT_GRID,
    min_patch_fraction: float = 0.5,
) -> OcclusionResult:
    """Alpha-blend an RGBA occluder onto a face (paper §4.1 Syn-* benchmarks).

    The occluder's longest side becomes ``scale · max(face width, face height)`` (``scale`` a number or a range sampled
    from the seed); ``face_box = (x0, y0, x1, y1)`` defaults to the whole image. Its centre is the ``anchor`` (see
    :func:`anchor_point`; ``"random"``: uniform in the face box) plus a uniform jitter of ``±jitter · face size``,
    clipped into the image; the parts outside the image are cut off. ``pixel_mask`` is where alpha > 127 landed;
    pixels with alpha 0 are untouched, semi-transparent ones (1..127) are blended but not counted as occluded.
    ``occluder_rgba`` may also be a callable ``(rng, size) -> RGBA array`` drawing an occluder of longest side ``size``.
    """
    array, as_pil = to_rgb_array(image)
    rng = make_rng(seed)
    out, pixel_mask, patch_mask, info = _paste(
        array, occluder_rgba, rng, anchor, scale, face_box, landmarks, jitter, grid, min_patch_fraction
    )
    return OcclusionResult(from_rgb_array(out, as_pil), pixel_mask, patch_mask, info)


class ObjectPaste:
    """Pastes one occluder drawn at random from ``occluders`` at an anchor drawn from ``anchors``.

    Each source is an RGBA array / PIL image or a callable ``(rng: numpy.random.Generator, size: int) -> uint8
    [h, w, 4]`` that draws an occluder whose longest side is about ``size`` pixels (it is resized to exactly that).
    Call as ``paste(image, seed, face_box=None, landmarks=None, anchor=None)``.
    """

    def __init__(
        self,
        occluders: Sequence[OccluderSource],
        anchors: Sequence[str] = FACE_ANCHORS,
        scale: Scale = (0.3, 0.6),
        jitter: float = 0.05,
        grid: int = DEFAULT_GRID,
        min_patch_fraction: float = 0.5,
    ) -> None:
        if isinstance(occluders, (np.ndarray, Image.Image)) or callable(occluders):
            occluders = [occluders]  # type: ignore[list-item]
        occluders = list(occluders)
        if not occluders:
            raise ValueError("ObjectPaste needs at least one occluder (an RGBA array, a PIL image or a callable)")
        self.occluders: list[OccluderSource] = []
        for index, source in enumerate(occluders):
            if isinstance(source, (np.ndarray, Image.Image)):
                self.occluders.append(to_rgba_array(source, name=f"occluders[{index}]"))
            elif callable(source):
                self.occluders.append(source)
            else:
                raise ValueError(
                    f"occluders[{index}] must be an RGBA array, a PIL image or a callable "
                    f"(rng, size) -> RGBA array, got {type(source).__name__}"
                )
        anchors = list(anchors)
        if not anchors or any(a not in ANCHORS for a in anchors):
            raise ValueError(f"anchors must be a non-empty list drawn from {ANCHORS}, got {anchors!r}")
        self.anchors = anchors
        _sample_scale(scale, np.random.default_rng(0))
        self.scale = scale
        self.jitter = float(jitter)
        self.grid = grid
        self.min_patch_fraction = min_patch_fraction

    def __call__(
        self,
        image: ImageLike,
        seed: SeedLike,
        face_box: tuple[float, float, float, float] | None = None,
        landmarks: Mapping[str, tuple[float, float]] | None = None,
        anchor: str | None = None,
    ) -> OcclusionResult:
        array, as_pil = to_rgb_array(image)
        rng = make_rng(seed)
        index = int(rng.integers(len(self.occluders)))
        chosen = self.anchors[int(rng.integers(len(self.anchors)))] if anchor is None else anchor
        out, pixel_mask, patch_mask, info = _paste(
            array,
            self.occluders[index],
            rng,
            chosen,
            self.scale,
            face_box,
            landmarks,
            self.jitter,
            self.grid,
            self.min_patch_fraction,
        )
        info["occluder_index"] = index
        return OcclusionResult(from_rgb_array(out, as_pil), pixel_mask, patch_mask, info)


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp")


def load_occluder_images(directory: str | Path, white_threshold: int = 240) -> list[np.ndarray]:
    """Read user-supplied occluder images from ``directory`` (sorted by file name) as uint8 RGBA arrays.

    Images with an alpha channel (RGBA/LA/PA, or a PNG ``tRNS`` transparency) keep it. Images without one (RGB, L,
    JPEG) get alpha 255 on non-white pixels and 0 where all channels are >= ``white_threshold``, i.e. objects on a
    white background become cut-outs. Fully transparent and unreadable images are rejected (ValueError naming the
    file).
    """
    path = Path(directory)
    if not path.is_dir():
        raise ValueError(f"occluder directory {str(path)!r} does not exist or is not a directory")
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"no occluder images ({', '.join(IMAGE_SUFFIXES)}) found in {str(path)!r}")
    occluders = []
    for file in files:
        try:
            with Image.open(file) as im:
                if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
                    rgba = np.array(im.convert("RGBA"), dtype=np.uint8)
                else:
                    rgb = np.array(im.convert("RGB"), dtype=np.uint8)
                    alpha = np.where((rgb >= white_threshold).all(axis=2), 0, 255).astype(np.uint8)
                    rgba = np.concatenate([rgb, alpha[..., None]], axis=2)
        except (OSError, ValueError) as error:  # not an image, truncated, corrupt: name the file
            raise ValueError(f"occluder image {str(file)!r} cannot be read: {type(error).__name__}: {error}") from None
        if not (rgba[..., 3] > 0).any():
            raise ValueError(f"occluder image {file.name!r} is fully transparent")
        occluders.append(rgba)
    return occluders
