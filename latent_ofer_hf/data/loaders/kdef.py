"""KDEF loader.

Lundqvist, Flykt & Öhman, "The Karolinska Directed Emotional Faces - KDEF", CD ROM, Karolinska Institutet, 1998
(https://kdef.se/). 70 subjects (35 female, 35 male), two sessions (A, B), 7 expressions, 5 views.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import datasets

from ...models.common.labels import LabelOrder, canonical_label
from .common import IMAGE_EXTENSIONS, LoadReport, PathLike, Sample, build_dataset, finish, require_dir

#: KDEF expression codes → canonical names.
KDEF_EXPRESSIONS: dict[str, str] = {
    "AF": canonical_label("afraid"),
    "AN": canonical_label("angry"),
    "DI": canonical_label("disgusted"),
    "HA": canonical_label("happy"),
    "NE": canonical_label("neutral"),
    "SA": canonical_label("sad"),
    "SU": canonical_label("surprised"),
}
#: Views: full left, half left, straight, half right, full right profile.
KDEF_VIEWS: tuple[str, ...] = ("FL", "HL", "S", "HR", "FR")
KDEF_SESSIONS: tuple[str, ...] = ("A", "B")
KDEF_NAME = re.compile(
    r"^(?P<session>[AB])(?P<gender>[FM])(?P<id>\d{2})(?P<expression>AF|AN|DI|HA|NE|SA|SU)(?P<view>FL|HL|HR|FR|S)$",
    re.IGNORECASE,
)
KDEF_SUBJECT = re.compile(r"^[AB]?(?P<gender>[FM])(?P<id>\d{1,2})$", re.IGNORECASE)
#: Fraction of each gender's subjects in the default test set (7 of 35 → the 56/14 split of the official code).
KDEF_TEST_FRACTION = 0.2


def _normalize_subject(subject: str) -> str:
    match = KDEF_SUBJECT.match(str(subject).strip())
    if match is None:
        raise ValueError(
            f"KDEF subject {subject!r} is not of the form 'F01' / 'M35' (optionally with the session letter, 'AF01')"
        )
    return f"{match['gender'].upper()}{int(match['id']):02d}"


def default_test_subjects(subjects: Iterable[str]) -> tuple[str, ...]:
    """The default test subjects: per gender, the highest-numbered fifth of the ids present (rounded, at least one
    when a gender has two or more subjects). For the full KDEF that is F29..F35 and M29..M35: 14 test, 56 train."""
    chosen: list[str] = []
    for gender in "FM":
        ids = sorted(s for s in set(subjects) if s.startswith(gender))
        count = round(len(ids) * KDEF_TEST_FRACTION)
        if len(ids) >= 2:
            count = max(count, 1)
        chosen.extend(ids[len(ids) - count :] if count else [])
    return tuple(sorted(chosen))


def load_kdef(
    root: PathLike,
    label_order: LabelOrder = "kdef",
    sessions: Iterable[str] = ("A",),
    views: Iterable[str] | None = None,
    split: str | None = None,
    test_subjects: Iterable[str] | None = None,
    *,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Load KDEF as a Dataset (columns image, label, subject "F01", session "A", view "S", split "train"/"test").

    Layout (as distributed)::

        root/AF01/AF01AFS.JPG    session (A/B) + gender (F/M) + id (01..35) + expression (AF afraid, AN angry,
                                 DI disgusted, HA happy, NE neutral, SA sad, SU surprised) + view (FL, HL, S, HR, FR)

    Every image file under ``root`` is considered (sorted by path; names case-insensitive); files whose name does
    not fit the pattern are skipped and counted. The official Latent-OFER code used session A, all five views and a
    subject-disjoint 56/14 split whose subject list is not published. Here ``split`` ("train" / "test" / None for
    all) uses ``test_subjects`` (ids such as "F01") when given, else :func:`default_test_subjects` of the subjects
    found (F29..F35 and M29..M35 for the full set) — a documented stand-in, not the paper's split.
    """
    root = require_dir(root, "KDEF root")
    session_set = {str(s).upper() for s in sessions}
    if not session_set or not session_set <= set(KDEF_SESSIONS):
        raise ValueError(f"KDEF sessions must be a non-empty subset of {KDEF_SESSIONS}, got {tuple(sessions)}")
    view_set = set(KDEF_VIEWS) if views is None else {str(v).upper() for v in views}
    if not view_set or not view_set <= set(KDEF_VIEWS):
        raise ValueError(f"KDEF views must be a non-empty subset of {KDEF_VIEWS}, got {views!r}")
    if split not in (None, "train", "test"):
        raise ValueError(f"KDEF split must be 'train', 'test' or None, got {split!r}")

    report = LoadReport()
    parsed = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        match = KDEF_NAME.match(path.stem)
        if path.suffix.lower() not in IMAGE_EXTENSIONS or match is None:
            report.skip(path, "file name does not match the KDEF pattern (e.g. AF01AFS.JPG)")
            continue
        parsed.append((path, match))
    subjects_present = {f"{m['gender'].upper()}{m['id']}" for _, m in parsed}
    if test_subjects is None:
        test_set = set(default_test_subjects(subjects_present))
    else:
        test_set = {_normalize_subject(s) for s in test_subjects}
        if unknown := sorted(test_set - subjects_present):
            raise ValueError(f"KDEF test_subjects {unknown} have no images under {root}")

    samples = []
    for path, match in parsed:
        session, view = match["session"].upper(), match["view"].upper()
        if session not in session_set:
            report.exclude(f"session {session} not selected")
            continue
        if view not in view_set:
            report.exclude(f"view {view} not selected")
            continue
        subject = f"{match['gender'].upper()}{match['id']}"
        sample_split = "test" if subject in test_set else "train"
        if split is not None and sample_split != split:
            continue
        meta = {"subject": subject, "session": session, "view": view, "split": sample_split}
        samples.append(
            Sample(
                path=path,
                label=KDEF_EXPRESSIONS[match["expression"].upper()],
                where=str(path),
                meta=meta,
                key=path.stem.upper(),
            )
        )
    features = {key: datasets.Value("string") for key in ("subject", "session", "view", "split")}
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features=features,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name="KDEF",
    )
    return finish(dataset, report, return_report)
