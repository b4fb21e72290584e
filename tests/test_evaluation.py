"""Evaluation: metrics on hand-computed cases, `latent-ofer evaluate` in one process and two, clear errors."""

import importlib.util
import json
import math
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import save_fitted_tiny_system
from PIL import Image, ImageFont

from latent_ofer_hf import preset_config
from latent_ofer_hf.cli import main as cli
from latent_ofer_hf.data.synthfer import synthfer_sample
from latent_ofer_hf.evaluation import (
    EvaluationSpec,
    confusion_matrix,
    detection_metrics,
    psnr,
    recognition_metrics,
    ssim,
)
from latent_ofer_hf.evaluation.plots import curve_image

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------------ metrics
def test_confusion_matrix_and_balanced_accuracy_by_hand():
    predictions, labels = torch.tensor([0, 1, 1, 2, 2, 2]), torch.tensor([0, 1, 2, 2, 2, 0])
    matrix = confusion_matrix(predictions, labels, 3)
    assert matrix.tolist() == [[1, 0, 1], [0, 1, 0], [0, 1, 2]]
    metrics = recognition_metrics(matrix, ["a", "b", "c"])
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["per_class_accuracy"] == pytest.approx({"a": 0.5, "b": 1.0, "c": 2 / 3})
    assert metrics["balanced_accuracy"] == pytest.approx((0.5 + 1.0 + 2 / 3) / 3)
    assert metrics["normalized_confusion_matrix"][2] == pytest.approx([0, 1 / 3, 2 / 3])


def test_an_empty_class_gives_no_nan():
    metrics = recognition_metrics(confusion_matrix(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 0]), 4), list("abcd"))
    assert metrics["per_class_accuracy"]["c"] is None and metrics["per_class_accuracy"]["d"] is None
    assert metrics["normalized_confusion_matrix"][3] == [0.0, 0.0, 0.0, 0.0]
    assert metrics["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert not any(math.isnan(v) for row in metrics["normalized_confusion_matrix"] for v in row)


def test_psnr_of_identical_images_and_of_a_known_error():
    images = torch.full((2, 3, 16, 16), 0.5)
    assert torch.isinf(psnr(images, images)).all()
    shifted = images + 0.1  # MSE 0.01 → 10·log10(1 / 0.01) = 20 dB
    assert psnr(shifted, images).tolist() == pytest.approx([20.0, 20.0])
    mask = torch.zeros(2, 1, 16, 16, dtype=torch.bool)
    mask[0, :, :4] = True
    hole = images.clone()
    hole[0, :, :4] += 0.1  # the error only inside the mask of the first image
    values = psnr(hole, images, mask)
    assert values[0] == pytest.approx(20.0) and math.isnan(values[1])  # an empty mask is NaN, not a number


def test_ssim_of_identical_images_is_one_and_drops_with_noise():
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(1, 3, 32, 32, generator=generator)
    assert ssim(images, images).item() == pytest.approx(1.0, abs=1e-12)
    noisy = (images + 0.2 * torch.randn(1, 3, 32, 32, generator=generator)).clamp(0, 1)
    assert ssim(noisy, images).item() < 0.9


def test_separable_ssim_equals_the_full_gaussian_window():
    import torch.nn.functional as F

    from latent_ofer_hf.evaluation.metrics import _gaussian_window, ssim_map

    a = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    b = (a + 0.1 * torch.randn_like(a)).clamp(0, 1)
    kernel = _gaussian_window()
    window = (kernel[:, None] * kernel[None, :])[None, None].expand(3, 1, -1, -1)

    def blur(values):
        return F.conv2d(F.pad(values, (5, 5, 5, 5), mode="reflect"), window, groups=3)

    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a**2, blur(b * b) - mu_b**2, blur(a * b) - mu_a * mu_b
    c1, c2 = 0.01**2, 0.03**2
    full = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    torch.testing.assert_close(ssim_map(a, b), full.mean(1), atol=1e-12, rtol=0)


def test_detection_metrics_on_a_known_mask_pair():
    metrics = detection_metrics(torch.tensor([1, 1, 0, 0]), torch.tensor([1, 0, 1, 0]))
    assert metrics["patch_precision"] == 0.5 and metrics["patch_recall"] == 0.5 and metrics["patch_f1"] == 0.5
    assert metrics["patch_accuracy"] == 0.5
    nothing = detection_metrics(torch.zeros(4), torch.zeros(4))
    assert nothing["patch_precision"] is None and nothing["patch_recall"] is None and nothing["patch_accuracy"] == 1.0


def test_roc_auc_on_hand_computed_cases():
    from latent_ofer_hf.evaluation.metrics import roc_auc

    truth = torch.tensor([True, True, False, False])
    assert roc_auc(torch.tensor([0.9, 0.8, 0.1, 0.2]), truth) == 1.0
    assert roc_auc(torch.tensor([0.1, 0.2, 0.9, 0.8]), truth) == 0.0
    # pairs (pos, neg): (0.9 > 0.5), (0.9 > 0.1), (0.3 < 0.5), (0.3 > 0.1) → 3 of 4
    assert roc_auc(torch.tensor([0.9, 0.3, 0.5, 0.1]), truth) == 0.75
    assert roc_auc(torch.tensor([0.5, 0.5, 0.5, 0.5]), truth) == 0.5  # ties count half
    assert roc_auc(torch.tensor([0.5, 0.2]), torch.tensor([True, True])) is None


def test_latent_separability_finds_an_occluder_the_latents_can_see():
    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.evaluation.separability import MASKED_ERROR, latent_separability
    from latent_ofer_hf.models.vit_latents import ViTLatentBackbone

    torch.manual_seed(0)
    vit = ViTLatentBackbone(preset_config("tiny").vit_config)
    clean = torch.randn(24, 3, 224, 224) * 0.1
    occluded = torch.randn(6, 3, 224, 224) * 0.1
    masks = torch.zeros(6, 14, 14, dtype=torch.bool)
    masks[:, 3:7, 4:10] = True
    occluded[:, :, 48:112, 64:160] = 3.0  # a bright block exactly over the masked patches
    recognizer = ExpressionRecognizer(preset_config("tiny").recognizer_config)
    aucs = latent_separability(vit, clean, occluded, masks, families=["a"] * 3 + ["b"] * 3, recognizer=recognizer)
    names = {"pixels", "embeddings", "encoder output", "decoder_embed", "decoder output", MASKED_ERROR}
    assert names <= set(aucs) and "encoder layer 1" in aucs and "pixels | b" in aucs
    assert aucs["pixels"] == 1.0 and aucs["decoder_embed"] > 0.9  # the block is far from every clean patch
    # hidden, the block's patches are predicted from clean neighbours: far off (an error misplaced onto the visible
    # patches would rank them at chance)
    assert aucs[MASKED_ERROR] > 0.9 and aucs[f"{MASKED_ERROR} | a"] > 0.9
    assert aucs["recognizer stem"] > 0.9 and "recognizer stage 1" in aucs  # CNN features see the block too


def test_the_separability_command_refuses_wrong_folders_and_sizes_before_any_work(tmp_path, capsys):
    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.evaluation.separability import main as separability
    from latent_ofer_hf.models.vit_latents import ViTLatentBackbone

    ViTLatentBackbone(preset_config("tiny").vit_config).save_pretrained(tmp_path / "vit")
    ExpressionRecognizer(preset_config("tiny").recognizer_config).save_pretrained(tmp_path / "recognizer")
    vit, recognizer = str(tmp_path / "vit"), str(tmp_path / "recognizer")
    cases = {
        "recogniser as the ViT": (["--vit", recognizer], "where a 'latent-ofer-vit-latents' one"),
        "ViT as the recogniser": (["--vit", vit, "--recognizer", vit], "(ExpressionRecognizer) is needed"),
        "missing folder": (["--vit", str(tmp_path / "nope")], "no such folder"),
        "one clean face": (["--vit", vit, "--num_clean", "1"], "at least 2"),
        "output folder missing": (["--vit", vit, "--output", str(tmp_path / "no" / "a.json")], "does not exist"),
    }
    for name, (args, message) in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            separability(args)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and "Traceback" not in err, (name, err)


def test_the_masked_prediction_masks_hide_every_patch_once_with_its_neighbors_visible():
    from latent_ofer_hf.evaluation.separability import block_masks

    masks = block_masks(14, block=2).reshape(4, 14, 14)
    assert masks.sum(0).eq(1).all()  # every patch predicted exactly once
    for mask in masks:
        hidden_rows, hidden_columns = mask.nonzero(as_tuple=True)
        for row, column in zip(hidden_rows.tolist(), hidden_columns.tolist(), strict=True):
            block_row, block_column = row - row % 2, column - column % 2  # its own 2x2 block
            neighbors = mask[max(block_row - 1, 0) : block_row + 3, max(block_column - 1, 0) : block_column + 3]
            assert neighbors.sum() == mask[block_row : block_row + 2, block_column : block_column + 2].sum()


def test_the_separability_command_writes_every_representation_and_family(tmp_path):
    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.evaluation.separability import main as separability
    from latent_ofer_hf.models.vit_latents import ViTLatentBackbone

    torch.manual_seed(5)  # "trained": any weights other than the seed-0 initialisation
    ViTLatentBackbone(preset_config("tiny").vit_config).save_pretrained(tmp_path / "vit")
    ExpressionRecognizer(preset_config("tiny").recognizer_config).save_pretrained(tmp_path / "recognizer")
    args = ["--vit", str(tmp_path / "vit"), "--num_clean", "6", "--num_occluded", "6"]
    args += ["--recognizer", str(tmp_path / "recognizer")]
    trained = separability([*args, "--output", str(tmp_path / "a.json")])
    random = separability([*args, "--random_weights"])
    saved = json.loads((tmp_path / "a.json").read_text())["roc_auc"]
    assert saved == pytest.approx(trained) and trained["pixels"] == random["pixels"]  # pixels need no weights
    assert trained["decoder_embed"] != random["decoder_embed"]  # re-initialised (seed 0), not the saved weights
    assert trained["recognizer stage 1"] != random["recognizer stage 1"]  # the recogniser re-initialised too
    assert "recognizer stem" in saved and "MAE masked-prediction error" in saved
    assert any(" | " in key for key in saved)  # per occluder family


def test_synthfer_s_clean_face_is_the_occluded_one_without_its_occluder():
    occluded = synthfer_sample(4, split="test", occlusion="unseen")
    clean = synthfer_sample(4, split="test")
    outside = ~occluded.pixel_mask & (occluded.image == clean.image).all(-1) | occluded.pixel_mask
    assert occluded.pixel_mask.any() and outside.mean() > 0.97  # semi-transparent borders aside


# ------------------------------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def system_dir(tmp_path_factory) -> Path:
    return save_fitted_tiny_system(tmp_path_factory.mktemp("system") / "tiny")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cli_launched(args: list[str], processes: int = 2) -> str:
    """``latent-ofer ARGS`` under ``accelerate launch`` with two real CPU processes (gloo); with ``processes=1``, one
    process as a plain ``accelerate launch`` starts it (``OMP_NUM_THREADS=1`` in its environment, as the launcher
    sets it unless told otherwise)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCELERATE_")}
    env.update({"ACCELERATE_USE_CPU": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"})
    several = ["--multi_gpu", "--main_process_port", str(_port())] if processes > 1 else []
    launch = [sys.executable, "-m", "accelerate.commands.launch", *several, "--num_processes", str(processes),
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
              "-m", "latent_ofer_hf.cli", *args]  # fmt: skip
    result = subprocess.run(launch, env=env, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout + result.stderr


def test_evaluate_in_one_process_and_in_two_gives_the_same_results(system_dir, tmp_path):
    args = ["evaluate", "--model", str(system_dir), "--data", "synthfer", "--occlusion", "unseen",
            "--num_images", "14", "--batch_size", "4"]  # fmt: skip
    if importlib.util.find_spec("fer") and importlib.util.find_spec("h5py"):
        args += ["--peer", "fer"]  # a real peer, gathered like the system's predictions
    assert cli([*args, "--output_dir", str(tmp_path / "one")]) == 0
    one = json.loads((tmp_path / "one" / "results.json").read_text())
    assert (tmp_path / "one" / "confusion_matrix.png").stat().st_size > 1000
    with Image.open(tmp_path / "one" / "reconstructions.png") as grid:  # occluded | MAE | hybrid | ground truth
        assert grid.size == (4 * 112, 20 + 4 * 112)  # the first batch: 4 faces
    assert one["recognition"]["num_samples"] == 14 and "detection" in one and "reconstruction" in one
    # into the same folder: the main process alone replaces the earlier files (another process removed the new
    # results.json it had not seen written yet) and says so once
    log = _cli_launched([*args, "--output_dir", str(tmp_path / "one")])
    assert log.count("replaced the results in") == 1 and log.count("balanced accuracy") == 1, log[-3000:]
    two = json.loads((tmp_path / "one" / "results.json").read_text())
    assert (tmp_path / "one" / "confusion_matrix.png").is_file() and (
        tmp_path / "one" / "reconstructions.png"
    ).is_file()
    assert two["spec"]["num_processes"] == 2 and one["spec"]["num_processes"] == 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert two["spec"]["cpu_threads"] == max(1, cores // 2)  # each process its share of the cores
    _cli_launched([*args, "--output_dir", str(tmp_path / "launched")], processes=1)
    launched = json.loads((tmp_path / "launched" / "results.json").read_text())
    assert launched["spec"]["cpu_threads"] == cores, launched["spec"]  # not the launcher's OMP_NUM_THREADS=1
    assert launched["recognition"] == one["recognition"] and launched["detection"] == one["detection"]
    assert two["recognition"] == one["recognition"] and two["detection"] == one["detection"]
    assert two["detection_per_occluder"] == one["detection_per_occluder"] and two.get("peers") == one.get("peers")
    for key, value in one["reconstruction"].items():
        assert two["reconstruction"][key] == pytest.approx(value, rel=1e-5), key


def test_predict_over_a_data_set_in_one_process_and_in_two_gives_the_same_rows(system_dir, tmp_path):
    import datasets

    args = ["predict", "--model", str(system_dir), "--data", "synthfer", "--occlusion", "seen",
            "--num_images", "10", "--batch_size", "4"]  # fmt: skip
    assert cli([*args, "--output", str(tmp_path / "one.parquet")]) == 0
    assert cli([*args, "--output", str(tmp_path / "one.jsonl")]) == 0
    one = datasets.Dataset.from_parquet(str(tmp_path / "one.parquet")).to_list()
    assert [row["index"] for row in one] == list(range(10))
    assert datasets.Dataset.from_json(str(tmp_path / "one.jsonl"))["prediction"] == [r["prediction"] for r in one]
    first = one[0]
    assert first["prediction"] == max(first["scores"], key=first["scores"].get) and len(first["occlusion_mask"]) == 196
    _cli_launched([*args, "--output", str(tmp_path / "two.parquet")])
    two = datasets.Dataset.from_parquet(str(tmp_path / "two.parquet")).to_list()
    assert [row["index"] for row in two] == list(range(10))  # every face once, in order
    for a, b in zip(one, two, strict=True):
        assert (a["label"], a["prediction"], a["occlusion_mask"]) == (b["label"], b["prediction"], b["occlusion_mask"])
        assert a["score"] == pytest.approx(b["score"], rel=1e-4)
    assert cli(["predict", "--data", "synthfer", "--model", str(system_dir), "--output", str(tmp_path / "x.csv")]) == 2


def test_predict_over_image_files_names_each_row_s_file(system_dir, tmp_path):
    import datasets

    root = tmp_path / "faces"
    for index, label in enumerate(["sad", "happy", "sad", "fear", "happy"]):
        (root / label).mkdir(parents=True, exist_ok=True)
        Image.fromarray(synthfer_sample(index).image).save(root / label / f"face_{index}.png")
    output = tmp_path / "rows.jsonl"
    args = ["predict", "--model", str(system_dir), "--data", "imagefolder", "--data_dir", str(root),
            "--batch_size", "2", "--output", str(output)]  # fmt: skip
    assert cli(args) == 0
    rows = datasets.Dataset.from_json(str(output)).to_list()
    assert sorted(row["file"] for row in rows) == sorted(
        path.relative_to(root).as_posix() for path in root.rglob("*.png")
    )
    assert all(row["file"].split("/")[0] == row["label"] for row in rows)  # each row is its own file's
    parts = {}
    for split in ("train", "validation"):  # train.py's own split of a folder, not the test rows again
        assert cli([*args[:-1], str(tmp_path / f"{split}.jsonl"), "--split", split]) == 0
        parts[split] = set(datasets.Dataset.from_json(str(tmp_path / f"{split}.jsonl"))["file"])
    assert parts["train"] and parts["validation"] and not parts["train"] & parts["validation"]
    assert parts["train"] | parts["validation"] == {row["file"] for row in rows}
    synthetic = tmp_path / "synthfer.jsonl"
    assert cli(["predict", "--model", str(system_dir), "--data", "synthfer", "--num_images", "2",
                "--output", str(synthetic)]) == 0  # fmt: skip
    assert "file" not in datasets.Dataset.from_json(str(synthetic)).column_names  # drawn in memory, no files


def test_a_gaussian_head_s_masks_are_what_the_system_fills_and_is_scored_on(system_dir, tmp_path, capsys):
    from latent_ofer_hf.evaluation.evaluate import load_system
    from latent_ofer_hf.evaluation.gaussian_masks import gaussian_mask_report
    from latent_ofer_hf.evaluation.gaussian_masks import main as gaussian_masks

    torch.manual_seed(0)
    model = load_system(str(system_dir))
    clean = torch.randn(30, 3, 224, 224) * 0.1
    occluded = clean[24:28].clone()  # held-out clean faces: outside the block no patch scores above all of them
    truth = torch.zeros(4, 14, 14, dtype=torch.bool)
    truth[:, 3:7, 4:10] = True
    occluded[:, :, 48:112, 64:160] = 3.0  # a bright block exactly over the true patches
    faces = {"pixel_values": occluded, "labels": torch.tensor([0, 1, 2, 3]), "patch_mask": truth}
    report = gaussian_mask_report(
        model, clean[:24], clean[24:], faces, representation="pixels", covariance="diagonal", nus=(1e-6,)
    )
    found = report["gaussian"]["1e-06"]
    assert found["recall"] == 1.0 and found["precision"] >= 24 / 25  # the block (and at most the top clean patch)
    assert 24 / 196 <= found["flagged"] <= 25 / 196 and found["flagged_by_row"][5] >= 6 / 14
    assert 0.0 <= found["accuracy"] <= 1.0 and set(report["detector"]) >= {"accuracy", "precision", "recall"}
    args = ["--model", str(system_dir), "--occlusion", "unseen", "--num_images", "3", "--num_clean", "4"]
    written = gaussian_masks([*args, "--num_held_out", "2", "--nu", "0.1", "--output", str(tmp_path / "r.json")])
    assert json.loads((tmp_path / "r.json").read_text())["gaussian"]["0.1"] == written["gaussian"]["0.1"]
    for bad, message in (
        (["--nu", "0"], "--nu values must be in (0, 1)"),
        (["--occlusion", "sunglasses"], "unknown occlusion protocol"),
        (["--num_clean", "1"], "--num_clean needs at least 2"),
        (["--representation", "no such layer"], "is not one of"),
        (["--occlusion", "grad_occlusion:0.3"], "needs a CAM model"),
        (["--model", str(system_dir / "vit")], "is not a saved Latent-OFER system"),
    ):
        with pytest.raises(SystemExit):  # one line, as argparse says it
            gaussian_masks([*args, *bad])
        assert message in capsys.readouterr().err, bad


def test_a_ratio_protocol_without_a_ratio_records_the_default_it_ran(system_dir, tmp_path):
    args = ["evaluate", "--model", str(system_dir), "--occlusion", "random_patch", "--num_images", "2"]
    assert cli([*args, "--output_dir", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "results.json").read_text())["spec"]["occlusion"] == "random_patch:0.3"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--data", "rafdb", "--data_dir", "/no/such/folder"], "is not a folder"),
        (["--data", "kdef"], "--data kdef needs --data_dir (the data set's folder)"),
        (["--occlusion", "sunglasses"], "unknown occlusion protocol"),
        (["--occlusion", "random_patch:2"], "ratio must be in"),
        (["--occlusion", "random_patch:0.001"], "hides no patch of the 196"),
    ],
)
def test_bad_input_is_one_clear_line(system_dir, tmp_path, capsys, extra, message):
    code = cli(["evaluate", "--model", str(system_dir), "--output_dir", str(tmp_path), *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_numbers_and_splits_are_checked_before_the_model_loads(tmp_path, capsys):
    for extra, message in (
        (["--seed", "-1"], "argument --seed: must be a non-negative integer, got -1"),
        (["--num_images", "0"], "argument --num_images: must be at least 1"),
        (["--batch_size", "0"], "argument --batch_size: must be at least 1"),
        (["--split", "val"], "argument --split: invalid choice: 'val'"),
    ):
        with pytest.raises(SystemExit):  # argparse's usage error, before any loading
            cli(["evaluate", "--model", str(tmp_path / "not-loaded"), "--output_dir", str(tmp_path), *extra])
        err = capsys.readouterr().err
        assert message in err and "Loading" not in err and "Traceback" not in err


def test_a_model_folder_without_a_detector_is_refused(system_dir, tmp_path, capsys):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(system_dir, broken)
    shutil.rmtree(broken / "detector")
    code = cli(["evaluate", "--model", str(broken), "--num_images", "7", "--output_dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "missing detector" in err and len(err.strip().splitlines()) == 1
    assert np.all([not (tmp_path / "out" / "results.json").exists()])


# ------------------------------------------------------------------------------------------------------- cards
def test_evaluate_writes_a_card_whose_eval_results_equal_results_json(system_dir, tmp_path):
    import shutil

    from huggingface_hub import ModelCard

    folder = tmp_path / "system"
    shutil.copytree(system_dir, folder)
    args = ["evaluate", "--model", str(folder), "--occlusion", "unseen", "--num_images", "7", "--batch_size", "7",
            "--output_dir", str(tmp_path / "out"), "--write_card"]  # fmt: skip
    assert cli(args) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    card = ModelCard.load(folder / "README.md")
    found = {(r.dataset_config, r.metric_type): r.metric_value for r in card.data.eval_results}
    expected = {
        ("unseen", "accuracy"): results["recognition"]["accuracy"],
        ("unseen", "balanced_accuracy"): results["recognition"]["balanced_accuracy"],
        ("unseen", "psnr"): results["reconstruction"]["psnr_hole"],
        ("unseen", "ssim"): results["reconstruction"]["ssim_hole"],
    }
    for key in ("patch_precision", "patch_recall", "patch_f1"):
        if results["detection"][key] is not None:
            expected[("unseen", key.removeprefix("patch_"))] = results["detection"][key]
    assert found.keys() == expected.keys()
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, abs=1e-6), key
    text = (folder / "README.md").read_text()
    assert 'pipeline("occluded-fer"' in text and "CC BY-NC 4.0" in text and card.data.license == "mit"


def test_a_card_rewritten_for_the_exported_demo_checkpoint_keeps_its_synthfer_warning_and_command(tmp_path):
    import shutil

    from latent_ofer_hf import DEMO_CHECKPOINT
    from latent_ofer_hf.evaluation.cards import SYNTHFER_WARNING

    folder = tmp_path / "demo"
    shutil.copytree(DEMO_CHECKPOINT, folder)  # exported: no stages/, the data only in config.json
    before = (folder / "README.md").read_text()
    command = "accelerate launch train.py --stage all --preset demo --data synthfer --seed 0"
    assert command in before and not (folder / "stages").exists()
    args = ["evaluate", "--model", str(folder), "--occlusion", "unseen", "--num_images", "2", "--batch_size", "2",
            "--output_dir", str(tmp_path / "out"), "--write_card"]  # fmt: skip
    assert cli(args) == 0
    after = (folder / "README.md").read_text()
    assert SYNTHFER_WARNING in after and "`None`" not in after
    assert f"```bash\n{command}" in after and after != before


def test_a_card_keeps_other_conditions_records_its_faces_and_refuses_what_the_system_does_not_run(
    system_dir, tmp_path, capsys
):
    import shutil

    from huggingface_hub import ModelCard

    shutil.copytree(system_dir, tmp_path / "first")
    base = ["evaluate", "--num_images", "7", "--batch_size", "7"]
    unseen = ["--occlusion", "unseen", "--output_dir", str(tmp_path / "unseen"), "--write_card"]
    assert cli([*base, "--model", str(tmp_path / "first"), *unseen]) == 0
    folder = tmp_path / "moved"  # a copied system keeps its card's name
    shutil.copytree(tmp_path / "first", folder)
    base += ["--model", str(folder)]
    assert cli([*base, "--occlusion", "none", "--output_dir", str(tmp_path / "clean"), "--write_card"]) == 0
    card = ModelCard.load(folder / "README.md")
    assert {r.dataset_config for r in card.data.eval_results} == {"unseen", "none"}  # the first run's kept
    assert {tuple(r.dataset_args.items()) for r in card.data.eval_results} == {(("num_images", 7), ("seed", 0))}
    assert card.data.model_name == "first" and card.data.pipeline_tag == "image-classification"
    assert "--occlusion unseen --num_images 7 --seed 0 --output_dir results/synthfer_test_unseen`" in card.text
    assert "| 7 |" in card.text
    # the card's command runs as printed, on the folder the card names ("path/to/this/folder" before upload)
    printed = re.search(r"`(latent-ofer evaluate --model path/to/this/folder [^`]*--occlusion unseen[^`]*)`", card.text)
    again = shlex.split(printed.group(1).replace("path/to/this/folder", str(folder)))[1:]
    again[again.index("--output_dir") + 1] = str(tmp_path / "again")
    assert cli(again) == 0
    accuracy = json.loads((tmp_path / "again" / "results.json").read_text())["recognition"]["accuracy"]
    carded = {(r.dataset_config, r.metric_type): r.metric_value for r in card.data.eval_results}
    assert carded["unseen", "accuracy"] == round(accuracy, 6)
    before = (folder / "README.md").read_text()
    capsys.readouterr()
    refused = {
        "component": (["--model", str(folder / "recognizer")], "writes a whole system's card"),
        "oracle mask": (["--occlusion", "unseen", "--mask", "ground_truth"], "not a run with --mask ground_truth"),
        "mae only": (["--reconstruction", "mae"], "not a run with --reconstruction mae"),
        "robustness": (["--protocol", "robustness"], "run it without --protocol"),
    }
    for name, (flags, message) in refused.items():
        args = [*base, "--output_dir", str(tmp_path / name), "--write_card", *flags]
        assert cli(args) == 2, name  # (a later --model wins: the component case)
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (name, err)
    assert (folder / "README.md").read_text() == before and not (folder / "recognizer" / "README.md").exists()
    fewer = [*base, "--num_images", "5", "--occlusion", "unseen", "--output_dir", str(tmp_path / "five")]
    assert cli([*fewer, "--write_card"]) == 0  # other faces than the card's: it says what it replaced
    said = "synthfer test (occlusion: unseen): the card's results (7 faces, seed 0) replaced by this run's (5 faces"
    assert said in capsys.readouterr().err


def test_a_card_rewritten_by_evaluate_keeps_the_training_command_train_py_wrote(system_dir, tmp_path):
    import shutil

    from latent_ofer_hf.evaluation.cards import write_system_card

    folder = tmp_path / "system"
    shutil.copytree(system_dir, folder)
    command = "accelerate launch train.py --stage all --preset tiny --data synthfer --seed 0 --max_train_steps 2"
    write_system_card(folder, [], trained_on="synthfer", training_command=command, labels=["happy"])
    stage = folder / "stages" / "recognizer"  # as train.py leaves it: the flags, and the card with the full command
    stage.mkdir(parents=True)
    (stage / "training_args.json").write_text(json.dumps({"preset": "tiny", "data": "synthfer", "seed": 0}))
    args = [
        "evaluate",
        "--model",
        str(folder),
        "--num_images",
        "2",
        "--output_dir",
        str(tmp_path / "o"),
        "--write_card",
    ]
    assert cli(args) == 0
    assert f"```bash\n{command}\n```" in (folder / "README.md").read_text()  # every flag, not preset/data/seed alone


def test_evaluate_refuses_options_it_would_ignore_and_leaves_no_stale_plots(system_dir, tmp_path, capsys):
    import shutil

    base = ["evaluate", "--model", str(system_dir), "--num_images", "7", "--batch_size", "7"]
    cases = {
        "robustness with an occlusion": (["--protocol", "robustness", "--occlusion", "unseen"], "drop --occlusion"),
        "a baseline without a curve": (["--baseline", str(system_dir)], "--baseline is the curve compared"),
        "a CAM model without Grad-occlusion": (["--cam_model", str(system_dir)], "--cam_model picks the patches"),
        "--data_dir with synthfer": (["--data_dir", str(tmp_path)], "--data synthfer is generated"),
        "a component": (["--model", str(system_dir / "vit")], "holds one component of a system (its vit/)"),
        "a file as the model": (["--model", __file__], "test_evaluation.py: a file, not a folder"),
        "a latent recogniser alone": (["--model", str(system_dir / "recognizer")], "reads ViT latents (use_latents"),
        "a latent recogniser as baseline": (
            ["--protocol", "robustness", "--baseline", str(system_dir / "recognizer")],
            "reads ViT latents (use_latents",
        ),
        "a file as output": (["--output_dir", __file__], "is a file, not a folder"),
        "an empty output": (["--output_dir", ""], "--output_dir is empty"),
        "an output that cannot be made": (["--output_dir", str(Path(__file__) / "sub")], "cannot create it"),
        "a mask with no fill": (
            ["--occlusion", "unseen", "--mask", "ground_truth", "--reconstruction", "none"],
            "--reconstruction none fills nothing",
        ),
        "a system as the CAM model": (
            ["--occlusion", "grad_occlusion:0.3", "--cam_model", str(system_dir)],
            "holds a 'latent-ofer' model, not an image classifier",
        ),
        "a count for a folder": (["--data", "imagefolder", "--data_dir", str(tmp_path)], "counts generated SynthFER"),
        "a mistyped baseline": (["--protocol", "robustness", "--baseline", str(tmp_path / "typo")], "no such folder"),
    }
    for name, (flags, message) in cases.items():
        assert cli([*base, "--output_dir", str(tmp_path / "x"), *flags]) == 2, name
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (name, err)
    out = tmp_path / "out"
    assert cli([*base, "--occlusion", "unseen", "--output_dir", str(out)]) == 0
    assert (out / "reconstructions.png").is_file()
    capsys.readouterr()
    kept = (out / "results.json").read_text()
    broken = tmp_path / "broken"  # fails inside the evaluation, after the checks
    shutil.copytree(system_dir, broken, ignore=shutil.ignore_patterns("detector"))
    assert cli([*base, "--occlusion", "none", "--output_dir", str(out), "--model", str(broken)]) == 2
    assert (out / "results.json").read_text() == kept and (out / "reconstructions.png").is_file()  # a failed run
    assert cli([*base, "--occlusion", "none", "--output_dir", str(out)]) == 0
    assert "replaced the results in" in capsys.readouterr().err
    assert not (out / "reconstructions.png").exists()  # the unseen run's plot is not left beside clean results
    assert json.loads((out / "results.json").read_text())["spec"]["occlusion"] == "none"


def test_evaluate_on_a_folder_skips_a_truncated_file_and_says_a_synthfer_model_is_not_for_photos(
    system_dir, tmp_path, capsys
):
    import shutil

    from latent_ofer_hf.evaluation.cards import eval_results, evaluation_commands

    root = tmp_path / "faces"
    for label, index in (("happy", 0), ("sad", 1)):
        (root / label).mkdir(parents=True)
        Image.fromarray(synthfer_sample(index, split="test").image).save(root / label / "face.jpg")
    whole = (root / "happy" / "face.jpg").read_bytes()
    (root / "sad" / "cut.jpg").write_bytes(whole[: len(whole) // 2])  # opens, fails only when decoded
    model = tmp_path / "model"
    shutil.copytree(system_dir, model)
    config = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps({**config, "training_data": "synthfer"}))
    args = ["evaluate", "--model", str(model), "--data", "imagefolder", "--data_dir", str(root)]
    assert cli([*args, "--output_dir", str(tmp_path / "out")]) == 0
    assert "NOTE: This model was trained only on SynthFER" in capsys.readouterr().err
    rows = ["predict", "--model", str(model), "--data", "imagefolder", "--data_dir", str(root)]
    assert cli([*rows, "--output", str(tmp_path / "rows.jsonl")]) == 0  # its rows: the same notice
    assert "NOTE: This model was trained only on SynthFER" in capsys.readouterr().err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["recognition"]["num_samples"] == 2 and results["spec"]["num_images"] is None
    command = evaluation_commands(eval_results([results]))
    assert "--data imagefolder --data_dir path/to/imagefolder --split test --occlusion none --output_dir" in command


def test_predict_over_a_data_set_honours_no_reconstruct_and_refuses_image_options(system_dir, tmp_path, capsys):
    import datasets

    args = ["predict", "--model", str(system_dir), "--data", "synthfer", "--occlusion", "random_patch:0.5",
            "--num_images", "7", "--batch_size", "7"]  # fmt: skip
    assert cli([*args, "--output", str(tmp_path / "hybrid.jsonl")]) == 0
    assert cli([*args, "--no-reconstruct", "--output", str(tmp_path / "raw.jsonl")]) == 0
    hybrid, raw = (datasets.Dataset.from_json(str(tmp_path / f"{n}.jsonl"))["score"] for n in ("hybrid", "raw"))
    assert hybrid != raw  # the recogniser read other faces
    for flag in (["--top-k", "2"], ["--json"], ["--no-detector"], ["--device", "bogus"]):
        assert cli([*args, *flag, "--output", str(tmp_path / "x.jsonl")]) == 2
        assert f"{flag[0]} is for images" in capsys.readouterr().err


def test_the_sizes_command_takes_the_module_s_options_and_checks_them(capsys):
    assert cli(["sizes", "--presets", "tiny", "--masked-patches", "98"]) == 0
    assert "tiny" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        cli(["sizes", "--presets", "tiny", "--masked-patches", "500"])
    assert "--masked-patches must be in 1..195" in capsys.readouterr().err


def test_a_system_card_names_its_detector_as_it_was_trained(tmp_path):
    """A one-class detector is 'fitted on clean patches only'; a Deep SAD one (the shipped one) is not said to be."""
    from latent_ofer_hf import DEMO_CHECKPOINT
    from latent_ofer_hf.evaluation.cards import DETECTOR_PHRASES, write_system_card

    kwargs = {"trained_on": "synthfer", "training_command": "c", "labels": ["a"]}
    folder = tmp_path / "system"
    (folder / "detector").mkdir(parents=True)
    for objective, phrase in (("soft-boundary", "one-class"), ("semi-supervised", "semi-supervised")):
        (folder / "detector" / "config.json").write_text(json.dumps({"objective": objective}))
        text = write_system_card(folder, [], **kwargs).read_text()
        assert DETECTOR_PHRASES[phrase] in text, objective
        other = DETECTOR_PHRASES["one-class" if phrase == "semi-supervised" else "semi-supervised"]
        assert other not in text
    shipped = (Path(DEMO_CHECKPOINT) / "README.md").read_text()
    assert DETECTOR_PHRASES["semi-supervised"] in shipped and DETECTOR_PHRASES["one-class"] not in shipped


def test_a_component_card_says_synthfer_is_not_for_real_photos():
    from huggingface_hub import ModelCard

    from latent_ofer_hf.evaluation.cards import component_card

    command = "accelerate launch train.py --stage detector"
    card = component_card("latent-ofer-hf detector", what="the detector", trained_on="synthfer",
                          training_command=command, training_summary="3 steps")  # fmt: skip
    parsed = ModelCard(str(card))
    assert "not meaningful" in parsed.text and "train.py --stage detector" in parsed.text
    assert parsed.data.license == "mit" and "latent-ofer" in parsed.data.tags
    rafdb = component_card("x", what="y", trained_on="rafdb", training_command="c", training_summary="s")
    assert rafdb.data.license == "other" and "non-commercial" in rafdb.text
    # weights that started from an MAE checkpoint (train.py --init_from) carry its licence, not the code's
    hub_mae = component_card("x", what="y", trained_on="synthfer", training_command="c", training_summary="s",
                             base_model="facebook/vit-mae-base")  # fmt: skip
    assert hub_mae.data.license == "cc-by-nc-4.0" and hub_mae.data.base_model == "facebook/vit-mae-base"
    local = component_card("x", what="y", trained_on="synthfer", training_command="c", training_summary="s",
                           base_model="/data/my_mae")  # fmt: skip
    assert local.data.license == "other" and local.data.base_model is None  # a local path is no Hub link


def test_a_system_card_records_the_mae_its_vit_started_from(system_dir, tmp_path):
    import shutil

    from huggingface_hub import ModelCard

    from latent_ofer_hf.evaluation.cards import write_system_card

    folder = tmp_path / "system"
    shutil.copytree(system_dir, folder)
    (folder / "stages" / "mae").mkdir(parents=True, exist_ok=True)
    (folder / "stages" / "mae" / "training_args.json").write_text(json.dumps({"init_from": "facebook/vit-mae-large"}))
    card = ModelCard.load(write_system_card(folder, [], trained_on="synthfer", training_command="c", labels=["a"]))
    assert card.data.license == "cc-by-nc-4.0" and card.data.base_model == "facebook/vit-mae-large"


# ------------------------------------------------------------------------------------- ablations and the curve
def test_reconstruction_override_and_the_robustness_curve(system_dir, tmp_path):
    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.training.stage_teacher import cnn_only_config

    base = ["evaluate", "--model", str(system_dir), "--occlusion", "seen", "--num_images", "7", "--batch_size", "7"]
    assert cli([*base, "--output_dir", str(tmp_path / "hybrid")]) == 0
    assert cli([*base, "--reconstruction", "mae", "--output_dir", str(tmp_path / "mae")]) == 0
    hybrid = json.loads((tmp_path / "hybrid" / "results.json").read_text())
    mae = json.loads((tmp_path / "mae" / "results.json").read_text())
    assert hybrid["reconstruction_mode"] == "hybrid" and mae["reconstruction_mode"] == "mae"
    assert hybrid["reconstruction"]["psnr_hole"] != mae["reconstruction"]["psnr_hole"]  # different fills measured
    assert hybrid["detection"] == mae["detection"]  # the same detector on the same faces

    ExpressionRecognizer(cnn_only_config("tiny")).eval().save_pretrained(tmp_path / "baseline")
    baseline = str(tmp_path / "baseline")
    args = ["evaluate", "--model", str(system_dir), "--protocol", "robustness", "--baseline", baseline,
            "--num_images", "7", "--batch_size", "7", "--output_dir", str(tmp_path / "curve")]  # fmt: skip
    assert cli(args) == 0
    curve = json.loads((tmp_path / "curve" / "robustness_random_patch.json").read_text())
    assert curve["ratios"] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6] and len(curve["accuracy"]) == 3
    assert all(len(values) == 7 and all(0 <= v <= 1 for v in values) for values in curve["accuracy"].values())
    assert (tmp_path / "curve" / "robustness_random_patch.png").stat().st_size > 1000
    grad = [*args[:4], "robustness_grad", *args[5:]]
    assert cli(grad) == 0  # Grad-occlusion: the baseline's Grad-CAM picks the patches
    curve = json.loads((tmp_path / "curve" / "robustness_grad_occlusion.json").read_text())
    assert curve["kind"] == "grad_occlusion" and curve["spec"]["cam_model"] == baseline

    # the baseline itself is evaluated like a system (recognition only), on the same faces
    assert cli(["evaluate", "--model", baseline, "--num_images", "7", "--output_dir", str(tmp_path / "cnn")]) == 0
    plain = json.loads((tmp_path / "cnn" / "results.json").read_text())
    assert plain["reconstruction_mode"] == "none (plain classifier)" and "detection" not in plain
    assert plain["recognition"]["accuracy"] == pytest.approx(curve["accuracy"]["plain CNN baseline"][0])


def test_the_ground_truth_as_the_mask_measures_reconstruction_apart_from_detection(system_dir, tmp_path, capsys):
    base = ["evaluate", "--model", str(system_dir), "--occlusion", "unseen", "--num_images", "7", "--batch_size", "7"]
    assert cli([*base, "--output_dir", str(tmp_path / "detected")]) == 0
    assert cli([*base, "--mask", "ground_truth", "--output_dir", str(tmp_path / "oracle")]) == 0
    detected = json.loads((tmp_path / "detected" / "results.json").read_text())
    oracle = json.loads((tmp_path / "oracle" / "results.json").read_text())
    assert oracle["spec"]["mask"] == "ground_truth" and "detection" not in oracle and "detection" in detected
    assert oracle["reconstruction"]["psnr_hole"] != detected["reconstruction"]["psnr_hole"]
    assert oracle["recognition"]["num_samples"] == 7
    # every touched patch: a superset of the half-covered ones, so the hole is filled at least as fully
    assert cli([*base, "--mask", "ground_truth_any", "--output_dir", str(tmp_path / "any")]) == 0
    touched = json.loads((tmp_path / "any" / "results.json").read_text())
    assert touched["spec"]["mask"] == "ground_truth_any" and "detection" not in touched
    assert touched["reconstruction"]["psnr_hole"] != oracle["reconstruction"]["psnr_hole"]
    capsys.readouterr()
    assert cli(["evaluate", "--model", str(system_dir), "--mask", "ground_truth", "--output_dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "needs occluded faces with known masks" in err and len(err.strip().splitlines()) == 1


def test_grad_occlusion_hides_the_top_cam_patches(tmp_path):
    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.evaluation.evaluate import EvaluationFaces, _grad_cam
    from latent_ofer_hf.training.stage_teacher import cnn_only_config

    ExpressionRecognizer(cnn_only_config("tiny")).eval().save_pretrained(tmp_path / "cnn")
    spec = EvaluationSpec(model="x", occlusion="grad_occlusion:0.25", num_images=3, cam_model=str(tmp_path / "cnn"))
    faces = EvaluationFaces(spec)
    item = faces[0]
    assert int(item["patch_mask"].sum()) == round(0.25 * 196)
    clean = np.asarray(faces.rows[0]["image"].convert("RGB"))
    cam = _grad_cam(spec.cam_model)(Image.fromarray(clean))
    scores = cam.reshape(14, 16, 14, 16).mean(axis=(1, 3))
    chosen, others = scores[item["patch_mask"].numpy()], scores[~item["patch_mask"].numpy()]
    assert chosen.min() >= others.max() - 1e-6  # exactly the most activated patches
    with pytest.raises(ValueError, match="cam_model"):
        EvaluationFaces(EvaluationSpec(model="x", occlusion="grad_occlusion:0.2", num_images=2))


def test_curve_legend_names_are_drawn_whole():
    xs = [0.0, 0.3, 0.6]
    long_name = "peer: fer mini-Xception (FER2013), a long legend entry"
    short = curve_image(xs, {"latent-ofer": [0.7, 0.5, 0.3]})
    wide = curve_image(xs, {"latent-ofer": [0.7, 0.5, 0.3], long_name: [0.3, 0.2, 0.1]})
    text_width = ImageFont.load_default().getlength(long_name)
    assert wide.width > short.width
    assert wide.width >= 56 + 334 + 12 + text_width  # the legend column starts 12 px right of the plot


def test_the_any_coverage_oracle_flags_every_touched_patch_and_the_half_covered_one_only_those():
    from latent_ofer_hf.evaluation.oracle_masks import oracle_patch_mask

    pixel_mask = torch.zeros(1, 1, 8, 8, dtype=torch.bool)
    pixel_mask[0, 0, 0:2, 0:4] = True  # patch (0, 0) of a 2x2 grid half covered ...
    pixel_mask[0, 0, 7, 7] = True  # ... patch (1, 1) touched by one pixel
    batch = {"pixel_mask": pixel_mask, "patch_mask": torch.tensor([[[True, False], [False, False]]])}
    assert oracle_patch_mask(batch, "detected") is None
    assert oracle_patch_mask(batch, "ground_truth") is batch["patch_mask"]
    assert oracle_patch_mask(batch, "ground_truth_any").tolist() == [[[True, False], [False, True]]]


def test_a_full_covariance_sees_a_broken_correlation_the_diagonal_misses():
    from latent_ofer_hf.evaluation.separability import gaussian_scores

    torch.manual_seed(0)
    shared = torch.randn(500, 3, 1)
    reference = torch.cat([shared, shared + 0.05 * torch.randn(500, 3, 1)], -1)  # two dimensions moving together
    together, apart = torch.tensor([[1.0, 1.0]]), torch.tensor([[1.0, -1.0]])
    queries = torch.stack([together.expand(3, 2), apart.expand(3, 2)])  # [2, N=3, W=2]
    diagonal = gaussian_scores(reference, queries)
    full = gaussian_scores(reference, queries, "full", shrinkage=0.01)
    assert diagonal[1].mean() / diagonal[0].mean() < 1.1  # the same z-scores either way
    assert full[1].mean() / full[0].mean() > 20  # off the line the clean patches lie on
    with pytest.raises(ValueError, match="covariance must be one of"):
        gaussian_scores(reference, queries, "spherical")
