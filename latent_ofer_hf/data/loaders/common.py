"""Shared pieces of the FER data-set loaders: the load report, path and image checks, list-file reading, and the one
step that turns label-named samples into a ``datasets.Dataset`` in a caller-chosen label order.

Every loader collects :class:`Sample` records whose ``label`` is a canonical expression name (the source code has
already been converted by name); :func:`build_dataset` maps that name to its index in the target order, checks each
image with PIL and skips (and counts) the unreadable ones.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
from PIL import Image, UnidentifiedImageError

from ...models.common.labels import LabelOrder
from ...models.common.labels import label_order as resolve_label_order

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
CHECK_MODES: tuple[str, ...] = ("verify", "decode", "none")
NO_OCCLUSION_TYPE = -1

PathLike = str | os.PathLike


@dataclass
class LoadReport:
    """What a loader did: ``loaded`` rows, ``skipped`` ``(path, reason)`` pairs (unreadable or missing images, files
    whose names do not fit the layout) and ``excluded`` counts (samples dropped on purpose, e.g. by protocol)."""

    loaded: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)

    def skip(self, path: PathLike, reason: str) -> None:
        self.skipped.append((str(path), reason))

    def exclude(self, reason: str, count: int = 1) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + count

    def summary(self) -> str:
        parts = [f"{self.loaded} loaded", f"{len(self.skipped)} skipped"]
        if self.excluded:
            parts.append("excluded: " + ", ".join(f"{key}: {value}" for key, value in sorted(self.excluded.items())))
        return "; ".join(parts)


@dataclass
class Sample:
    """One image before the label order is applied: ``label`` is a canonical name, ``where`` says where it came from
    (``file:line`` or the image path) for error messages, ``meta`` holds the extra columns."""

    path: Path
    label: str
    where: str
    meta: dict[str, Any] = field(default_factory=dict)
    key: str = ""


def require_dir(path: PathLike, what: str) -> Path:
    """``path`` as a Path; FileNotFoundError naming it if it is not a directory."""
    path = Path(path)
    if not path.is_dir():
        state = "is not a directory" if path.exists() else "not found"
        raise FileNotFoundError(f"{what} {state}: {path}")
    return path


def require_file(path: PathLike, what: str) -> Path:
    """``path`` as a Path; FileNotFoundError naming it if it is not a file."""
    path = Path(path)
    if not path.is_file():
        state = "is not a file" if path.exists() else "not found"
        raise FileNotFoundError(f"{what} {state}: {path}")
    return path


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, stripped text)`` of each non-empty line (1-based numbers; a UTF-8 BOM is ignored)."""
    with open(path, encoding="utf-8-sig") as handle:
        try:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if text:
                    yield number, text
        except UnicodeDecodeError as error:  # a binary or mis-encoded list (read in blocks: no line number)
            raise ValueError(f"{path}: not UTF-8 text ({error.reason})") from None


def where(path: Path, line: int) -> str:
    return f"{path}:{line}"


def parse_code(token: str, valid: range | Mapping[int, Any], location: str) -> int:
    """An integer label code from ``token``; ValueError ``file:line: unknown label '9'`` if not an int in ``valid``."""
    try:
        code = int(token)
    except ValueError:
        code = None
    if code is None or code not in valid:
        known = f"{min(valid)}..{max(valid)}" if isinstance(valid, range) else ", ".join(map(str, sorted(valid)))
        raise ValueError(f"{location}: unknown label {token!r} (expected an integer code in {known})")
    return code


def resolve_check_mode(check_images: str | bool) -> str:
    if check_images is True:
        return "verify"
    if check_images is False:
        return "none"
    if check_images not in CHECK_MODES:
        raise ValueError(f"check_images must be one of {CHECK_MODES} (or a bool), got {check_images!r}")
    return check_images


def image_problem(path: PathLike, mode: str = "verify") -> str | None:
    """Why ``path`` cannot be used as an image, or None if it can.

    ``mode="verify"`` opens the file and runs ``PIL.Image.verify`` (cheap: header and, for PNG, chunk checksums);
    ``"decode"`` decodes every pixel (also catches truncated JPEG data, slower); ``"none"`` only checks the file
    exists. PIL's ``MAX_IMAGE_PIXELS`` decompression-bomb limit applies: its warning is treated as an error here.
    """
    path = Path(path)
    if not path.is_file():
        return "missing file" if not path.exists() else "not a regular file"
    try:
        size = path.stat().st_size
    except OSError as error:
        return f"cannot stat file: {error}"
    if size == 0:
        return "empty file (0 bytes)"
    if mode == "none":
        return None
    try:
        with Image.open(path) as image:  # (no warning filters: they are process-wide and not thread-safe)
            if Image.MAX_IMAGE_PIXELS and image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombWarning(
                    f"{image.width * image.height} pixels exceeds PIL's limit of {Image.MAX_IMAGE_PIXELS}"
                )
            if mode == "decode":
                image.load()
            else:
                image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        return f"decompression bomb: {error}"
    except UnidentifiedImageError:
        return "not an image (PIL cannot identify it)"
    except Exception as error:  # any decoder failure means: skip this file, never crash the load
        return f"corrupt image: {type(error).__name__}: {error}"
    return None


def label_feature(order: LabelOrder) -> datasets.ClassLabel:
    """The ``label`` column's ClassLabel for a label order (canonical names, index = class id)."""
    return datasets.ClassLabel(names=list(resolve_label_order(order)))


def build_dataset(
    samples: list[Sample],
    *,
    label_order: LabelOrder,
    meta_features: Mapping[str, Any] | None = None,
    report: LoadReport,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    name: str = "dataset",
    mask_column: str | None = None,
) -> datasets.Dataset:
    """Map each sample's label name into ``label_order``, check its image, and build the Dataset.

    A class absent from the target order raises ValueError naming the sample's ``file:line`` unless
    ``drop_unmapped`` (then it is counted in ``report.excluded``). Unreadable images are skipped and counted in
    ``report.skipped``, and one warning summarises them. ``mask_column`` names a ``meta`` entry holding a mask image
    path that must be readable too. An image listed twice (the same ``key``, else path) is kept once and counted when
    both entries agree, and raises ValueError naming both places when their labels differ; no usable image at all
    raises ValueError too (never an empty data set handed on to training).
    """
    names = resolve_label_order(label_order)
    index_of = {label: index for index, label in enumerate(names)}
    mode = resolve_check_mode(check_images)
    meta_features = dict(meta_features or {})
    columns: dict[str, list] = {"image": [], "label": [], **{key: [] for key in meta_features}}
    seen: dict[str, Sample] = {}
    for sample in samples:
        identity = sample.key or str(sample.path)
        if (first := seen.get(identity)) is not None:
            if first.label != sample.label:
                raise ValueError(
                    f"{sample.where}: {identity} is labelled {sample.label!r} here but {first.label!r} at "
                    f"{first.where}: one label per image"
                )
            report.exclude("listed twice (same image, same label)")
            continue
        seen[identity] = sample
        if sample.label not in index_of:
            if drop_unmapped:
                report.exclude(f"class '{sample.label}' not in the label order")
                continue
            raise ValueError(
                f"{sample.where}: class {sample.label!r} is not in the target label order {names}; "
                "choose another label_order or pass drop_unmapped=True to drop such samples (from train.py or "
                "latent-ofer, move that class out of the data folder)"
            )
        problem = image_problem(sample.path, mode)
        if problem is not None:
            report.skip(sample.path, problem)
            continue
        if mask_column is not None:
            mask_problem = image_problem(sample.meta[mask_column], mode)
            if mask_problem is not None:
                report.skip(sample.meta[mask_column], f"occlusion mask of {sample.path}: {mask_problem}")
                continue
        columns["image"].append(str(sample.path))
        columns["label"].append(index_of[sample.label])
        for key in meta_features:
            value = sample.meta.get(key)
            columns[key].append(str(value) if isinstance(value, Path) else value)
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=list(names)), **meta_features}
    )
    dataset = datasets.Dataset.from_dict(columns, features=features)
    report.loaded = len(dataset)
    log_report(report, name)
    if len(dataset) == 0:
        why = f"{len(samples)} listed"
        if report.skipped:
            path, reason = report.skipped[0]
            why += f", {len(report.skipped)} skipped (first: {path}: {reason})"
        if report.excluded:
            why += ", excluded: " + ", ".join(f"{key}: {value}" for key, value in sorted(report.excluded.items()))
        raise ValueError(f"{name}: no usable image ({why})")
    return dataset


def log_report(report: LoadReport, name: str) -> None:
    """One warning summarising skipped files (by reason, with the first few paths); excluded counts at INFO."""
    if report.skipped:
        reasons = Counter(reason.split(":")[0] for _, reason in report.skipped)
        first = "; ".join(f"{path} ({reason})" for path, reason in report.skipped[:3])
        logger.warning(
            "%s: skipped %d file(s) [%s]; first: %s%s",
            name,
            len(report.skipped),
            ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items())),
            first,
            " ..." if len(report.skipped) > 3 else "",
        )
    if report.excluded:
        logger.info("%s: excluded %s", name, ", ".join(f"{k}: {v}" for k, v in sorted(report.excluded.items())))


def finish(dataset: datasets.Dataset, report: LoadReport, return_report: bool):
    return (dataset, report) if return_report else dataset
