"""FED-RO (Facial Expression Dataset with Real Occlusions) loader.

Li, Zeng, Shan & Chen, "Occlusion Aware Facial Expression Recognition Using CNN With Attention Mechanism",
IEEE Transactions on Image Processing 28(5), 2019. 400 real-occlusion images, 7 expressions.
"""

from __future__ import annotations

import datasets

from ...models.common.labels import LabelOrder, canonical_label
from ...models.common.labels import label_order as resolve_label_order
from .common import LoadReport, PathLike, Sample, build_dataset, finish, read_lines, require_dir, require_file, where


def load_fedro(
    root: PathLike,
    list_file: PathLike,
    label_order: LabelOrder = "rafdb",
    *,
    source_order: LabelOrder | None,
    first_label: int = 0,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Load FED-RO from a list file as a Dataset (columns image, label), in list order.

    Layout::

        list_file      lines "<image path relative to root> <label>" (the path may contain spaces; the label is the
                       last field)
        root/<image path>

    A label is either an expression name ("happy", "Anger", ...) or an integer class id in ``source_order`` — the
    order the list uses, which the caller must state (there is no guessing; pass ``source_order=None`` for a list
    of names only). ``first_label`` is the integer of the first class (0, or 1 for 1-based codes such as RAF-DB's).
    Labels are converted by name into ``label_order``. Missing or unreadable images are skipped and counted.
    """
    root = require_dir(root, "FED-RO root")
    list_file = require_file(list_file, "FED-RO list file")
    source = None if source_order is None else resolve_label_order(source_order)
    samples = []
    for line, text in read_lines(list_file):
        location = where(list_file, line)
        fields = text.rsplit(maxsplit=1)
        if len(fields) != 2:
            raise ValueError(f"{location}: malformed line {text!r} (expected '<image path> <label>')")
        relative, token = fields
        try:
            code = int(token)
        except ValueError:
            code = None
        if code is not None:
            if source is None:
                raise ValueError(
                    f"{location}: integer label {token!r} but source_order=None; state the order the "
                    f"list uses (e.g. source_order='rafdb', first_label=1)"
                )
            if not 0 <= code - first_label < len(source):
                raise ValueError(
                    f"{location}: unknown label {token!r} (expected an integer in "
                    f"{first_label}..{first_label + len(source) - 1} or an expression name)"
                )
            name = source[code - first_label]
        else:
            try:
                name = canonical_label(token)
            except ValueError:
                raise ValueError(f"{location}: unknown label {token!r} (not an expression name)") from None
        samples.append(Sample(path=root / relative, label=name, where=location, key=relative))
    report = LoadReport()
    dataset = build_dataset(
        samples,
        label_order=label_order,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name="FED-RO",
    )
    return finish(dataset, report, return_report)
