"""Draw a SynthFER face: identity + action units + pose + lighting → RGB uint8 image and its 5 landmarks.

Drawing is done with PIL's ImageDraw in a canonical 224×224 frame (scaled to the requested size), then one affine
warp applies the head pose and a per-pixel gain applies the lighting. Fast enough for hundreds of faces per second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from .expressions import AU
from .identity import Identity

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")  # image-left first (MTCNN order)


@dataclass(frozen=True)
class Pose:
    """Head pose jitter: in-plane rotation (degrees), shift (pixels at 224), scale."""

    angle: float = 0.0
    shift_x: float = 0.0
    shift_y: float = 0.0
    scale: float = 1.0


@dataclass(frozen=True)
class Lighting:
    """Directional gain (strength, direction in radians), global brightness and contrast."""

    strength: float = 0.0
    direction: float = 0.0
    brightness: float = 1.0
    contrast: float = 1.0


def sample_pose(rng: np.random.Generator) -> Pose:
    return Pose(
        angle=rng.normal(0, 5), shift_x=rng.normal(0, 4), shift_y=rng.normal(0, 4), scale=rng.uniform(0.93, 1.07)
    )


def sample_lighting(rng: np.random.Generator) -> Lighting:
    return Lighting(
        strength=rng.uniform(0, 0.35),
        direction=rng.uniform(0, 2 * math.pi),
        brightness=rng.uniform(0.8, 1.15),
        contrast=rng.uniform(0.85, 1.15),
    )


def _shade(color: tuple[int, int, int], factor: float, add: tuple[int, int, int] = (0, 0, 0)) -> tuple[int, ...]:
    return tuple(int(min(255, max(0, c * factor + a))) for c, a in zip(color, add, strict=True))


def _background(draw: ImageDraw.ImageDraw, size: int, rng: np.random.Generator) -> None:
    base = rng.integers(30, 226, 3)
    draw.rectangle((0, 0, size, size), fill=tuple(int(v) for v in base))
    for _ in range(rng.integers(2, 6)):  # a few soft shapes: a room, a wall, a window
        color = tuple(int(v) for v in np.clip(base + rng.normal(0, 40, 3), 0, 255))
        x0, y0 = rng.uniform(-0.2, 1.0, 2) * size
        w, h = rng.uniform(0.2, 0.8, 2) * size
        (draw.rectangle if rng.random() < 0.6 else draw.ellipse)((x0, y0, x0 + w, y0 + h), fill=color)


def render_face(
    identity: Identity,
    units: np.ndarray,
    rng: np.random.Generator,
    *,
    size: int = 224,
    pose: Pose | None = None,
    lighting: Lighting | None = None,
) -> tuple[np.ndarray, dict[str, tuple[float, float]], tuple[float, float, float, float]]:
    """Render one face. Returns (RGB uint8 [size, size, 3], landmarks name → (x, y), face box (x0, y0, x1, y1))."""
    pose = pose or Pose()
    lighting = lighting or Lighting()
    k = size / 224.0
    u = {name: float(units[index]) for name, index in AU.items()}
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    _background(draw, size, rng)

    cx, cy = 112 * k, 120 * k
    a, b = identity.face_half_width * k, (identity.face_half_height + 4 * u["AU26"]) * k
    skin, hair = identity.skin, identity.hair

    # hair behind the head, neck, face, ears
    if identity.hair_style in ("long", "bun"):
        draw.ellipse(
            (cx - a * 1.25, cy - b * 1.2, cx + a * 1.25, cy + b * (1.05 if identity.hair_style == "long" else 0.2)),
            fill=hair,
        )
    if identity.hair_style == "bun":
        draw.ellipse((cx - 0.45 * a, cy - 1.55 * b, cx + 0.45 * a, cy - 0.95 * b), fill=hair)
    draw.rectangle((cx - 0.45 * a, cy + 0.6 * b, cx + 0.45 * a, size), fill=_shade(skin, 0.85))
    for side in (-1, 1):
        draw.ellipse(
            (cx + side * a - 0.16 * a, cy - 0.2 * b, cx + side * a + 0.16 * a, cy + 0.15 * b), fill=_shade(skin, 0.92)
        )
    jaw = identity.jaw
    draw.ellipse((cx - a, cy - b, cx + a, cy + b), fill=skin)
    if jaw > 0.4:  # squarer jaw: widen the lower face
        draw.rectangle(
            (cx - a * (0.55 + 0.3 * jaw), cy + 0.2 * b, cx + a * (0.55 + 0.3 * jaw), cy + 0.75 * b), fill=skin
        )
        draw.ellipse((cx - a * (0.6 + 0.3 * jaw), cy + 0.45 * b, cx + a * (0.6 + 0.3 * jaw), cy + b), fill=skin)

    # hair on top
    if identity.hair_style != "bald":
        draw.chord((cx - a * 1.05, cy - b * 1.12, cx + a * 1.05, cy - b * 0.2), 180, 360, fill=hair)
        if identity.hair_style == "fringe":
            draw.rectangle((cx - a * 0.8, cy - b * 0.75, cx + a * 0.8, cy - b * 0.5), fill=hair)

    eye_y = cy - 0.16 * b
    eye_dx = identity.eye_spacing * a
    brow_y = eye_y - 0.24 * b
    line = max(1, round(1.6 * k))

    # forehead wrinkles (AU1/AU2)
    raise_amount = 0.5 * (u["AU1"] + u["AU2"])
    if raise_amount > 0.45:
        for row in range(1 + int(raise_amount > 0.7)):
            y = brow_y - (12 + 7 * row) * k
            draw.arc(
                (cx - 0.45 * a, y - 6 * k, cx + 0.45 * a, y + 6 * k), 200, 340, fill=_shade(skin, 0.75), width=line
            )

    # brows: inner / middle / outer points per side
    brow_color = _shade(hair, 0.7)
    thickness = max(1, round(identity.brow_thickness * k))
    for side in (-1, 1):
        inner_x = cx + side * (eye_dx - 11 * k - 4 * u["AU4"] * k)
        outer_x = cx + side * (eye_dx + 15 * k)
        inner_y = brow_y - 10 * u["AU1"] * k + 7 * u["AU4"] * k
        middle_y = brow_y - 5 * k - 5 * (u["AU1"] + u["AU2"]) * k + 3 * u["AU4"] * k
        outer_y = brow_y - 9 * u["AU2"] * k + 2 * k
        draw.line(
            [(inner_x, inner_y), (cx + side * (eye_dx + 2 * k), middle_y), (outer_x, outer_y)],
            fill=brow_color,
            width=thickness,
            joint="curve",
        )

    # eyes: openness from AU5 (up) vs AU7 / AU6 (narrow)
    half_w = 11 * identity.eye_size * k
    openness = max(0.12, 1 + 0.85 * u["AU5"] - 0.55 * u["AU7"] - 0.45 * u["AU6"])
    half_h = 5 * identity.eye_size * k * openness
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse(
            (ex - half_w, eye_y - half_h, ex + half_w, eye_y + half_h),
            fill=(245, 245, 240),
            outline=_shade(skin, 0.55),
            width=line,
        )
        iris = min(half_h, 4.5 * k * identity.eye_size)
        draw.ellipse((ex - iris, eye_y - iris, ex + iris, eye_y + iris), fill=identity.iris)
        pupil = iris * 0.45
        draw.ellipse((ex - pupil, eye_y - pupil, ex + pupil, eye_y + pupil), fill=(10, 10, 10))
        if u["AU6"] > 0.3:  # cheek raise: crease and rounder cheek below the eye
            draw.arc(
                (ex - half_w, eye_y + half_h - 2 * k, ex + half_w, eye_y + half_h + 8 * k),
                20,
                160,
                fill=_shade(skin, 0.7),
                width=line,
            )
            draw.ellipse(
                (ex - 10 * k, eye_y + 15 * k, ex + 10 * k, eye_y + 27 * k),
                fill=_shade(skin, 1.0, (int(30 * u["AU6"]), 0, 0)),
            )

    # nose: bridge, nostrils (flare with AU9), wrinkles (AU9)
    nose_y = cy + 0.16 * b * identity.nose_length
    nose_w = (8 + 3 * u["AU9"]) * k
    draw.line([(cx, eye_y + 4 * k), (cx - 2 * k, nose_y)], fill=_shade(skin, 0.75), width=line)
    for side in (-1, 1):
        draw.ellipse(
            (cx + side * nose_w - 3 * k, nose_y - 2 * k, cx + side * nose_w + 3 * k, nose_y + 3 * k),
            fill=_shade(skin, 0.55),
        )
    if u["AU9"] > 0.3:
        for row in range(1 + int(u["AU9"] > 0.6) + int(u["AU9"] > 0.8)):
            y = eye_y + (3 + 4 * row) * k
            draw.line([(cx - 7 * k, y), (cx + 7 * k, y)], fill=_shade(skin, 0.6), width=line)

    # mouth: corners pulled up (AU12) / down (AU15) / out (AU20), upper lip raise (AU10), opening (AU25, AU26)
    mouth_y = cy + 0.46 * b
    mouth_w = identity.mouth_width * a * (1 + 0.2 * u["AU12"] + 0.3 * u["AU20"] - 0.2 * u["AU23"])
    corner_dy = (-9 * u["AU12"] + 8 * u["AU15"]) * k
    lip = identity.lip_thickness * (1 - 0.55 * u["AU23"]) * k
    opening = (1.0 + 6 * u["AU25"] + 15 * u["AU26"]) * k
    upper_mid = mouth_y - opening / 2 - 3 * u["AU10"] * k
    lower_mid = mouth_y + opening / 2 - 3 * u["AU17"] * k
    curve = 5 * (u["AU12"] - u["AU15"]) * k  # smile: middle of the lips lower than the corners
    left, right = (cx - mouth_w, mouth_y + corner_dy), (cx + mouth_w, mouth_y + corner_dy)
    inner_upper = [
        left,
        (cx - mouth_w / 2, upper_mid + curve * 0.6),
        (cx, upper_mid + curve),
        (cx + mouth_w / 2, upper_mid + curve * 0.6),
        right,
    ]
    inner_lower = [
        right,
        (cx + mouth_w / 2, lower_mid + curve * 0.6),
        (cx, lower_mid + curve),
        (cx - mouth_w / 2, lower_mid + curve * 0.6),
        left,
    ]
    if opening > 3 * k:
        draw.polygon(inner_upper + inner_lower, fill=(60, 20, 25))
        if u["AU12"] > 0.4 or u["AU10"] > 0.4:  # teeth
            draw.rectangle(
                (
                    cx - mouth_w * 0.55,
                    upper_mid + curve * 0.8,
                    cx + mouth_w * 0.55,
                    upper_mid + curve * 0.8 + min(opening * 0.45, 6 * k),
                ),
                fill=(240, 240, 230),
            )
    upper_lip = inner_upper + [(x, y - 5 * lip) for x, y in reversed(inner_upper[1:-1])]
    lower_lip = inner_lower + [(x, y + 6 * lip) for x, y in reversed(inner_lower[1:-1])]
    draw.polygon(upper_lip, fill=identity.lips)
    draw.polygon(lower_lip, fill=_shade(identity.lips, 1.08))
    if u["AU12"] > 0.45 or u["AU10"] > 0.5:  # nasolabial folds
        for side in (-1, 1):
            draw.line(
                [
                    (cx + side * (nose_w + 4 * k), nose_y + 2 * k),
                    (cx + side * (mouth_w + 5 * k), mouth_y + corner_dy + 2 * k),
                ],
                fill=_shade(skin, 0.72),
                width=line,
            )

    landmarks = {
        "left_eye": (cx - eye_dx, eye_y),
        "right_eye": (cx + eye_dx, eye_y),
        "nose": (cx, nose_y),
        "mouth_left": left,
        "mouth_right": right,
    }
    box = (cx - a * 1.02, cy - b * 1.05, cx + a * 1.02, cy + b * 1.02)

    # pose: rotate about the face centre, scale, shift (one affine warp)
    angle, scale = math.radians(pose.angle), pose.scale
    tx, ty = pose.shift_x * k, pose.shift_y * k
    cos, sin = math.cos(angle) * scale, math.sin(angle) * scale

    def forward(x: float, y: float) -> tuple[float, float]:
        dx, dy = x - cx, y - cy
        return cx + cos * dx - sin * dy + tx, cy + sin * dx + cos * dy + ty

    det = cos * cos + sin * sin  # inverse map for PIL (output → input)
    inverse = (cos / det, sin / det, 0.0, -sin / det, cos / det, 0.0)
    ox, oy = cx + tx, cy + ty
    c0 = cx - (inverse[0] * ox + inverse[1] * oy)
    c1 = cy - (inverse[3] * ox + inverse[4] * oy)
    border = tuple(int(v) for v in rng.integers(30, 226, 3))
    image = image.transform(
        (size, size),
        Image.Transform.AFFINE,
        (inverse[0], inverse[1], c0, inverse[3], inverse[4], c1),
        resample=Image.Resampling.BILINEAR,
        fillcolor=border,
    )
    landmarks = {name: forward(*point) for name, point in landmarks.items()}
    corners = [forward(x, y) for x in (box[0], box[2]) for y in (box[1], box[3])]
    box = (
        min(p[0] for p in corners),
        min(p[1] for p in corners),
        max(p[0] for p in corners),
        max(p[1] for p in corners),
    )

    # lighting: directional gain, brightness, contrast
    pixels = np.asarray(image, dtype=np.float32)
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    gain = lighting.brightness + lighting.strength * (
        math.cos(lighting.direction) * ramp[None, :] + math.sin(lighting.direction) * ramp[:, None]
    )
    mean = pixels.mean()
    pixels = (pixels - mean) * lighting.contrast + mean
    pixels *= gain[..., None]
    return np.clip(pixels, 0, 255).astype(np.uint8), landmarks, box


__all__ = ["LANDMARK_NAMES", "Lighting", "Pose", "render_face", "sample_lighting", "sample_pose"]
