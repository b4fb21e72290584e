"""Label schema: dataset orders, name resolution, label and logit remapping."""

import numpy as np
import pytest
import torch

from latent_ofer_hf.models.common.labels import (
    AFFECTNET_7,
    AFFECTNET_8,
    CANONICAL_LABELS,
    FER2013_7,
    RAFDB_7,
    canonical_label,
    id2label_for,
    label_order,
    remap_labels,
    remap_logits,
)


def test_orders_match_the_datasets():
    assert RAFDB_7 == ("surprise", "fear", "disgust", "happy", "sad", "angry", "neutral")
    assert FER2013_7 == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    assert AFFECTNET_8 == ("neutral", "happy", "sad", "surprise", "fear", "disgust", "angry", "contempt")
    assert AFFECTNET_7 == AFFECTNET_8[:7]
    for order in (RAFDB_7, FER2013_7, AFFECTNET_8):
        assert set(order) <= set(CANONICAL_LABELS)
        assert len(set(order)) == len(order)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rafdb", RAFDB_7),
        ("RAF-DB", RAFDB_7),
        ("fer2013", FER2013_7),
        ("kdef", FER2013_7),
        ("affectnet7", AFFECTNET_7),
        ("AffectNet_8", AFFECTNET_8),
    ],
)
def test_label_order_by_name(name, expected):
    assert label_order(name) == expected


def test_label_order_from_names_and_id2label_with_synonyms():
    assert label_order(["Anger", "Happiness", "sadness", "neutral"]) == ("angry", "happy", "sad", "neutral")
    assert label_order({"1": "fear", "0": "surprise"}) == ("surprise", "fear")
    assert id2label_for("rafdb") == dict(enumerate(RAFDB_7))
    assert label_order(id2label_for("affectnet8")) == AFFECTNET_8
    assert canonical_label(" Surprised ") == "surprise"


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("ckplus", "unknown label order"),
        (["happy", "joy"], "unknown expression label"),
        (["happy", "happiness"], "twice"),
        ({0: "happy", 2: "sad"}, "ids 0..1"),
        ([], "empty"),
    ],
)
def test_label_order_rejects_bad_orders(order, message):
    with pytest.raises(ValueError, match=message):
        label_order(order)


def test_remap_by_name_and_round_trip_for_every_kind():
    ids = list(range(7))
    forward = remap_labels(ids, "rafdb", "fer2013")
    assert [FER2013_7[i] for i in forward] == list(RAFDB_7)  # same names, new ids
    assert remap_labels(0, "rafdb", "fer2013") == 5  # surprise
    assert remap_labels(forward, "fer2013", "rafdb") == ids

    tensor = torch.tensor([[0, 1, 2], [3, 4, 6]])
    out = remap_labels(tensor, "rafdb", "affectnet8")
    assert out.dtype == tensor.dtype and out.shape == tensor.shape
    assert torch.equal(remap_labels(out, "affectnet8", "rafdb"), tensor)

    array = np.array([6, 5, 4], dtype=np.int32)
    out = remap_labels(array, "rafdb", "affectnet7")
    assert out.dtype == np.int32 and [AFFECTNET_7[i] for i in out] == ["neutral", "angry", "sad"]
    assert np.array_equal(remap_labels(out, "affectnet7", "rafdb"), array)


def test_contempt_has_no_seven_class_equivalent():
    with pytest.raises(ValueError, match="contempt"):
        remap_labels(torch.tensor([7, 0]), "affectnet8", "rafdb")
    assert remap_labels([7, 0], "affectnet8", "rafdb", unknown=-100) == [-100, 6]
    # every 7-class label has an 8-class equivalent
    assert remap_labels(list(range(7)), "fer2013", "affectnet8") == [6, 5, 4, 1, 2, 3, 0]


def test_remap_labels_rejects_out_of_range_and_non_integers():
    with pytest.raises(ValueError, match=r"0\.\.6"):
        remap_labels(torch.tensor([0, 7]), "rafdb", "fer2013")
    with pytest.raises(ValueError, match=r"0\.\.6"):
        remap_labels(-1, "rafdb", "fer2013")
    with pytest.raises(ValueError, match="integer"):
        remap_labels(torch.tensor([0.0, 1.0]), "rafdb", "fer2013")
    with pytest.raises(ValueError, match="integer"):
        remap_labels(["happy"], "rafdb", "fer2013")


def test_remap_logits_reorders_columns_by_name():
    # logit column j of the source = index of its class name in CANONICAL_LABELS, so reordering is checkable
    source_logits = torch.tensor([float(CANONICAL_LABELS.index(name)) for name in RAFDB_7]).repeat(2, 1)
    out = remap_logits(source_logits, "rafdb", "fer2013")
    assert out.shape == (2, 7)
    assert [CANONICAL_LABELS[int(v)] for v in out[0]] == list(FER2013_7)
    assert torch.equal(remap_logits(out, "fer2013", "rafdb"), source_logits)

    eight = np.arange(8, dtype=np.float32)[None]
    seven = remap_logits(eight, "affectnet8", "rafdb")  # contempt column dropped
    assert seven.shape == (1, 7) and [AFFECTNET_8[int(v)] for v in seven[0]] == list(RAFDB_7)
    # argmax agrees after remapping (the same class, by name)
    logits = torch.randn(5, 7)
    remapped = remap_logits(logits, "rafdb", "affectnet7")
    assert torch.equal(remap_labels(logits.argmax(-1), "rafdb", "affectnet7"), remapped.argmax(-1))


def test_remap_logits_errors():
    with pytest.raises(ValueError, match="contempt"):
        remap_logits(torch.zeros(1, 7), "rafdb", "affectnet8")
    with pytest.raises(ValueError, match="7 class columns"):
        remap_logits(torch.zeros(1, 8), "rafdb", "fer2013")
