"""AffectNet (manually annotated) loader.

Mollahosseini, Hasani & Mahoor, "AffectNet: A Database for Facial Expression, Valence, and Arousal Computing in the
Wild", IEEE Transactions on Affective Computing 2017 (http://mohammadmahoor.com/affectnet/).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import PurePosixPath

import datasets

from ...models.common.labels import AFFECTNET_8, LabelOrder
from .common import LoadReport, PathLike, Sample, build_dataset, finish, parse_code, require_dir, require_file, where

AFFECTNET_SPLITS: dict[str, str] = {"train": "training.csv", "validation": "validation.csv"}
AFFECTNET_SPLIT_ALIASES: dict[str, str] = {"training": "train", "val": "validation", "valid": "validation"}
#: AffectNet ``expression`` codes; 8..10 are not expressions and never loaded.
AFFECTNET_CODES: dict[int, str] = {
    **dict(enumerate(AFFECTNET_8)),
    8: "none",
    9: "uncertain",
    10: "no-face",
}
AFFECTNET_COLUMNS: tuple[str, ...] = (
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
)
AFFECTNET_IMAGE_DIR = "Manually_Annotated_Images"


@dataclass
class AffectNetRow:
    """One CSV row: ``code`` is the raw expression code (0..10)."""

    sample: Sample
    code: int


def affectnet_key(name: str) -> str:
    """The image id of an AffectNet path: ``689/737db2...ca.jpg`` or ``val/0/737db2...ca/`` → ``737db2...ca``."""
    last = PurePosixPath(name.replace("\\", "/").rstrip("/")).name
    return last.rsplit(".", 1)[0] if "." in last else last


def affectnet_split(split: str) -> str:
    split = AFFECTNET_SPLIT_ALIASES.get(split, split)
    if split not in AFFECTNET_SPLITS:
        raise ValueError(f"AffectNet split must be one of {tuple(AFFECTNET_SPLITS)}, got {split!r}")
    return split


def kept_codes(num_classes: int) -> range:
    """The expression codes the AffectNet protocol keeps: 0..6 for 7 classes, 0..7 (with contempt) for 8."""
    if num_classes not in (7, 8):
        raise ValueError(f"AffectNet num_classes must be 7 or 8, got {num_classes!r}")
    return range(num_classes)


def _float(value: str, location: str, column: str) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{location}: malformed {column} value {value!r} (expected a number)") from None


def _field(fields: list[str], columns: dict[str, int], name: str) -> str | None:
    index = columns.get(name)
    return fields[index] if index is not None and index < len(fields) else None


def read_affectnet(root: PathLike, split: str) -> list[AffectNetRow]:
    """Every row of the split's CSV in file order (all codes 0..10), images unchecked.

    The CSV may start with the header row; without one the columns are taken in the standard order
    ``subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks, expression, valence, arousal``.
    """
    root = require_dir(root, "AffectNet root")
    split = affectnet_split(split)
    csv_file = require_file(root / AFFECTNET_SPLITS[split], f"AffectNet {split} CSV")
    image_dir = require_dir(root / AFFECTNET_IMAGE_DIR, "AffectNet image directory")
    rows = []
    with open(csv_file, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        columns = {name: index for index, name in enumerate(AFFECTNET_COLUMNS)}
        first = True
        for fields in reader:
            location = where(csv_file, reader.line_num)
            if not fields or all(not value.strip() for value in fields):
                continue
            if first:
                first = False
                if fields[0].strip() == AFFECTNET_COLUMNS[0]:
                    columns = {name.strip(): index for index, name in enumerate(fields)}
                    if "expression" not in columns:
                        raise ValueError(f"{location}: the header has no 'expression' column: {fields}")
                    continue
            needed = max(columns["subDirectory_filePath"], columns["expression"]) + 1
            if len(fields) < needed:
                raise ValueError(
                    f"{location}: malformed row with {len(fields)} field(s) (expected at least {needed}: "
                    f"{', '.join(AFFECTNET_COLUMNS)})"
                )
            relative = _field(fields, columns, "subDirectory_filePath").strip()
            if not relative:
                raise ValueError(f"{location}: malformed row: empty subDirectory_filePath")
            code = parse_code(_field(fields, columns, "expression").strip(), AFFECTNET_CODES, location)
            box = [_field(fields, columns, name) for name in ("face_x", "face_y", "face_width", "face_height")]
            face_box = None
            if all(value is not None and value.strip() for value in box):
                face_box = [int(round(_float(value, location, "face box"))) for value in box]
            meta = {
                "split": split,
                "valence": _float(_field(fields, columns, "valence"), location, "valence"),
                "arousal": _float(_field(fields, columns, "arousal"), location, "arousal"),
                "face_box": face_box,
            }
            sample = Sample(
                path=image_dir / relative,
                label=AFFECTNET_CODES[code],
                where=location,
                meta=meta,
                key=affectnet_key(relative),
            )
            rows.append(AffectNetRow(sample=sample, code=code))
    return rows


def protocol_filter(rows: list[AffectNetRow], num_classes: int, report: LoadReport) -> list[Sample]:
    """Keep the protocol's expression codes; count the others in ``report.excluded`` (``"expression 8 (none)"``)."""
    keep = kept_codes(num_classes)
    samples = []
    for row in rows:
        if row.code in keep:
            samples.append(row.sample)
        else:
            report.exclude(f"expression {row.code} ({AFFECTNET_CODES[row.code]})")
    return samples


AFFECTNET_META_FEATURES = {
    "split": datasets.Value("string"),
    "valence": datasets.Value("float32"),
    "arousal": datasets.Value("float32"),
    "face_box": datasets.List(datasets.Value("int32"), length=4),
}


def load_affectnet(
    root: PathLike,
    split: str = "train",
    num_classes: int = 7,
    label_order: LabelOrder | None = None,
    *,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Load the manually annotated AffectNet ``split`` ("train" or "validation") as a Dataset.

    Layout (as distributed)::

        root/training.csv, root/validation.csv   header subDirectory_filePath,face_x,face_y,face_width,face_height,
                                                 facial_landmarks,expression,valence,arousal (header optional)
        root/Manually_Annotated_Images/<subDirectory_filePath>

    Expression codes: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt, 8 none,
    9 uncertain, 10 no-face. As in the AffectNet protocol, ``num_classes=7`` keeps codes 0..6 and ``8`` keeps 0..7;
    the rest are excluded and counted in ``LoadReport.excluded``. ``label_order`` defaults to "affectnet7" /
    "affectnet8"; labels are converted by name. Columns: image, label, split, valence, arousal, face_box
    ``[x, y, w, h]`` (None if the CSV lacks it). Missing or unreadable images are skipped and counted.
    """
    kept_codes(num_classes)
    if label_order is None:
        label_order = f"affectnet{num_classes}"
    split = affectnet_split(split)
    report = LoadReport()
    samples = protocol_filter(read_affectnet(root, split), num_classes, report)
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features=AFFECTNET_META_FEATURES,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name=f"AffectNet {split}",
    )
    return finish(dataset, report, return_report)
