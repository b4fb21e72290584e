"""RAF-DB (basic emotions) loader.

Li, Deng & Du, "Reliable Crowdsourcing and Deep Locality-Preserving Learning for Expression Recognition in the Wild",
CVPR 2017 (http://www.whdeng.cn/raf/model1.html).
"""

from __future__ import annotations

from pathlib import Path

import datasets

from ...models.common.labels import RAFDB_7, LabelOrder
from .common import (
    LoadReport,
    PathLike,
    Sample,
    build_dataset,
    finish,
    parse_code,
    read_lines,
    require_dir,
    require_file,
    where,
)

RAFDB_SPLITS: tuple[str, ...] = ("train", "test")
#: RAF-DB ``list_patition_label.txt`` codes → canonical names (code 1 = surprise ... 7 = neutral).
RAFDB_CODES: dict[int, str] = {code: name for code, name in enumerate(RAFDB_7, start=1)}
RAFDB_LABEL_FILE = Path("EmoLabel") / "list_patition_label.txt"


def rafdb_key(name: str) -> str:
    """The image id of a RAF-DB file name or path: ``Image/aligned/test_0003_aligned.jpg`` → ``test_0003``."""
    stem = Path(name.replace("\\", "/")).name
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return stem[: -len("_aligned")] if stem.endswith("_aligned") else stem


def read_rafdb(root: PathLike, split: str | None, aligned: bool = True) -> list[Sample]:
    """The RAF-DB samples of ``split`` (None: both) in list-file order, labels as canonical names, images unchecked."""
    root = require_dir(root, "RAF-DB root")
    if split is not None and split not in RAFDB_SPLITS:
        raise ValueError(f"RAF-DB split must be one of {RAFDB_SPLITS}, got {split!r}")
    label_file = require_file(root / RAFDB_LABEL_FILE, "RAF-DB label list")
    image_dir = require_dir(
        root / "Image" / ("aligned" if aligned else "original"),
        f"RAF-DB {'aligned' if aligned else 'original'} image directory",
    )
    samples = []
    for line, text in read_lines(label_file):
        location = where(label_file, line)
        fields = text.split()
        if len(fields) != 2:
            raise ValueError(f"{location}: malformed line {text!r} (expected '<image name> <label 1..7>')")
        name, token = fields
        sample_split = next((s for s in RAFDB_SPLITS if name.startswith(f"{s}_")), None)
        if sample_split is None:
            raise ValueError(
                f"{location}: malformed line {text!r} (the image name must start with 'train_' or 'test_')"
            )
        code = parse_code(token, RAFDB_CODES, location)
        if split is not None and sample_split != split:
            continue
        if aligned:
            stem, dot, suffix = name.rpartition(".")
            file_name = f"{stem}_aligned.{suffix}" if dot else f"{name}_aligned"
        else:
            file_name = name
        samples.append(
            Sample(
                path=image_dir / file_name,
                label=RAFDB_CODES[code],
                where=location,
                meta={"split": sample_split},
                key=rafdb_key(name),
            )
        )
    return samples


def load_rafdb(
    root: PathLike,
    split: str = "train",
    label_order: LabelOrder = "rafdb",
    aligned: bool = True,
    *,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Load the RAF-DB basic-emotion ``split`` ("train" or "test") as a Dataset (columns image, label, split).

    Layout (as distributed)::

        root/EmoLabel/list_patition_label.txt     lines "train_00001.jpg 5" (codes 1..7: surprise, fear, disgust,
                                                  happy, sad, angry, neutral); split = the train_/test_ prefix
        root/Image/aligned/train_00001_aligned.jpg   (aligned=True)
        root/Image/original/train_00001.jpg          (aligned=False)

    Labels are converted by name into ``label_order``. Missing or unreadable images are skipped and counted
    (``return_report=True`` returns ``(dataset, LoadReport)``); ``check_images`` is "verify", "decode" or "none".
    """
    samples = read_rafdb(root, split, aligned)
    report = LoadReport()
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features={"split": datasets.Value("string")},
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name=f"RAF-DB {split}",
    )
    return finish(dataset, report, return_report)
