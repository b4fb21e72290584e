"""One request of the Space: find the faces, optionally put an occluder on each, run Latent-OFER, and keep what the
page shows (box, occluded patches, reconstruction, scores) in JSON-friendly form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from ..data.occlusion import paste_occluder, random_patch_occlusion
from ..data.synthfer import SEEN_OCCLUDERS, UNSEEN_OCCLUDERS

_FAMILIES = {family.name: family for family in (*SEEN_OCCLUDERS, *UNSEEN_OCCLUDERS)}
#: the "add an occluder" choices: none, SynthFER's occluder families (seen in training and held out), random patches
OCCLUDER_CHOICES = ("none", *_FAMILIES, "random patches")


@dataclass
class FaceAnalysis:
    """One face of a request: what the page and the API show."""

    box: tuple[int, int, int, int]
    face_score: float | None  # None where there is none: a face crop as given, or a detector without confidences
    label: str
    scores: dict[str, float]
    occlusion_ratio: float
    occlusion_mask: np.ndarray  # bool [g, g]
    face: Image.Image  # the aligned crop that was recognised (with the added occluder, if any)
    reconstruction: Image.Image | None

    def to_json(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "face_score": None if self.face_score is None else round(self.face_score, 4),
            "label": self.label,
            "scores": {label: round(score, 4) for label, score in self.scores.items()},
            "occlusion_ratio": round(self.occlusion_ratio, 4),
            "occlusion_mask": self.occlusion_mask.astype(int).tolist(),
        }


def add_occluder(face: Image.Image, kind: str, ratio: float, seed: int, grid: int) -> Image.Image:
    """`face` (an aligned crop) with one occluder of `kind` at one of its anchors, or `ratio` random black patches."""
    if kind not in OCCLUDER_CHOICES:
        raise ValueError(f"unknown occluder {kind!r}; choose one of {OCCLUDER_CHOICES}")
    if kind == "none":
        return face
    array = np.asarray(face.convert("RGB"))
    rng = np.random.default_rng(seed)
    if kind == "random patches":
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"the random-patch ratio must be in [0, 1], got {ratio}")
        return random_patch_occlusion(array, ratio, rng, grid=grid).image
    family = _FAMILIES[kind]
    anchor = family.anchors[int(rng.integers(len(family.anchors)))]
    return paste_occluder(array, family.draw, rng, anchor=anchor, scale=(0.4, 0.55), grid=grid).image


def analyze_image(
    fer: Any,
    image: Image.Image,
    *,
    occluder: str = "none",
    ratio: float = 0.3,
    seed: int = 0,
    detect: bool = True,
    scored: bool = True,
):
    """Every face of `image` through the pipeline `fer` (``detect=False``: the image is one face crop); with an
    `occluder`, each aligned face first gets one. Returns a list of :class:`FaceAnalysis`, best face score first
    (``[]`` when there is no face); its face scores are None without detection or when ``scored=False`` (a detector
    whose scores mean nothing, such as the Haar cascade's constant 1.0)."""
    options = {} if detect else {"detector": None}
    found = fer(image, return_face=True, return_reconstruction=occluder == "none", **options)
    if not found:
        return []
    grid = found[0]["occlusion_mask"].shape[0]
    if occluder != "none":
        faces = [add_occluder(face["face"], occluder, ratio, seed + index, grid) for index, face in enumerate(found)]
        rerun = fer(faces, detector=None, return_face=True)
        found = [{**face, **again[0], "box": face["box"], "face_score": face["face_score"]}
                 for face, again in zip(found, rerun, strict=True)]  # fmt: skip
    results = []
    for face in found:
        box = face["box"]
        results.append(
            FaceAnalysis(
                box=(int(box["xmin"]), int(box["ymin"]), int(box["xmax"]), int(box["ymax"])),
                face_score=float(face["face_score"]) if detect and scored else None,
                label=face["label"],
                scores={entry["label"]: float(entry["score"]) for entry in face["scores"]},
                occlusion_ratio=float(face["occlusion_ratio"]),
                occlusion_mask=np.asarray(face["occlusion_mask"], dtype=bool),
                face=face["face"],
                reconstruction=face.get("reconstruction"),
            )
        )
    return results


__all__ = ["FaceAnalysis", "OCCLUDER_CHOICES", "add_occluder", "analyze_image"]
