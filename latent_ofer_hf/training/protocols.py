"""The occlusion protocols a training stage draws its occluded faces from, and their ``name:weight`` flag syntax
(``--reconstructor_masks``, ``--detector_masks``)."""

from __future__ import annotations

#: Training-time protocols: `seen` occluder families pasted, random black patches, free-form strokes.
PROTOCOLS = ("seen", "random_patch", "free_form")


def parse_protocols(spec: str) -> dict[str, float]:
    """``"seen:0.5,random_patch:0.25"`` → ``{"seen": 0.5, "random_patch": 0.25}`` (weights need not sum to 1)."""
    weights = {}
    for part in spec.split(","):
        name, _, weight = part.strip().partition(":")
        if name not in PROTOCOLS:
            raise ValueError(f"unknown occlusion protocol {name!r} in {spec!r}; choose from {PROTOCOLS}")
        try:
            weights[name] = float(weight) if weight else 1.0
        except ValueError:
            raise ValueError(f"bad weight {weight!r} for {name} in {spec!r}") from None
        if weights[name] < 0:
            raise ValueError(f"weight of {name} must be >= 0 in {spec!r}")
    if not sum(weights.values()) > 0:
        raise ValueError(f"no positive protocol weight in {spec!r}")
    return weights


__all__ = ["PROTOCOLS", "parse_protocols"]
