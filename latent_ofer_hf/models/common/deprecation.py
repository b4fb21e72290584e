"""Old public names kept importable for one release (0.1.x), with a FutureWarning naming the new one."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

REMOVED_IN = "0.2"


def deprecated_aliases(module_name: str, aliases: Mapping[str, tuple[str, object]]) -> Callable[[str], object]:
    """A module ``__getattr__`` that serves ``aliases`` (old name → (new name, object)) with a FutureWarning."""

    def __getattr__(name: str) -> object:
        if name in aliases:
            new_name, value = aliases[name]
            warnings.warn(
                f"{module_name}.{name} is deprecated and will be removed in {REMOVED_IN}; use {new_name}",
                FutureWarning,
                stacklevel=2,
            )
            return value
        raise AttributeError(f"module {module_name!r} has no attribute {name!r}")

    return __getattr__


__all__ = ["deprecated_aliases"]
