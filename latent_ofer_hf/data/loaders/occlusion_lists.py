"""Occlusion-RAF-DB and Occlusion-AffectNet: RAN's index lists applied to the RAF-DB test split / AffectNet
validation set.

Wang, Peng, Yang, Meng & Qiao, "Region Attention Networks for Pose and Occlusion Robust Facial Expression
Recognition", IEEE TIP 2020; lists from https://github.com/kaiwang960112/Challenge-condition-FER-dataset.

Line formats accepted (whitespace separated; blank lines ignored)::

    <image> <expression label> <occlusion type>     e.g. RAF_DB_dir/rafdb_occlusion_list.txt: "test_0003_aligned 3 4"
    <image> <expression label>
    <image>                                          e.g. AffectNet_dir/occlusion_affectnet_list.txt:
                                                          "val/0/bc9ad4...d0378/" (label = the folder after "val")

An image is matched to the base set by its id: the file name without extension (and, for RAF-DB, without
``_aligned``). The ``occlusion_type`` column is the list's third field, or -1 where the list has none.

Label conventions (checked against the published lists): RAF-DB lists use 0..6 = RAF-DB code minus 1 (0 surprise
... 6 neutral; ``list_label_base=1`` for lists in RAF-DB's own 1..7 codes); AffectNet lists use AffectNet codes 0..7.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

import datasets

from ...models.common.labels import RAFDB_7, LabelOrder
from .affectnet import (
    AFFECTNET_CODES,
    AFFECTNET_META_FEATURES,
    affectnet_key,
    kept_codes,
    read_affectnet,
)
from .common import (
    NO_OCCLUSION_TYPE,
    LoadReport,
    PathLike,
    Sample,
    build_dataset,
    finish,
    read_lines,
    require_file,
    where,
)
from .rafdb import rafdb_key, read_rafdb


def _parse_list(list_file: Path) -> list[tuple[str, int, str, str | None, int]]:
    """``(location, line, image, label token or None, occlusion type)`` per non-empty line."""
    entries = []
    for line, text in read_lines(list_file):
        location = where(list_file, line)
        fields = text.split()
        if len(fields) > 3:
            raise ValueError(
                f"{location}: malformed line {text!r} (expected '<image> [<expression> [<occlusion type>]]')"
            )
        occlusion = NO_OCCLUSION_TYPE
        if len(fields) == 3:
            try:
                occlusion = int(fields[2])
            except ValueError:
                raise ValueError(
                    f"{location}: malformed line {text!r} (occlusion type {fields[2]!r} is not an integer)"
                ) from None
        entries.append((location, line, fields[0], fields[1] if len(fields) >= 2 else None, occlusion))
    return entries


def _list_code(token: str, valid: range, location: str, convention: str) -> int:
    try:
        code = int(token)
    except ValueError:
        code = None
    if code is None or code not in valid:
        raise ValueError(f"{location}: unknown label {token!r} (expected {convention} {valid.start}..{valid.stop - 1})")
    return code


def load_occlusion_rafdb(
    rafdb_root: PathLike,
    list_file: PathLike,
    label_order: LabelOrder = "rafdb",
    *,
    aligned: bool = True,
    check_labels: bool = True,
    list_label_base: int = 0,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Occlusion-RAF-DB: the RAF-DB test images named in ``list_file``, in list order, with ``occlusion_type``.

    ``rafdb_root`` has the layout of :func:`~latent_ofer_hf.data.loaders.rafdb.load_rafdb`. A listed image absent
    from the RAF-DB test split raises ValueError naming ``list_file:line``. The label comes from RAF-DB; with
    ``check_labels`` the list's expression label (RAF-DB order, ``list_label_base`` = the code of surprise: 0 in
    RAN's lists) must agree, else ValueError naming the line. A repeated image is kept once (counted in
    ``LoadReport.excluded``). Listed images whose file is missing or unreadable are skipped and counted.
    Columns: image, label, split, occlusion_type.
    """
    base = {sample.key: sample for sample in read_rafdb(rafdb_root, "test", aligned)}
    list_file = require_file(list_file, "occlusion list")
    valid = range(list_label_base, list_label_base + len(RAFDB_7))
    report = LoadReport()
    samples, seen = [], set()
    for location, _, image, token, occlusion in _parse_list(list_file):
        key = rafdb_key(image)
        if key not in base:
            raise ValueError(f"{location}: image {image!r} is not in the RAF-DB test split of {rafdb_root}")
        sample = base[key]
        if check_labels and token is not None:
            code = _list_code(token, valid, location, "an RAF-DB label in")
            listed = RAFDB_7[code - list_label_base]
            if listed != sample.label:
                raise ValueError(
                    f"{location}: list label {token} ({listed}) disagrees with RAF-DB's label "
                    f"{sample.label!r} ({sample.where}); pass check_labels=False to use RAF-DB's"
                )
        if key in seen:
            report.exclude("duplicate list entry")
            continue
        seen.add(key)
        samples.append(
            Sample(
                path=sample.path,
                label=sample.label,
                where=location,
                meta={**sample.meta, "occlusion_type": occlusion},
                key=key,
            )
        )
    features = {"split": datasets.Value("string"), "occlusion_type": datasets.Value("int32")}
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features=features,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name=f"Occlusion-RAF-DB {list_file}",
    )
    return finish(dataset, report, return_report)


def _label_from_ran_path(image: str) -> str | None:
    """The expression folder of RAN's AffectNet list paths (``val/<code>/<id>/``), else None: AffectNet's own
    ``<subDirectory>/<file>`` paths carry no label (their numbered folders are not expression codes)."""
    parts = PurePosixPath(image.replace("\\", "/").rstrip("/")).parts
    pairs = zip(parts, parts[1:], strict=False)
    return next((code for before, code in pairs if before == "val" and code.isdigit()), None)


def load_occlusion_affectnet(
    affectnet_root: PathLike,
    list_file: PathLike,
    label_order: LabelOrder | None = None,
    *,
    num_classes: int = 8,
    check_labels: bool = True,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Occlusion-AffectNet: the AffectNet validation images named in ``list_file``, in list order, with
    ``occlusion_type`` (-1: RAN's AffectNet list gives none).

    ``affectnet_root`` has the layout of :func:`~latent_ofer_hf.data.loaders.affectnet.load_affectnet`. A listed
    image absent from ``validation.csv`` raises ValueError naming ``list_file:line``. The label comes from AffectNet;
    with ``check_labels`` the list's label (second field, or the ``val/<code>/`` folder of RAN's paths; AffectNet
    codes 0..7) must agree. ``num_classes`` defaults to 8 because RAN's list includes contempt; with 7, listed
    contempt images are excluded and counted. ``label_order`` defaults to "affectnet<num_classes>".
    """
    keep = kept_codes(num_classes)
    if label_order is None:
        label_order = f"affectnet{num_classes}"
    base = {}
    for row in read_affectnet(affectnet_root, "validation"):
        base.setdefault(row.sample.key, row)
    list_file = require_file(list_file, "occlusion list")
    report = LoadReport()
    samples, seen = [], set()
    for location, _, image, token, occlusion in _parse_list(list_file):
        key = affectnet_key(image)
        if key not in base:
            raise ValueError(f"{location}: image {image!r} is not in the AffectNet validation set of {affectnet_root}")
        row = base[key]
        if token is None:
            token = _label_from_ran_path(image)
        if check_labels and token is not None:
            code = _list_code(token, range(8), location, "an AffectNet expression code in")
            if code != row.code:
                raise ValueError(
                    f"{location}: list label {code} ({AFFECTNET_CODES[code]}) disagrees with "
                    f"AffectNet's label {row.code} ({AFFECTNET_CODES[row.code]}, {row.sample.where}); "
                    f"pass check_labels=False to use AffectNet's"
                )
        if key in seen:
            report.exclude("duplicate list entry")
            continue
        seen.add(key)
        if row.code not in keep:
            report.exclude(f"expression {row.code} ({AFFECTNET_CODES[row.code]})")
            continue
        samples.append(
            Sample(
                path=row.sample.path,
                label=row.sample.label,
                where=location,
                meta={**row.sample.meta, "occlusion_type": occlusion},
                key=key,
            )
        )
    features = {**AFFECTNET_META_FEATURES, "occlusion_type": datasets.Value("int32")}
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features=features,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name=f"Occlusion-AffectNet {list_file}",
    )
    return finish(dataset, report, return_report)
