"""Hub ("remote code") export: flat copies of a component's module files beside its ``config.json``.

transformers' own ``custom_object_save`` only follows ``from .module import`` statements of the *same* folder, while
this package keeps one folder per component (detect → reconstruct → recognise). On ``save_pretrained`` the
:class:`HubCodeMixin` therefore copies the class's module and, recursively, every module it imports relatively, into
the save directory as flat siblings, rewriting ``from ..common.input_checks import x`` into
``from .input_checks import x``. The saved directory then loads with ``trust_remote_code=True`` without this package.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import sys
from contextlib import contextmanager
from pathlib import Path

#: the from_pretrained options that say where a checkpoint's files are (the rest configure the model)
HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "proxies", "revision", "subfolder", "token")

_IMPORT_HEAD = re.compile(r"from\s+\.+[\w.]*\s+import")


def _relative_imports(path: Path) -> list[tuple[int, Path]]:
    """``(line number, resolved file)`` for every ``from .x import y`` statement of a module file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            if node.module is None:
                raise ValueError(
                    f"{path}:{node.lineno}: `from . import name` cannot be flattened; import from a module"
                )
            base = path.parent
            for _ in range(node.level - 1):
                base = base.parent
            target = base.joinpath(*node.module.split(".")).with_suffix(".py")
            if not target.is_file():
                raise ValueError(f"{path}:{node.lineno}: relative import of a package or missing file: {target}")
            found.append((node.lineno, target))
    return found


def collect_module_files(module_file: str | os.PathLike) -> dict[str, Path]:
    """All files a module needs through relative imports (itself included), keyed by their flat file name."""
    todo, files = [Path(module_file).resolve()], {}
    while todo:
        path = todo.pop()
        if files.get(path.name) == path:
            continue
        if path.name in files:
            raise ValueError(f"two modules share the file name {path.name!r}: {files[path.name]} and {path}")
        files[path.name] = path
        todo.extend(target.resolve() for _, target in _relative_imports(path))
    return files


def flatten_source(path: Path) -> str:
    """The source of ``path`` with every relative import rewritten to a same-folder import."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for lineno, target in _relative_imports(path):
        line = lines[lineno - 1]
        if not _IMPORT_HEAD.search(line):
            raise ValueError(f"{path}:{lineno}: write relative imports as `from .x import y` on one line head")
        lines[lineno - 1] = _IMPORT_HEAD.sub(f"from .{target.stem} import", line, count=1)
    return "".join(lines)


def write_flat_modules(obj_or_cls: object, save_directory: str | os.PathLike) -> list[Path]:
    """Write flat copies of the module defining ``obj_or_cls`` and of its relative imports; return the files."""
    cls = obj_or_cls if inspect.isclass(obj_or_cls) else type(obj_or_cls)
    module_file = sys.modules[cls.__module__].__file__
    out = []
    for name, path in collect_module_files(module_file).items():
        dest = Path(save_directory) / name
        dest.write_text(flatten_source(path), encoding="utf-8")
        out.append(dest)
    return out


def auto_map_entry(cls: type) -> str:
    """``"module_file_stem.ClassName"`` as ``auto_map`` wants it (flat files, so only the last module part)."""
    return f"{cls.__module__.rsplit('.', 1)[-1]}.{cls.__name__}"


@contextmanager
def _auto_class_suspended(*classes: type):
    saved = [cls.__dict__.get("_auto_class", None) for cls in classes]
    try:
        for cls in classes:
            cls._auto_class = None
        yield
    finally:
        for cls, value in zip(classes, saved, strict=True):
            if value is None:
                if "_auto_class" in cls.__dict__:
                    del cls._auto_class
            else:
                cls._auto_class = value


class HubCodeMixin:
    """Mix into a ``PreTrainedModel``: after ``register_for_auto_class()``, ``save_pretrained`` writes flat code files.

    ``auto_map`` gets the model's Auto class and ``AutoConfig``; transformers' own (same-folder only) copier is
    bypassed for this one call.
    """

    def save_pretrained(self, save_directory: str | os.PathLike, *args, **kwargs):
        model_cls, config_cls = type(self), type(self.config)
        auto_class = model_cls._auto_class
        if auto_class is None:
            return super().save_pretrained(save_directory, *args, **kwargs)
        auto_map = dict(getattr(self.config, "auto_map", None) or {})
        auto_map["AutoConfig"] = auto_map_entry(config_cls)
        for name in (*getattr(model_cls, "hub_auto_classes", ()), auto_class):  # every Auto class it serves
            auto_map[name] = auto_map_entry(model_cls)
        self.config.auto_map = auto_map
        with _auto_class_suspended(model_cls, config_cls):
            result = super().save_pretrained(save_directory, *args, **kwargs)
        if kwargs.get("is_main_process", True):
            write_flat_modules(model_cls, save_directory)
            write_flat_modules(config_cls, save_directory)
        return result
