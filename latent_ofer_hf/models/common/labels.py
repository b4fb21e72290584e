"""Expression label schema: canonical names, the dataset label orders, and remapping between them.

Datasets disagree on the order of the same seven expressions (docs/method.md#data-and-occlusion-protocols), and a model
trained on one order silently gives "wrong labels" when read with another. Every order here is a tuple of canonical
lower-case names; remapping goes through the names, never through the integers.

- ``RAFDB_7``: RAF-DB ``list_patition_label.txt`` codes 1..7 (minus 1) [C: main.py comment; RAFDB_train.txt].
- ``FER2013_7``: FER2013 order, which is also the order of the official code's KDEF ``label.txt`` (codes AN, DI, AF,
  HA, SA, SU, NE) [C: datasets/EmoLabel/label.txt].
- ``AFFECTNET_8``: AffectNet expression codes 0..7 (as in DAN's ``demo.py``); ``AFFECTNET_7`` drops contempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

CANONICAL_LABELS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral", "contempt")

RAFDB_7: tuple[str, ...] = ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")
FER2013_7: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
KDEF_7: tuple[str, ...] = FER2013_7
AFFECTNET_8: tuple[str, ...] = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt")
AFFECTNET_7: tuple[str, ...] = AFFECTNET_8[:7]

LABEL_ORDERS: dict[str, tuple[str, ...]] = {
    "rafdb": RAFDB_7,
    "fer2013": FER2013_7,
    "kdef": KDEF_7,
    "affectnet7": AFFECTNET_7,
    "affectnet8": AFFECTNET_8,
}

LABEL_SYNONYMS: dict[str, str] = {
    "anger": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "afraid": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprised": "surprise",
    "neutrality": "neutral",
}

LabelOrder = str | Sequence[str] | Mapping[int | str, str]


def canonical_label(name: str) -> str:
    """The canonical lower-case name of an expression label (``"Anger"`` → ``"angry"``); ValueError if unknown."""
    if not isinstance(name, str):
        raise ValueError(f"an expression label name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    key = LABEL_SYNONYMS.get(key, key)
    if key not in CANONICAL_LABELS:
        raise ValueError(
            f"unknown expression label {name!r}; known: {', '.join(CANONICAL_LABELS)} "
            f"(synonyms: {', '.join(LABEL_SYNONYMS)})"
        )
    return key


def label_order(order: LabelOrder) -> tuple[str, ...]:
    """Resolve a label order: a dataset name (``"rafdb"``, ``"fer2013"``, ``"kdef"``, ``"affectnet7"``,
    ``"affectnet8"``; case, ``-`` and ``_`` ignored), a sequence of label names, or an ``id2label`` mapping.

    Returns a tuple of canonical names, index ``i`` = class id ``i``.
    """
    if isinstance(order, str):
        key = order.strip().lower().replace("-", "").replace("_", "")
        if key not in LABEL_ORDERS:
            raise ValueError(f"unknown label order {order!r}; known: {', '.join(LABEL_ORDERS)}")
        return LABEL_ORDERS[key]
    if isinstance(order, Mapping):
        ids = sorted(int(key) for key in order)
        if ids != list(range(len(ids))):
            raise ValueError(f"an id2label mapping must have the ids 0..{len(ids) - 1}, got {ids}")
        names = [order[key] for key in sorted(order, key=int)]
    elif isinstance(order, Sequence):
        names = list(order)
    else:
        raise ValueError(
            f"a label order must be a dataset name, a sequence of names or an id2label mapping, "
            f"got {type(order).__name__}"
        )
    resolved = tuple(canonical_label(name) for name in names)
    if not resolved:
        raise ValueError("a label order must not be empty")
    if len(set(resolved)) != len(resolved):
        raise ValueError(f"a label order names a class twice: {resolved}")
    return resolved


def id2label_for(order: LabelOrder) -> dict[int, str]:
    """``{class id: canonical name}`` for a config's ``id2label``."""
    return dict(enumerate(label_order(order)))


def label_index_map(source: LabelOrder, target: LabelOrder) -> list[int | None]:
    """``table[i]`` = target id of source id ``i`` (matched by name), ``None`` where ``target`` lacks the class."""
    tgt = label_order(target)
    return [tgt.index(name) if name in tgt else None for name in label_order(source)]


def remap_labels(labels, source: LabelOrder, target: LabelOrder, *, unknown: int | None = None):
    """Map integer class ids from the ``source`` order to the ``target`` order, by name.

    ``labels`` may be an int, a sequence of ints, a torch tensor or a numpy array; the same kind comes back.
    A label whose class has no target equivalent (e.g. AffectNet-8 ``contempt`` → a 7-class order) raises ValueError
    unless ``unknown`` gives the id to use for it (e.g. -100, ignored by the loss). Ids outside
    ``0..len(source)-1`` raise ValueError.
    """
    src = label_order(source)
    table = label_index_map(src, target)
    missing = [idx for idx, entry in enumerate(table) if entry is None]
    dense = [
        int(unknown) if entry is None and unknown is not None else (-1 if entry is None else entry) for entry in table
    ]

    def check(values: list[int]) -> None:
        low, high = min(values), max(values)
        if low < 0 or high >= len(src):
            raise ValueError(
                f"labels must be class ids in 0..{len(src) - 1} of the source order, got values in {low}..{high}"
            )
        if unknown is None and (unmapped := sorted({src[v] for v in values if v in missing})):
            raise ValueError(
                f"source classes {unmapped} have no equivalent in the target order "
                f"{label_order(target)}; pass unknown=<id> (e.g. -100 to ignore them in the loss)"
            )

    if isinstance(labels, torch.Tensor):
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be an integer tensor, got dtype {labels.dtype}")
        if labels.numel():
            check(labels.unique().tolist())
        return torch.tensor(dense, dtype=labels.dtype, device=labels.device)[labels.long()]
    if isinstance(labels, np.ndarray):
        if not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be an integer array, got dtype {labels.dtype}")
        if labels.size:
            check(np.unique(labels).tolist())
        return np.asarray(dense, dtype=labels.dtype)[labels]
    if isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        check([int(labels)])
        return dense[int(labels)]
    if isinstance(labels, Sequence) and not isinstance(labels, str):
        values = []
        for label in labels:
            if not isinstance(label, (int, np.integer)) or isinstance(label, bool):
                raise ValueError(f"labels must be integer class ids, got {label!r}")
            values.append(int(label))
        if values:
            check(values)
        return [dense[value] for value in values]
    raise ValueError(
        f"labels must be an int, a sequence of ints, a torch tensor or a numpy array, got {type(labels).__name__}"
    )


def remap_logits(logits, source: LabelOrder, target: LabelOrder):
    """Reorder the class columns (last axis) of ``logits`` ``[..., len(source)]`` → ``[..., len(target)]``.

    Every target class must exist in the source order (ValueError otherwise); source classes absent from the target
    (e.g. contempt for 8 → 7) are dropped, so a softmax over the result renormalises over the kept classes.
    Works on torch tensors and numpy arrays.
    """
    src, tgt = label_order(source), label_order(target)
    missing = [name for name in tgt if name not in src]
    if missing:
        raise ValueError(f"target classes {missing} are not in the source order {src}; cannot build their logits")
    columns = [src.index(name) for name in tgt]
    if isinstance(logits, torch.Tensor):
        if logits.ndim == 0 or logits.shape[-1] != len(src):
            raise ValueError(f"logits must have {len(src)} class columns (last axis), got shape {list(logits.shape)}")
        return logits.index_select(-1, torch.tensor(columns, device=logits.device))
    if isinstance(logits, np.ndarray):
        if logits.ndim == 0 or logits.shape[-1] != len(src):
            raise ValueError(f"logits must have {len(src)} class columns (last axis), got shape {list(logits.shape)}")
        return logits[..., columns]
    raise ValueError(f"logits must be a torch tensor or a numpy array, got {type(logits).__name__}")
