"""The value rules the components' configs share, each written once; the configs' ``validate_*`` methods call them.

Configs are ``@strict`` dataclasses (as transformers 5's own): field types are checked on assignment, and the
``validate_*`` methods run after ``__init__``, on ``config.validate()`` and before ``save_pretrained``. Each config's
``__post_init__`` ends with :func:`run_validators`, so a bad value raises a plain ``ValueError`` that names the field
while the config is built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def require_positive_ints(config: object, *names: str) -> None:
    """Each named field is an int > 0."""
    for name in names:
        value = getattr(config, name)
        if not _is_int(value) or value <= 0:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def require_non_negative(config: object, *names: str) -> None:
    """Each named field is a finite number ≥ 0."""
    for name in names:
        value = getattr(config, name)
        if not _is_number(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def require_positive(config: object, *names: str) -> None:
    """Each named field is a finite number > 0."""
    for name in names:
        value = getattr(config, name)
        if not _is_number(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def require_choice(config: object, name: str, choices: Sequence[object]) -> None:
    """The named field is one of ``choices``."""
    value = getattr(config, name)
    if value not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")


def require_positive_int_list(config: object, name: str, *, allow_empty: bool = False) -> None:
    """The named field is a list of ints > 0 (non-empty unless ``allow_empty``)."""
    value = getattr(config, name)
    if (
        not isinstance(value, (list, tuple))
        or not all(_is_int(v) and v > 0 for v in value)
        or (not value and not allow_empty)
    ):
        kind = "a list of positive integers" + (" (may be empty)" if allow_empty else ", not empty")
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def require_rgb_statistics(config: object, *names: str, positive: bool = False) -> None:
    """Each named field holds 3 finite numbers (one per RGB channel), > 0 when ``positive``."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(v) for v in value):
            raise ValueError(f"{name} must hold 3 numbers (RGB), got {value!r}")
        if positive and min(value) <= 0:
            raise ValueError(f"{name} must be positive, got {list(value)}")


class ModelTypeChecked:
    """Config mixin: a saved config of another model type (a system's ``recognizer/`` loaded as its ``vit/``, say) is
    a ValueError naming both, where transformers would warn and build the model from the wrong fields, leaving
    random weights."""

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs: object):
        found, wanted = config_dict.get("model_type"), getattr(cls, "model_type", None)
        if found is not None and wanted and found != wanted:
            raise ValueError(
                f"a saved {found!r} config cannot be loaded as {cls.__name__} ({wanted!r}); a Latent-OFER system's "
                "folder holds its components in vit/, detector/, reconstructor/ and recognizer/"
            )
        return super().from_dict(config_dict, **kwargs)


def run_validators(config: object) -> None:
    """Run every ``validate_*`` method of ``config`` now (``@strict`` runs them again after ``__init__``)."""
    for validator in type(config).__class_validators__:
        validator(config)


__all__ = [
    "ModelTypeChecked",
    "require_choice",
    "require_non_negative",
    "require_positive",
    "require_positive_int_list",
    "require_positive_ints",
    "require_rgb_statistics",
    "run_validators",
]
