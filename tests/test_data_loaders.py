"""FER data-set loaders: fake directories in the real layouts, label mapping by name, skipped files, errors."""

from __future__ import annotations

import logging
from pathlib import Path

import datasets
import pytest
from PIL import Image

from latent_ofer_hf.data.loaders import LoadReport, image_problem
from latent_ofer_hf.data.loaders.affectnet import load_affectnet
from latent_ofer_hf.data.loaders.fedro import load_fedro
from latent_ofer_hf.data.loaders.imagefolder import load_image_folder
from latent_ofer_hf.data.loaders.kdef import default_test_subjects, load_kdef
from latent_ofer_hf.data.loaders.occlusion_lists import load_occlusion_affectnet, load_occlusion_rafdb
from latent_ofer_hf.data.loaders.rafdb import load_rafdb

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255), (128, 128, 128)]


def write_image(path: Path, color=(200, 10, 10), size: int = 8) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), color).save(path)
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def names_of(dataset: datasets.Dataset) -> list[str]:
    return [dataset.features["label"].int2str(i) for i in dataset["label"]]


# ---------------------------------------------------------------- RAF-DB

RAF_TRAIN = [("train_00001.jpg", 1), ("train_00002.jpg", 4), ("train_00003.jpg", 6), ("train_00004.jpg", 7)]
RAF_TEST = [("test_0001.jpg", 1), ("test_0002.jpg", 2), ("test_0003.jpg", 3), ("test_0004.jpg", 5)]
RAF_NAMES = {1: "surprise", 2: "fear", 3: "disgust", 4: "happy", 5: "sad", 6: "angry", 7: "neutral"}


def make_rafdb(root: Path, lines: list[str] | None = None) -> Path:
    entries = RAF_TRAIN + RAF_TEST
    if lines is None:
        lines = [f"{name} {code}" for name, code in entries]
    write_text(root / "EmoLabel" / "list_patition_label.txt", "\n".join(lines) + "\n")
    for index, (name, code) in enumerate(entries):
        stem = name[:-4]
        write_image(root / "Image" / "aligned" / f"{stem}_aligned.jpg", COLORS[code - 1])
        write_image(root / "Image" / "original" / name, COLORS[index % 7], size=10)
    return root


def test_rafdb_train_labels_by_name_in_two_orders(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    dataset = load_rafdb(root, "train")
    assert isinstance(dataset, datasets.Dataset)
    assert isinstance(dataset.features["image"], datasets.Image)
    assert dataset.features["label"].names == ["surprise", "fear", "disgust", "happy", "sad", "angry", "neutral"]
    assert names_of(dataset) == [RAF_NAMES[code] for _, code in RAF_TRAIN]
    assert dataset["label"] == [0, 3, 5, 6]
    assert dataset["split"] == ["train"] * 4
    assert [Path(p["path"]).name for p in dataset.cast_column("image", datasets.Image(decode=False))["image"]] == [
        "train_00001_aligned.jpg",
        "train_00002_aligned.jpg",
        "train_00003_aligned.jpg",
        "train_00004_aligned.jpg",
    ]
    image = dataset[0]["image"]
    assert image.size == (8, 8) and image.getpixel((3, 3))[0] > 200  # surprise image is red

    fer = load_rafdb(root, "train", label_order="fer2013")
    assert fer.features["label"].names == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert fer["label"] == [5, 3, 0, 6]  # surprise, happy, angry, neutral in FER2013 order
    assert names_of(fer) == names_of(dataset)


def test_rafdb_test_split_and_original_images(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    dataset, report = load_rafdb(root, "test", aligned=False, return_report=True)
    assert names_of(dataset) == ["surprise", "fear", "disgust", "sad"]
    assert dataset[0]["image"].size == (10, 10)
    assert report == LoadReport(loaded=4, skipped=[], excluded={})
    with pytest.raises(ValueError, match="split must be one of"):
        load_rafdb(root, "validation")


def test_an_image_listed_twice_is_kept_once_or_refused_when_its_labels_differ(tmp_path):
    lines = [f"{name} {code}" for name, code in RAF_TRAIN + RAF_TEST]
    root = make_rafdb(tmp_path / "same", [*lines, "train_00002.jpg 4"])  # the same line again
    dataset, report = load_rafdb(root, "train", return_report=True)
    assert len(dataset) == 4 and report.excluded == {"listed twice (same image, same label)": 1}
    root = make_rafdb(tmp_path / "differ", [*lines, "train_00002.jpg 5"])  # happy, then sad
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:9: .*train_00002.* labelled 'sad' here but "
                       r"'happy' at .*list_patition_label\.txt:2"):  # fmt: skip
        load_rafdb(root, "train")


def test_a_split_without_any_usable_image_is_an_error_not_an_empty_data_set(tmp_path):
    root = make_rafdb(tmp_path / "empty", [])
    with pytest.raises(ValueError, match=r"no usable image \(0 listed\)"):
        load_rafdb(root, "train")
    root = make_rafdb(tmp_path / "renamed")
    for image in (root / "Image" / "aligned").iterdir():
        image.rename(image.with_suffix(".JPEG"))  # the list's names no longer match
    with pytest.raises(ValueError, match=r"no usable image \(4 listed, 4 skipped \(first: .*: missing file\)\)"):
        load_rafdb(root, "train")


def test_rafdb_unknown_label_names_file_and_line(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB", ["train_00001.jpg 1", "train_00002.jpg 4", "train_00003.jpg 9"])
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:3: unknown label '9'"):
        load_rafdb(root, "train")
    root = make_rafdb(tmp_path / "RAF-DB2", ["train_00001.jpg 1", "", "train_00002.jpg happy"])
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:3: unknown label 'happy'"):
        load_rafdb(root, "train")
    labels = root / "EmoLabel" / "list_patition_label.txt"
    labels.write_bytes(b"train_00001.jpg 1\n\xff\xfe\x00binary\n")  # not a text file
    with pytest.raises(ValueError, match=r"list_patition_label\.txt: not UTF-8 text"):
        load_rafdb(root, "train")


@pytest.mark.parametrize("line", ["train_00002.jpg", "train_00002.jpg 4 extra", "val_00002.jpg 4"])
def test_rafdb_malformed_line_names_file_and_line(tmp_path, line):
    root = make_rafdb(tmp_path / "RAF-DB", ["train_00001.jpg 1", line])
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:2: malformed line"):
        load_rafdb(root, "train")


def test_rafdb_missing_paths_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="RAF-DB root not found: .*nowhere"):
        load_rafdb(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match=r"list_patition_label\.txt"):
        load_rafdb(tmp_path / "empty")
    root = make_rafdb(tmp_path / "RAF-DB")
    with pytest.raises(FileNotFoundError, match=r"Image[/\\]original"):
        import shutil

        shutil.rmtree(root / "Image" / "original")
        load_rafdb(root, aligned=False)


def test_rafdb_unreadable_images_are_skipped_and_counted(tmp_path, caplog):
    root = make_rafdb(tmp_path / "RAF-DB")
    aligned = root / "Image" / "aligned"
    (aligned / "train_00001_aligned.jpg").write_bytes(b"")  # 0 bytes
    (aligned / "train_00002_aligned.jpg").write_bytes(b"\xff\xd8\xff\xe0garbage" * 3)  # corrupt JPEG
    (aligned / "train_00003_aligned.jpg").unlink()  # listed but missing
    png = aligned / "test_0001_aligned.jpg"
    data = png.read_bytes()
    png.write_bytes(data[: len(data) // 2])  # truncated
    (aligned / "test_0002_aligned.jpg").write_text("this is not an image")
    with caplog.at_level(logging.WARNING, logger="latent_ofer_hf.data.loaders"):
        train, train_report = load_rafdb(root, "train", return_report=True)
        test, test_report = load_rafdb(root, "test", return_report=True)
    assert names_of(train) == ["neutral"] and train_report.loaded == 1
    reasons = {Path(path).name: reason for path, reason in train_report.skipped}
    assert reasons["train_00001_aligned.jpg"] == "empty file (0 bytes)"
    assert reasons["train_00002_aligned.jpg"].startswith("corrupt image")
    assert reasons["train_00003_aligned.jpg"] == "missing file"
    assert len(train_report.skipped) == 3
    assert names_of(test) == ["disgust", "sad"]
    assert sorted(Path(path).name for path, _ in test_report.skipped) == [
        "test_0001_aligned.jpg",
        "test_0002_aligned.jpg",
    ]
    assert "not an image" in dict((Path(p).name, r) for p, r in test_report.skipped)["test_0002_aligned.jpg"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and "skipped 3 file(s)" in warnings[0].getMessage()


def test_decompression_bombs_are_skipped(tmp_path, monkeypatch):
    root = make_rafdb(tmp_path / "RAF-DB")
    write_image(root / "Image" / "aligned" / "train_00002_aligned.jpg", size=12)  # 144 px > limit: warning
    write_image(root / "Image" / "aligned" / "train_00003_aligned.jpg", size=16)  # 256 px > 2 x limit: error
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    dataset, report = load_rafdb(root, "train", return_report=True)
    assert names_of(dataset) == ["surprise", "neutral"]
    assert sorted(Path(p).name for p, _ in report.skipped) == ["train_00002_aligned.jpg", "train_00003_aligned.jpg"]
    assert all(reason.startswith("decompression bomb") for _, reason in report.skipped)


def test_decode_mode_catches_truncation_that_verify_misses(tmp_path):
    path = write_image(tmp_path / "a.jpg")
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    assert image_problem(path, "verify") is None
    assert image_problem(path, "decode").startswith("corrupt image")
    assert image_problem(path, "none") is None
    assert image_problem(tmp_path / "missing.jpg") == "missing file"
    root = make_rafdb(tmp_path / "RAF-DB")
    (root / "Image" / "aligned" / "train_00001_aligned.jpg").write_bytes(data[:-5])
    assert len(load_rafdb(root, check_images="verify")) == 4
    assert len(load_rafdb(root, check_images="decode")) == 3
    with pytest.raises(ValueError, match="check_images"):
        load_rafdb(root, check_images="sometimes")


def test_unknown_label_order_is_rejected(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    with pytest.raises(ValueError, match="unknown label order"):
        load_rafdb(root, label_order="ckplus")


def test_class_missing_from_target_order_raises_or_is_dropped(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    order = ["happy", "sad", "angry", "neutral"]
    with pytest.raises(ValueError, match=r"list_patition_label\.txt:1: class 'surprise' is not in the target label"):
        load_rafdb(root, label_order=order)
    dataset, report = load_rafdb(root, label_order=order, drop_unmapped=True, return_report=True)
    assert names_of(dataset) == ["happy", "angry", "neutral"]
    assert dataset["label"] == [0, 2, 3]
    assert report.excluded == {"class 'surprise' not in the label order": 1}


# ---------------------------------------------------------------- AffectNet

AFFECTNET_HEADER = (
    "subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,expression,valence,arousal"
)


def affectnet_row(name: str, code, valence: float = 0.5) -> str:
    return f'{name},1,2,30,40,"1.0;2.0;3.0;4.0",{code},{valence},-0.25'


def make_affectnet(
    root: Path, train_codes=(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), val_codes=(6, 7, 1, 9), val_header: bool = True
) -> Path:
    images = root / "Manually_Annotated_Images"
    train_rows = []
    for index, code in enumerate(train_codes):
        name = f"{100 + index}/{'a' * 10}{index:04d}.jpg"
        write_image(images / name, COLORS[index % 7])
        train_rows.append(affectnet_row(name, code, valence=index / 10))
    write_text(root / "training.csv", "\n".join([AFFECTNET_HEADER, *train_rows]) + "\n")
    val_rows = []
    for index, code in enumerate(val_codes):
        name = f"{900 + index}/{'b' * 10}{index:04d}.png"
        write_image(images / name, COLORS[index % 7])
        val_rows.append(affectnet_row(name, code))
    write_text(root / "validation.csv", "\n".join(([AFFECTNET_HEADER] if val_header else []) + val_rows) + "\n")
    return root


def test_affectnet_7_and_8_classes_follow_the_protocol(tmp_path):
    root = make_affectnet(tmp_path / "AffectNet")
    seven, report = load_affectnet(root, "train", return_report=True)
    assert seven.features["label"].names == ["neutral", "happy", "sad", "surprise", "fear", "disgust", "angry"]
    assert seven["label"] == [0, 1, 2, 3, 4, 5, 6]
    assert report.loaded == 7 and report.skipped == []
    assert report.excluded == {
        "expression 7 (contempt)": 1,
        "expression 8 (none)": 1,
        "expression 9 (uncertain)": 1,
        "expression 10 (no-face)": 1,
    }
    assert seven["valence"] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert seven["arousal"] == pytest.approx([-0.25] * 7)
    assert seven["face_box"][0] == [1, 2, 30, 40]
    assert seven["split"] == ["train"] * 7

    eight, report8 = load_affectnet(root, "train", num_classes=8, return_report=True)
    assert names_of(eight)[-1] == "contempt" and len(eight) == 8
    assert "expression 7 (contempt)" not in report8.excluded

    rafdb = load_affectnet(root, "train", label_order="rafdb")
    assert names_of(rafdb) == ["neutral", "happy", "sad", "surprise", "fear", "disgust", "angry"]
    assert rafdb["label"] == [6, 3, 4, 0, 1, 2, 5]


def test_affectnet_contempt_into_a_7_class_order(tmp_path):
    root = make_affectnet(tmp_path / "AffectNet")
    with pytest.raises(ValueError, match=r"training\.csv:9: class 'contempt' is not in the target label order"):
        load_affectnet(root, "train", num_classes=8, label_order="rafdb")
    dataset, report = load_affectnet(
        root, "train", num_classes=8, label_order="rafdb", drop_unmapped=True, return_report=True
    )
    assert len(dataset) == 7 and report.excluded["class 'contempt' not in the label order"] == 1
    with pytest.raises(ValueError, match="num_classes must be 7 or 8"):
        load_affectnet(root, num_classes=6)


def test_affectnet_validation_without_header_and_missing_image(tmp_path):
    root = make_affectnet(tmp_path / "AffectNet", val_header=False)
    (root / "Manually_Annotated_Images" / "900" / "bbbbbbbbbb0000.png").unlink()
    dataset, report = load_affectnet(root, "validation", return_report=True)
    assert names_of(dataset) == ["happy"]
    assert report.excluded == {"expression 7 (contempt)": 1, "expression 9 (uncertain)": 1}
    assert [(Path(p).name, r) for p, r in report.skipped] == [("bbbbbbbbbb0000.png", "missing file")]
    assert dataset["split"] == ["validation"]


def test_affectnet_errors_name_file_and_line(tmp_path):
    root = make_affectnet(tmp_path / "AffectNet", train_codes=(0, 1, 11))
    with pytest.raises(ValueError, match=r"training\.csv:4: unknown label '11'"):
        load_affectnet(root)
    write_text(root / "training.csv", "\n".join([AFFECTNET_HEADER, affectnet_row("100/x.jpg", 1), "100/y.jpg,1,2"]))
    with pytest.raises(ValueError, match=r"training\.csv:3: malformed row"):
        load_affectnet(root)
    write_text(root / "training.csv", "\n".join([AFFECTNET_HEADER, affectnet_row("100/x.jpg", 1, valence="high")]))
    with pytest.raises(ValueError, match=r"training\.csv:2: malformed valence"):
        load_affectnet(root)
    (root / "validation.csv").unlink()
    with pytest.raises(FileNotFoundError, match=r"validation\.csv"):
        load_affectnet(root, "validation")
    with pytest.raises(FileNotFoundError, match="Manually_Annotated_Images"):
        import shutil

        shutil.rmtree(root / "Manually_Annotated_Images")
        load_affectnet(root)


# ---------------------------------------------------------------- KDEF


def make_kdef(root: Path) -> Path:
    for gender in "FM":
        for number in (1, 2, 3):
            subject = f"{gender}{number:02d}"
            for session in "AB":
                folder = root / f"{session}{subject}"
                for index, code in enumerate(("AF", "AN", "DI", "HA", "NE", "SA", "SU")):
                    write_image(folder / f"{session}{subject}{code}S.JPG", COLORS[index])
                write_image(folder / f"{session}{subject}HAFL.JPG", COLORS[3])
                write_image(folder / f"{session}{subject}SAHR.JPG", COLORS[5])
    write_text(root / "README.txt", "KDEF")
    write_text(root / "AF01" / "AF01XXS.JPG", "not a KDEF name")
    (root / "AF02" / "AF02NES.JPG").rename(root / "AF02" / "af02nes.jpg")  # lower case still parses
    (root / "AM01" / "AM01SUS.JPG").write_bytes(b"")  # unreadable: skipped
    return root


def test_kdef_parses_names_views_sessions(tmp_path):
    root = make_kdef(tmp_path / "KDEF")
    dataset, report = load_kdef(root, return_report=True)
    assert dataset.features["label"].names == ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
    assert set(dataset["session"]) == {"A"}
    assert len(dataset) == 6 * 9 - 1  # 6 subjects x 9 images, one unreadable
    assert sorted(set(dataset["subject"])) == ["F01", "F02", "F03", "M01", "M02", "M03"]
    assert set(dataset["view"]) == {"S", "FL", "HR"}
    row = {(s, v, n) for s, v, n in zip(dataset["subject"], dataset["view"], names_of(dataset), strict=True)}
    assert ("F01", "S", "fear") in row and ("F01", "S", "surprise") in row and ("F02", "S", "neutral") in row
    assert ("F01", "FL", "happy") in row and ("F01", "HR", "sad") in row
    skipped = {Path(p).name: r for p, r in report.skipped}
    assert set(skipped) == {"README.txt", "AF01XXS.JPG", "AM01SUS.JPG"}
    assert skipped["AM01SUS.JPG"] == "empty file (0 bytes)"
    assert report.excluded == {"session B not selected": 6 * 9}
    assert dataset[0]["image"].size == (8, 8)

    front = load_kdef(root, label_order="rafdb", sessions=("A", "B"), views=["s"])
    assert len(front) == 6 * 7 * 2 - 1 and set(front["view"]) == {"S"}
    assert front.features["label"].names[0] == "surprise"
    fear = [s for s, n in zip(front["subject"], names_of(front), strict=True) if n == "fear"]
    assert len(fear) == 12
    with pytest.raises(ValueError, match="views must be"):
        load_kdef(root, views=["XX"])
    with pytest.raises(ValueError, match="sessions must be"):
        load_kdef(root, sessions=("C",))


def test_kdef_subject_disjoint_split(tmp_path):
    root = make_kdef(tmp_path / "KDEF")
    train = load_kdef(root, split="train")
    test = load_kdef(root, split="test")
    assert sorted(set(test["subject"])) == ["F03", "M03"]  # the highest-numbered fifth per gender (rounded, >= 1)
    assert not set(train["subject"]) & set(test["subject"])
    assert len(train) + len(test) == len(load_kdef(root))
    assert set(test["split"]) == {"test"} and set(train["split"]) == {"train"}
    custom = load_kdef(root, split="test", test_subjects=["F1", "AM02"])
    assert sorted(set(custom["subject"])) == ["F01", "M02"]
    with pytest.raises(ValueError, match=r"test_subjects \['F09'\]"):
        load_kdef(root, split="test", test_subjects=["F09"])
    with pytest.raises(ValueError, match="not of the form"):
        load_kdef(root, split="test", test_subjects=["X1"])
    full = [f"{g}{i:02d}" for g in "FM" for i in range(1, 36)]
    assert default_test_subjects(full) == tuple(f"{g}{i:02d}" for g in "FM" for i in range(29, 36))


def test_kdef_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="KDEF root not found: .*kdef_missing"):
        load_kdef(tmp_path / "kdef_missing")


# ---------------------------------------------------------------- FED-RO


def test_fedro_integer_labels_need_the_stated_source_order(tmp_path):
    root = tmp_path / "FED-RO"
    write_image(root / "angry" / "a 1.jpg")
    write_image(root / "happy" / "h1.png")
    write_image(root / "neutral" / "n1.jpg")
    list_file = write_text(
        tmp_path / "fedro.txt", "angry/a 1.jpg 0\nhappy/h1.png 3\nneutral/n1.jpg Neutral\nhappy/missing.png 3\n"
    )
    dataset, report = load_fedro(root, list_file, source_order="fer2013", return_report=True)
    assert names_of(dataset) == ["angry", "happy", "neutral"]
    assert dataset["label"] == [5, 3, 6]  # RAF-DB order
    assert [(Path(p).name, r) for p, r in report.skipped] == [("missing.png", "missing file")]
    raf_list = write_text(tmp_path / "raf_codes.txt", "angry/a 1.jpg 6\nhappy/h1.png 3\nneutral/n1.jpg 7\n")
    one_based = load_fedro(root, raf_list, label_order="fer2013", source_order="rafdb", first_label=1)
    assert names_of(one_based) == ["angry", "disgust", "neutral"]  # code 3 in 1-based RAF-DB = disgust
    assert one_based["label"] == [0, 1, 6]
    with pytest.raises(ValueError, match=r"fedro\.txt:1: integer label '0' but source_order=None"):
        load_fedro(root, list_file, source_order=None)
    bad = write_text(tmp_path / "bad.txt", "happy/h1.png 3\nangry/a 1.jpg 7\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: unknown label '7'"):
        load_fedro(root, bad, source_order="fer2013")
    bad = write_text(tmp_path / "bad2.txt", "happy/h1.png glee\n")
    with pytest.raises(ValueError, match=r"bad2\.txt:1: unknown label 'glee'"):
        load_fedro(root, bad, source_order=None)
    bad = write_text(tmp_path / "bad3.txt", "\nhappy/h1.png\n")
    with pytest.raises(ValueError, match=r"bad3\.txt:2: malformed line"):
        load_fedro(root, bad, source_order=None)
    with pytest.raises(FileNotFoundError, match=r"nolist\.txt"):
        load_fedro(root, tmp_path / "nolist.txt", source_order="rafdb")
    with pytest.raises(TypeError):
        load_fedro(root, list_file)  # source_order is required


# ---------------------------------------------------------------- occlusion lists


def test_occlusion_rafdb_applies_ran_list_in_order(tmp_path, caplog):
    root = make_rafdb(tmp_path / "RAF-DB")
    (root / "Image" / "aligned" / "test_0002_aligned.jpg").unlink()
    # RAN's format: "<id>_aligned <RAF-DB code - 1> <occlusion type>"
    list_file = write_text(
        tmp_path / "rafdb_occlusion_list.txt",
        "test_0004_aligned 4 3\ntest_0001_aligned 0 1\n\ntest_0002_aligned 1 2\ntest_0004_aligned 4 3\n",
    )
    with caplog.at_level(logging.WARNING, logger="latent_ofer_hf.data.loaders"):
        dataset, report = load_occlusion_rafdb(root, list_file, return_report=True)
    assert names_of(dataset) == ["sad", "surprise"]
    assert dataset["occlusion_type"] == [3, 1]
    assert dataset.features["occlusion_type"] == datasets.Value("int32")
    assert report.excluded == {"duplicate list entry": 1}
    assert [Path(p).name for p, _ in report.skipped] == ["test_0002_aligned.jpg"]
    assert any("skipped 1 file(s)" in r.getMessage() for r in caplog.records)

    fer = load_occlusion_rafdb(root, list_file, label_order="fer2013")
    assert fer["label"] == [4, 5]

    one_based = write_text(tmp_path / "one_based.txt", "test_0001.jpg 1 2\n")
    assert names_of(load_occlusion_rafdb(root, one_based, list_label_base=1)) == ["surprise"]


def test_occlusion_rafdb_errors(tmp_path):
    root = make_rafdb(tmp_path / "RAF-DB")
    missing = write_text(tmp_path / "list.txt", "test_0001_aligned 0 1\ntrain_00001_aligned 0 1\n")
    with pytest.raises(ValueError, match=r"list\.txt:2: image 'train_00001_aligned' is not in the RAF-DB test split"):
        load_occlusion_rafdb(root, missing)
    wrong = write_text(tmp_path / "wrong.txt", "test_0001_aligned 0 1\ntest_0003_aligned 3 1\n")
    with pytest.raises(ValueError, match=r"wrong\.txt:2: list label 3 \(happy\) disagrees with RAF-DB's label 'disg"):
        load_occlusion_rafdb(root, wrong)
    assert names_of(load_occlusion_rafdb(root, wrong, check_labels=False)) == ["surprise", "disgust"]
    unknown = write_text(tmp_path / "unknown.txt", "test_0001_aligned 7 1\n")
    with pytest.raises(ValueError, match=r"unknown\.txt:1: unknown label '7'"):
        load_occlusion_rafdb(root, unknown)
    malformed = write_text(tmp_path / "malformed.txt", "test_0001_aligned 0 x\n")
    with pytest.raises(ValueError, match=r"malformed\.txt:1: malformed line"):
        load_occlusion_rafdb(root, malformed)
    with pytest.raises(FileNotFoundError, match=r"absent\.txt"):
        load_occlusion_rafdb(root, tmp_path / "absent.txt")


def test_occlusion_affectnet_ran_paths_and_three_field_lines(tmp_path):
    root = make_affectnet(tmp_path / "AffectNet")  # validation codes: 6, 7, 1, 9
    ran = write_text(
        tmp_path / "occlusion_affectnet_list.txt",
        "val/7/bbbbbbbbbb0001/\nval/6/bbbbbbbbbb0000/\nval/1/bbbbbbbbbb0002/\n",
    )
    dataset, report = load_occlusion_affectnet(root, ran, return_report=True)
    assert dataset.features["label"].names[-1] == "contempt"
    assert names_of(dataset) == ["contempt", "angry", "happy"]
    assert dataset["occlusion_type"] == [-1, -1, -1]
    seven, report7 = load_occlusion_affectnet(root, ran, num_classes=7, return_report=True)
    assert names_of(seven) == ["angry", "happy"] and report7.excluded == {"expression 7 (contempt)": 1}

    typed = write_text(tmp_path / "typed.txt", "902/bbbbbbbbbb0002.png 1 2\n900/bbbbbbbbbb0000.png 6 4\n")
    rafdb = load_occlusion_affectnet(root, typed, label_order="rafdb")
    assert names_of(rafdb) == ["happy", "angry"] and rafdb["label"] == [3, 5]
    assert rafdb["occlusion_type"] == [2, 4]

    wrong = write_text(tmp_path / "wrong.txt", "val/0/bbbbbbbbbb0002/\n")
    with pytest.raises(ValueError, match=r"wrong\.txt:1: list label 0 \(neutral\) disagrees"):
        load_occlusion_affectnet(root, wrong)
    assert names_of(load_occlusion_affectnet(root, wrong, check_labels=False)) == ["happy"]
    absent = write_text(tmp_path / "absent.txt", "val/1/bbbbbbbbbb0002/\nval/1/cccccccc/\n")
    with pytest.raises(ValueError, match=r"absent\.txt:2: image 'val/1/cccccccc/' is not in the AffectNet validation"):
        load_occlusion_affectnet(root, absent)
    own_paths = write_text(tmp_path / "own.txt", "902/bbbbbbbbbb0002.png\n")  # AffectNet's own path: no label in it
    assert names_of(load_occlusion_affectnet(root, own_paths)) == ["happy"]  # its folder 902 is no expression code
    training_only = write_text(tmp_path / "train.txt", "100/aaaaaaaaaa0001.jpg 1 1\n")
    with pytest.raises(ValueError, match=r"train\.txt:1: .* is not in the AffectNet validation set"):
        load_occlusion_affectnet(root, training_only)


# ---------------------------------------------------------------- ImageFolder


def test_image_folder_synonym_class_names(tmp_path):
    root = tmp_path / "folder"
    write_image(root / "Happiness" / "b.png", COLORS[3])
    write_image(root / "Happiness" / "a.jpg", COLORS[3])
    write_image(root / "anger" / "x.bmp", COLORS[5])
    write_image(root / "surprised" / "nested" / "s.webp", COLORS[0])
    write_text(root / "surprised" / "notes.txt", "hello")
    (root / "surprised" / "broken.jpeg").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    write_image(root / ".cache" / "ignored.png")
    write_text(root / "labels.csv", "x")
    dataset, report = load_image_folder(root, label_order="fer2013", return_report=True)
    assert names_of(dataset) == ["happy", "happy", "angry", "surprise"]
    assert dataset["class_name"] == ["Happiness", "Happiness", "anger", "surprised"]
    paths = [item["path"] for item in dataset.cast_column("image", datasets.Image(decode=False))["image"]]
    assert [Path(path).name for path in paths] == ["a.jpg", "b.png", "x.bmp", "s.webp"]
    assert sorted(Path(p).name for p, _ in report.skipped) == ["broken.jpeg", "labels.csv", "notes.txt"]

    write_image(root / "Joy" / "j.png")
    with pytest.raises(ValueError, match=r"class folder .*Joy is not an expression name"):
        load_image_folder(root)
    with pytest.raises(FileNotFoundError, match="image folder root not found"):
        load_image_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        load_image_folder(tmp_path / "empty")


def test_image_folder_with_masks(tmp_path):
    root, masks = tmp_path / "faces", tmp_path / "masks"
    write_image(root / "sad" / "one.jpg", COLORS[4])
    write_image(root / "sad" / "two.jpg", COLORS[4])
    write_image(root / "neutral" / "three.png", COLORS[6])
    mask = Image.new("L", (8, 8), 0)
    mask.paste(255, (0, 0, 4, 4))
    (masks / "sad").mkdir(parents=True)
    (masks / "neutral").mkdir()
    mask.save(masks / "sad" / "one.png")
    mask.save(masks / "neutral" / "three.png")
    dataset, report = load_image_folder(root, masks_root=masks, return_report=True)
    assert names_of(dataset) == ["neutral", "sad"]
    assert isinstance(dataset.features["pixel_mask"], datasets.Image)
    loaded = dataset[1]["pixel_mask"]
    assert loaded.mode == "L" and loaded.getpixel((1, 1)) == 255 and loaded.getpixel((6, 6)) == 0
    assert len(report.skipped) == 1 and "occlusion mask of" in report.skipped[0][1]
    assert report.skipped[0][1].endswith("missing file")
    with pytest.raises(FileNotFoundError, match="occlusion mask directory not found"):
        load_image_folder(root, masks_root=tmp_path / "no_masks")
