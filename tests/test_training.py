"""Training with Accelerate (`train.py`): arguments, every stage on the tiny preset, two real processes, exact resume
after SIGKILL, losses that go down, corrupt images skipped and counted."""

import collections
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import latent_ofer_hf  # noqa: F401  (registers the task)
from latent_ofer_hf.data.synthfer import synthfer_sample
from latent_ofer_hf.training import parse_args
from latent_ofer_hf.training.arguments import STAGES, SetupError
from latent_ofer_hf.training.run import main

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--preset", "tiny", "--data", "synthfer", "--synthfer_train_size", "48", "--synthfer_validation_size", "16",
    "--per_device_train_batch_size", "4", "--per_device_eval_batch_size", "8", "--num_train_epochs", "1",
]  # fmt: skip


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCELERATE_")}
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1",
                "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"})  # fmt: skip
    return env


def _free_port() -> int:
    """A port nothing listens on now (each launch gets its own: a killed run's port may linger)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _command(processes: int, args: list[str], precision: str = "no") -> tuple[list[str], dict[str, str]]:
    """`python train.py …` for one process; `accelerate launch --multi_gpu` with gloo on the CPU for two (with
    `--cpu` accelerate would silently run one process)."""
    env = _env()
    if processes == 1 and precision == "no":
        return [sys.executable, str(ROOT / "train.py"), *args], env
    env["ACCELERATE_USE_CPU"] = "1"
    launch = [sys.executable, "-m", "accelerate.commands.launch", *(["--multi_gpu"] if processes > 1 else []),
              "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", precision,
              "--dynamo_backend", "no", "--main_process_port", str(_free_port())]  # fmt: skip
    return [*launch, str(ROOT / "train.py"), *args], env


def _run(processes: int, args: list[str], timeout: int = 600, precision: str = "no") -> str:
    command, env = _command(processes, args, precision)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    return result.stdout + result.stderr


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """Every stage once, one process, 2 optimizer steps each: the prerequisites of the later tests."""
    output = tmp_path_factory.mktemp("train") / "system"
    _run(1, [*TINY, "--stage", "all", "--max_train_steps", "2", "--output_dir", str(output)])
    return output


# --------------------------------------------------------------------------------------------------- arguments
def test_yaml_defaults_the_command_line_overrides_and_unknown_keys_fail(tmp_path):
    config = tmp_path / "train.yaml"
    config.write_text("preset: tiny\nlearning_rate: 0.5\nrecognizer_epochs: 7\n")
    arguments = parse_args(["--config", str(config), "--learning_rate", "0.25"])
    assert arguments.common.preset == "tiny" and arguments.common.learning_rate == 0.25
    assert arguments.recognizer.recognizer_epochs == 7 and arguments.common.stage == "all"
    config.write_text("preset: tiny\nlerning_rate: 0.5\n")
    with pytest.raises(ValueError, match="unknown keys"):
        parse_args(["--config", str(config)])
    with pytest.raises(ValueError, match="needs --data_dir"):
        parse_args(["--data", "rafdb"])


def test_a_preset_s_training_defaults_sit_under_the_yaml_file_and_the_command_line(tmp_path):
    from latent_ofer_hf.presets import PRESET_TRAINING_DEFAULTS

    demo = parse_args(["--preset", "demo"])
    assert demo.mae.mae_epochs == PRESET_TRAINING_DEFAULTS["demo"]["mae_epochs"] != parse_args([]).mae.mae_epochs
    assert demo.recognizer.recognizer_optimizer == "adamw" and demo.recognizer.recognizer_init_from_teacher
    paper = parse_args(["--preset", "paper"])  # the official code's schedules [C: main.py, hybrid_recon/train.ipynb]
    assert (paper.recognizer.recognizer_epochs, paper.recognizer.recognizer_batch_size) == (60, 128)
    assert (paper.reconstructor.reconstructor_epochs, paper.reconstructor.reconstructor_batch_size) == (120, 1)
    assert paper.recognizer.recognizer_optimizer == "sgd" and paper.recognizer.recognizer_learning_rate == 0.1
    config = tmp_path / "train.yaml"
    config.write_text("preset: demo\nmae_epochs: 9\nteacher_epochs: 4\n")
    mixed = parse_args(["--config", str(config), "--teacher_epochs", "6"])
    assert (mixed.mae.mae_epochs, mixed.teacher.teacher_epochs) == (9, 6)  # YAML over preset, command line over YAML
    assert mixed.recognizer.recognizer_optimizer == "adamw"  # the YAML's preset brings its defaults too


@pytest.mark.parametrize("variant", [{}, {"branch_norm": True, "latent_head": "grid"}])
def test_the_recognizer_starts_from_the_teacher_s_trunk(tmp_path, variant):
    from latent_ofer_hf import ExpressionRecognizer, preset_config
    from latent_ofer_hf.training.stage_recognizer import init_from_teacher
    from latent_ofer_hf.training.stage_teacher import cnn_only_config

    class _Printer:
        def print(self, *args):
            pass

    config = cnn_only_config("tiny")
    for key, value in variant.items():
        setattr(config, key, value)
    teacher = ExpressionRecognizer(config)
    if variant:  # a trained LayerNorm on the CNN vector, which the recogniser must take over
        with torch.no_grad():
            teacher.cnn_norm.weight.uniform_(0.5, 1.5), teacher.cnn_norm.bias.normal_()
    teacher.save_pretrained(tmp_path / "stages" / "teacher" / "teacher")
    common = parse_args(["--preset", "tiny", "--output_dir", str(tmp_path)]).common
    fresh = ExpressionRecognizer(preset_config("tiny", recognizer_config=variant).recognizer_config)
    latent_head = {k: v.clone() for k, v in fresh.state_dict().items() if k.startswith("latent_head")}
    started = init_from_teacher(_Printer(), common, fresh)
    taught = teacher.state_dict()
    for key, value in started.state_dict().items():
        if key.startswith("resnet") or key.startswith("attention_heads"):
            assert torch.equal(value, taught[key]), key
        if key.startswith("latent_head"):
            assert torch.equal(value, latent_head[key]), key  # the teacher has none: left as initialised
    # the latent inputs of the first fusion layer start at zero: the recogniser computes the teacher's logits
    torch.manual_seed(0)
    faces, latents = torch.randn(2, 3, 224, 224), torch.randn(2, 196, started.config.latent_dim)
    with torch.no_grad():
        expected = teacher.eval()(pixel_values=faces).logits
        assert torch.allclose(started.eval()(pixel_values=faces, patch_latents=latents).logits, expected, atol=1e-5)
        assert not torch.allclose(fresh.fusion_head.hidden[0].weight, torch.zeros(()))  # not a dead layer


# --------------------------------------------------------------------------------------------------- all stages
def test_every_stage_trains_and_the_output_is_a_system_the_pipeline_loads(trained):
    from transformers import pipeline

    for stage, name in [("mae", "vit"), ("teacher", "teacher"), ("detector", "detector"),
                        ("reconstructor", "reconstructor"), ("recognizer", "recognizer")]:  # fmt: skip
        folder = trained / "stages" / stage
        assert (folder / "stage_done.json").is_file() and (folder / name / "model.safetensors").is_file(), stage
        resolved = json.loads((folder / "training_args.json").read_text())
        assert resolved["preset"] == "tiny" and resolved["max_train_steps"] == 2
        assert (
            "synthetic cartoon faces" in (folder / name / "README.md").read_text()
            or "SynthFER" in (folder / name / "README.md").read_text()
        )
        assert json.loads((folder / "stage_done.json").read_text())["global_step"] == 2
    assert sorted(p.name for p in trained.iterdir() if p.is_dir()) == [
        "detector", "recognizer", "reconstructor", "stages", "vit"
    ]  # fmt: skip
    # the system holds the stages' best weights, untouched by assembling it
    for slot, (stage, name) in {"vit": ("mae", "vit"), "detector": ("detector", "detector"),
                                "reconstructor": ("reconstructor", "reconstructor"),
                                "recognizer": ("recognizer", "recognizer")}.items():  # fmt: skip
        saved = _weights(trained / "stages" / stage / name)
        assert all(torch.equal(value, saved[key]) for key, value in _weights(trained / slot).items()), slot
    fer = pipeline("occluded-fer", model=str(trained))
    result = fer(synthfer_sample(3, split="test").image, detector=None)
    assert len(result) == 1 and result[0]["label"] in fer.model.config.id2label.values()


def test_a_table_10_variant_trains_beside_the_system_and_leaves_it_as_it_was(trained, tmp_path):
    import shutil

    from latent_ofer_hf import LatentOferModel

    output = tmp_path / "system"
    shutil.copytree(trained, output)
    before = _weights(output / "recognizer")
    flags = ["--ablation", "latents_only", "--recognizer_cnn_features", "false", "--recognizer_latents", "all",
             "--recognizer_reconstruction", "false"]  # fmt: skip
    _run(1, [*TINY, "--stage", "recognizer", *flags, "--max_train_steps", "2", "--output_dir", str(output)])
    variant = LatentOferModel.from_pretrained(output / "ablations" / "latents_only")
    config = variant.recognizer.config
    assert (config.use_cnn_features, config.use_latents, config.latent_selection_ratio) == (False, True, 1.0)
    assert variant.config.reconstruction == "none"  # trained on the faces as they are, run that way
    assert json.loads((output / "stages" / "ablation-latents_only" / "stage_done.json").read_text())["global_step"] == 2
    assert "--ablation latents_only" in (output / "ablations" / "latents_only" / "README.md").read_text()
    after = _weights(output / "recognizer")
    assert all(torch.equal(value, after[key]) for key, value in before.items())  # the main system untouched
    assert all(torch.equal(v, _weights(output / "vit")[k]) for k, v in _weights(output / "ablations" /
               "latents_only" / "vit").items())  # the same frozen ViT  # fmt: skip
    fill_truth = ["--ablation", "x", "--stage", "recognizer", "--recognizer_mask", "ground_truth_any"]
    for bad, message in [(["--recognizer_latents", "none"], "name it with --ablation"),
                         (["--ablation", "x", "--stage", "all"], "use it with --stage recognizer"),
                         (["--ablation", "../x", "--stage", "recognizer"], "it names folders"),
                         (["--recognizer_mask", "ground_truth_any"], "name it with --ablation"),
                         (["--recognizer_latent_head", "grid"], "name it with --ablation"),
                         ([*fill_truth, "--recognizer_reconstruction", "false"], "needs --recognizer_reconstruction")
                         ]:  # fmt: skip
        with pytest.raises(ValueError, match=message):
            parse_args([*TINY, *bad])


def test_a_variant_can_be_trained_on_fills_of_every_patch_the_occluder_touches(trained):
    from latent_ofer_hf import LatentOferModel
    from latent_ofer_hf.evaluation.oracle_masks import oracle_patch_mask
    from latent_ofer_hf.training.stage_recognizer import latent_ofer_forward

    system = LatentOferModel.from_pretrained(trained).eval()
    pixel_values = torch.randn(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    pixel_mask = torch.zeros(2, 1, 224, 224, dtype=torch.bool)
    pixel_mask[0, 0, 100:104, 100:124] = True  # a thin occluder over parts of two patches of face 0
    batch = {"pixel_values": pixel_values, "pixel_mask": pixel_mask, "patch_mask": torch.zeros(2, 14, 14).bool()}
    seen = {}

    def recognizer(pixel_values, patch_latents, labels):
        seen["face"] = pixel_values

    latent_ofer_forward(system, mask="ground_truth_any")(recognizer, batch, None)
    touched = oracle_patch_mask(batch, "ground_truth_any")
    assert touched.sum() == 2 and touched[1].sum() == 0
    with torch.no_grad():
        assert torch.equal(seen["face"], system.reconstruct(pixel_values, touched).reconstruction)
    assert not torch.equal(seen["face"][0, :, 96:112, 96:112], pixel_values[0, :, 96:112, 96:112])  # filled


def test_the_lambda_sc_of_a_reconstructor_run_is_the_flag_s(trained, tmp_path):
    import shutil

    output = tmp_path / "sweep"
    for stage in ("mae", "teacher", "detector"):  # the sweep's runs share the earlier stages
        shutil.copytree(trained / "stages" / stage, output / "stages" / stage)
    _run(1, [*TINY, "--stage", "reconstructor", "--reconstructor_lambda_sc", "0.1", "--max_train_steps", "1",
             "--output_dir", str(output)])  # fmt: skip
    saved = json.loads((output / "stages" / "reconstructor" / "reconstructor" / "config.json").read_text())
    assert saved["lambda_sc"] == 0.1
    assert json.loads((trained / "reconstructor" / "config.json").read_text())["lambda_sc"] == 1.0
    with pytest.raises(ValueError, match="must be >= 0"):
        parse_args([*TINY, "--reconstructor_lambda_sc", "-1"])


def test_cpu_threads_are_the_process_s_share_of_its_cores_whatever_omp_num_threads_says(monkeypatch):
    from latent_ofer_hf.training.cpu import set_cpu_threads

    before = torch.get_num_threads()
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4}, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what `accelerate launch` sets unless told otherwise
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    try:
        assert set_cpu_threads(0, 1) == 5 and torch.get_num_threads() == 5
        assert set_cpu_threads(0, 2) == 2  # 5 cores, 2 processes: 2 each
        monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # 8 processes on 2 machines: 4 share these cores
        assert set_cpu_threads(0, 8) == 1
        assert set_cpu_threads(3, 8) == 3 and torch.get_num_threads() == 3  # asked for: as asked
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ValueError, match="--cpu_threads must be >= 0"):
        parse_args([*TINY, "--cpu_threads", "-1"])
    from latent_ofer_hf.training.cards import changed_flags

    run = {"preset": "demo", "data": "synthfer"}  # a count given is part of the command that repeats the run
    assert changed_flags({**run, "cpu_threads": 1}, ["cpu_threads"]) == ["--cpu_threads 1"]
    assert changed_flags({**run, "cpu_threads": 0}, ["cpu_threads"]) == []
    from latent_ofer_hf.training.cards import training_command

    common = parse_args(["--preset", "demo", "--data", "synthfer"]).common
    auto = training_command("mae", common, {**run, "cpu_threads": 0}, "mae", cpu_threads=2)  # resolved 0 → 2
    assert auto.endswith("--seed 0 --cpu_threads 2"), auto
    given = training_command("mae", common, {**run, "cpu_threads": 1}, "mae", cpu_threads=1)
    assert given.count("--cpu_threads") == 1 and given.endswith("--cpu_threads 1"), given
    assert "--cpu_threads" not in training_command("mae", common, {**run, "cpu_threads": 0}, "mae")  # a GPU run
    from types import SimpleNamespace

    from latent_ofer_hf.training.cards import cpu_threads_of_run

    on = {kind: SimpleNamespace(device=torch.device(kind)) for kind in ("cpu", "cuda")}  # where a run trained
    assert cpu_threads_of_run(on["cpu"]) == torch.get_num_threads() and cpu_threads_of_run(on["cuda"]) is None


def test_loader_workers_are_the_stage_s_own_for_a_lone_process_unless_given(monkeypatch):
    from latent_ofer_hf.training.runtime import StageSettings

    common = parse_args([*TINY]).common
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert common.dataloader_num_workers is None
    assert StageSettings.resolve(common, 4, 0.1, 1, workers=1).workers == 1
    assert StageSettings.resolve(common, 4, 0.1, 1).workers == 0  # a stage without its own count
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two training processes share the cores: no workers besides
    assert StageSettings.resolve(common, 4, 0.1, 1, workers=1).workers == 0
    given = parse_args([*TINY, "--dataloader_num_workers", "3"]).common
    assert StageSettings.resolve(given, 4, 0.1, 1, workers=1).workers == 3
    assert StageSettings.resolve(parse_args([*TINY, "--dataloader_num_workers", "0"]).common, 4, 0.1, 1,
                                 workers=1).workers == 0  # fmt: skip
    with pytest.raises(ValueError, match="--dataloader_num_workers must be >= 0"):
        parse_args([*TINY, "--dataloader_num_workers", "-1"])


def test_accelerate_launch_of_one_process_trains_on_every_core(tmp_path):
    """`accelerate launch` (no --cpu, no config) sets OMP_NUM_THREADS=1 in the process it starts: train.py must still
    use the cores, and record how many (and which CPU kernels: both affect the run's rounding)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "1", "--num_machines", "1",
              "--mixed_precision", "no", "--dynamo_backend", "no"]  # fmt: skip
    env = {key: value for key, value in _env().items() if key != "OMP_NUM_THREADS"}
    env["ATEN_CPU_CAPABILITY"] = "default"  # ATen's plain kernels, whatever this CPU has: recorded as such
    command = [*launch, str(ROOT / "train.py"), *TINY, "--stage", "teacher", "--max_train_steps", "1"]
    result = subprocess.run([*command, "--output_dir", str(tmp_path)], env=env, capture_output=True, text=True,
                            timeout=600, cwd=ROOT)  # fmt: skip
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert f"num_processes 1, cpu_threads {cores} per process" in log, log[-2000:]
    assert "teacher epoch 0" not in log, log[-2000:]  # TQDM_DISABLE=1 (in _env) silences the progress bars
    done = json.loads((tmp_path / "stages" / "teacher" / "stage_done.json").read_text())
    assert (done["device"], done["cpu_threads"], done["cpu_capability"]) == ("cpu", cores, "DEFAULT"), done
    card = (tmp_path / "stages" / "teacher" / "teacher" / "README.md").read_text()
    assert "--stage teacher --preset tiny --data synthfer --seed 0 " in card, card
    assert f" --cpu_threads {cores}\n" in card, card  # the count it resolved: what repeats the run bit for bit


def test_two_processes_train_every_stage(tmp_path):
    """Two real gloo processes (the log proves it); DDP with find_unused_parameters=False would raise on the second
    step if a trainable parameter got no gradient, so finishing also shows there are none."""
    output = tmp_path / "two"
    log = _run(2, [*TINY, "--stage", "all", "--max_train_steps", "3", "--output_dir", str(output)])
    assert "num_processes 2" in log, log[-2000:]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert f"cpu_threads {max(1, cores // 2)} per process" in log, log[-2000:]  # the cores shared by the two
    for stage in ("mae", "teacher", "detector", "reconstructor", "recognizer"):
        assert json.loads((output / "stages" / stage / "stage_done.json").read_text())["global_step"] == 3
    from transformers import pipeline

    result = pipeline("occluded-fer", model=str(output))(synthfer_sample(5, split="test").image, detector=None)
    assert len(result) == 1 and 0.0 <= result[0]["score"] <= 1.0


# --------------------------------------------------------------------------------------------------- exact resume
def _kill_at_checkpoint(processes: int, args: list[str], checkpoint: Path, timeout: float = 600) -> None:
    """Start a run and SIGKILL it (every process) as soon as `checkpoint` is complete."""
    command, env = _command(processes, args)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    try:
        while not (checkpoint / "train_state.json").is_file():
            assert process.poll() is None, f"the run ended before writing {checkpoint}"
            assert time.monotonic() < deadline, "timed out waiting for the checkpoint"
            time.sleep(0.02)
    finally:  # the launcher and every worker it started (torch's launcher gives them sessions of their own)
        try:
            family = psutil.Process(process.pid)
            members = [*family.children(recursive=True), family]
        except psutil.NoSuchProcess:
            members = []
        for member in members:
            try:
                member.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        process.wait()  # the launcher by Popen (psutil would reap it and hide its status), its workers by psutil
        psutil.wait_procs([member for member in members if member.pid != process.pid], timeout=30)
    assert process.returncode == -signal.SIGKILL, f"the run finished (rc {process.returncode}) before the kill"


@pytest.mark.parametrize("processes", [1, 2])
@pytest.mark.parametrize(("stage", "component"), [("reconstructor", "reconstructor"), ("recognizer", "recognizer")])
def test_a_killed_stage_resumes_to_the_same_weights(trained, tmp_path, stage, component, processes):
    """SIGKILL after the step-2 checkpoint of 10, resume with `latest`: bit-identical to the uninterrupted run."""
    order = ["mae", "teacher", "detector", "reconstructor", "recognizer"]

    def prepared(name: str) -> Path:
        folder = tmp_path / name
        shutil.copytree(trained / "stages", folder / "stages")
        for later in order[order.index(stage) :]:
            shutil.rmtree(folder / "stages" / later)
        return folder

    args = [*TINY, "--stage", stage, "--num_train_epochs", "4", "--max_train_steps", "10", "--checkpointing_steps", "2",
            "--checkpoints_total_limit", "2"]  # fmt: skip
    straight, interrupted = prepared("straight"), prepared("interrupted")
    _run(processes, [*args, "--output_dir", str(straight)])
    _kill_at_checkpoint(processes, [*args, "--output_dir", str(interrupted)],
                        interrupted / "checkpoints" / stage / "step_2")  # fmt: skip
    assert not (interrupted / "stages" / stage / "stage_done.json").exists()  # killed mid-stage
    log = _run(processes, [*args, "--output_dir", str(interrupted), "--resume_from_checkpoint", "latest"])
    assert "resumed from" in log and "step 2" in log
    expected = _weights(straight / "stages" / stage / component)
    got = _weights(interrupted / "stages" / stage / component)
    assert expected.keys() == got.keys()
    different = [key for key in expected if not torch.equal(expected[key], got[key])]
    assert not different, different[:5]
    assert json.loads((interrupted / "stages" / stage / "stage_done.json").read_text())["global_step"] == 10
    kept = sorted(path.name for path in (interrupted / "checkpoints" / stage).iterdir())
    assert kept == ["step_10", "step_8"], kept  # --checkpoints_total_limit 2


# --------------------------------------------------------------------------------------------------- learning
@pytest.mark.parametrize(
    ("stage", "loss", "extra"),
    [
        ("mae", "train_loss", []),
        ("teacher", "train_loss", []),
        ("detector", "train_loss", ["--detector_warmup_epochs", "9"]),  # R = 0 throughout: the loss is Σd²/(νn)
        # G's whole objective: with 48 faces and fresh random holes every epoch, its L1 term alone moves with the hole
        # sizes drawn (measured: −0.006 at lr 2e-3, +0.007 at 5e-4, +0.18 at 1e-2 over 4 epochs), while the objective
        # G minimises fell 2–3× at each of those rates
        ("reconstructor", "g_loss", []),
        ("recognizer", "train_loss", []),
    ],
)
def test_each_stage_s_training_loss_goes_down(trained, tmp_path, stage, loss, extra):
    order = ["mae", "teacher", "detector", "reconstructor", "recognizer"]
    output = tmp_path / "run"
    shutil.copytree(trained / "stages", output / "stages")
    for later in order[order.index(stage) :]:
        shutil.rmtree(output / "stages" / later)
    learning_rate = {"mae": "0.003", "reconstructor": "0.002"}.get(stage, "0.01")  # Adam on a GAN: 1e-2 diverges
    settings = [*TINY, "--num_train_epochs", "4", "--learning_rate", learning_rate]
    _run(1, [*settings, *extra, "--stage", stage, "--output_dir", str(output)])
    history = json.loads((output / "stages" / stage / "metrics.json").read_text())
    values = [epoch[f"{stage}/{loss}"] for epoch in history]
    assert len(values) == 4 and values[-1] < values[0], values


def test_the_reconstructor_s_schedule_trains_every_epoch_of_a_short_run(trained, tmp_path):
    """The official 'lambda' factor gives its last epoch a rate of 0, i.e. a 1-epoch run no update at all (our first
    demo checkpoint's U-Net stayed at its initialisation); fixed: one step or two of a 1-epoch run differ."""
    from latent_ofer_hf.training.stage_reconstructor import lambda_policy

    assert lambda_policy(0, 1) == 1.0 and all(lambda_policy(e, n) > 0 for n in (1, 2, 4, 30, 120) for e in range(n))
    assert [lambda_policy(e, 120) for e in (0, 19)] == [1.0, 1.0] and lambda_policy(20, 120) < 1.0  # 20 + 100
    weights = []
    for steps in ("1", "2"):
        output = tmp_path / steps
        for stage in ("mae", "teacher", "detector"):
            shutil.copytree(trained / "stages" / stage, output / "stages" / stage)
        _run(1, [*TINY, "--stage", "reconstructor", "--max_train_steps", steps, "--output_dir", str(output)])
        weights.append(_weights(output / "stages" / "reconstructor" / "reconstructor"))
    assert any(not torch.equal(value, weights[1][key]) for key, value in weights[0].items())


def test_a_warm_up_epoch_of_the_detector_is_never_the_one_kept(trained, tmp_path):
    """R = 0 while warming up flags every patch: an F1 a barely trained detector does not reach (it was kept)."""
    output = tmp_path / "run"
    shutil.copytree(trained / "stages" / "mae", output / "stages" / "mae")
    main([*TINY, "--stage", "detector", "--num_train_epochs", "3", "--detector_warmup_epochs", "2", "--output_dir",
          str(output)])  # fmt: skip
    history = json.loads((output / "stages" / "detector" / "metrics.json").read_text())
    assert [epoch["detector/radius"] == 0 for epoch in history] == [True, True, False]
    assert history[0]["detector/patch_recall"] == 1.0  # every patch flagged
    assert json.loads((output / "stages" / "detector" / "stage_done.json").read_text())["best_epoch"] == 2
    assert float(_weights(output / "stages" / "detector" / "detector")["radius"]) > 0


@pytest.mark.parametrize("projector", ["identity", "mlp"])
def test_the_per_position_detector_fits_its_statistics_in_the_stage(trained, tmp_path, monkeypatch, projector):
    """The demo preset's detector (per-position statistics, Φ = identity: nothing to train) and the learned Φ on
    standardised latents: the stage fits the statistics from the clean faces, then c and R, and saves them."""
    from latent_ofer_hf import presets
    from latent_ofer_hf.models.occlusion_detector import OcclusionPatchDetector

    rep_dim = 32 if projector == "identity" else 8
    config = {"latent_dim": 32, "hidden_dims": [16], "rep_dim": rep_dim, "input_normalization": "per_position"}
    monkeypatch.setitem(presets.PRESETS["tiny"], "detector_config", {**config, "projector": projector})
    output = tmp_path / "run"
    shutil.copytree(trained / "stages" / "mae", output / "stages" / "mae")
    main([*TINY, "--stage", "detector", "--detector_warmup_epochs", "0", "--detector_nu", "0.25", "--output_dir",
          str(output)])  # fmt: skip
    history = json.loads((output / "stages" / "detector" / "metrics.json").read_text())
    assert len(history) == 1 and 0 <= history[0]["detector/patch_f1"] <= 1
    assert ("detector/train_loss" in history[0]) == (projector == "mlp")
    detector = OcclusionPatchDetector.from_pretrained(output / "stages" / "detector" / "detector")
    assert bool(detector.normalization_fitted) and bool(detector.center_initialized) and float(detector.radius) > 0
    assert detector.config.nu == 0.25  # --detector_nu: R is then the 0.75-quantile of the clean distances
    assert not torch.equal(detector.position_std, torch.ones_like(detector.position_std))
    assert (len(list(detector.parameters())) == 0) == (projector == "identity")
    card = (output / "stages" / "detector" / "detector" / "README.md").read_text()
    assert ("nothing trained" in card) == (projector == "identity"), card


def test_the_semi_supervised_detector_learns_from_the_seen_occluders_of_its_training_faces(
    trained, tmp_path, monkeypatch
):
    """--detector_objective semi-supervised (the demo preset's Deep SAD): a share of the training faces carries a
    `seen` occluder and its ground-truth patches reach the loss as the known-occluded ones; c and R still come from
    clean faces only."""
    from latent_ofer_hf import presets
    from latent_ofer_hf.models.occlusion_detector import OcclusionPatchDetector

    config = {"latent_dim": 32, "hidden_dims": [16], "rep_dim": 8, "input_normalization": "per_position"}
    monkeypatch.setitem(presets.PRESETS["tiny"], "detector_config", config)
    seen_masks = []
    original = OcclusionPatchDetector.semi_supervised_loss

    def recording(self, distances_sq, occlusion_mask):
        seen_masks.append(None if occlusion_mask is None else occlusion_mask.detach().clone())
        return original(self, distances_sq, occlusion_mask)

    monkeypatch.setattr(OcclusionPatchDetector, "semi_supervised_loss", recording)
    output = tmp_path / "run"
    shutil.copytree(trained / "stages" / "mae", output / "stages" / "mae")
    flags = ["--detector_objective", "semi-supervised", "--detector_occlusion_probability", "0.5"]
    main([*TINY, "--stage", "detector", *flags, "--detector_epochs", "1", "--detector_warmup_epochs", "0",
          "--output_dir", str(output)])  # fmt: skip
    assert seen_masks and all(mask is not None for mask in seen_masks)
    occluded_faces = torch.cat([mask.any(-1) for mask in seen_masks])
    assert 0 < int(occluded_faces.sum()) < len(occluded_faces)  # about half of the faces carry an occluder
    detector = OcclusionPatchDetector.from_pretrained(output / "stages" / "detector" / "detector")
    assert detector.config.objective == "semi-supervised" and float(detector.radius) > 0
    history = json.loads((output / "stages" / "detector" / "metrics.json").read_text())
    assert len(history) == 1 and math.isfinite(history[0]["detector/train_loss"])
    card = (output / "stages" / "detector" / "detector" / "README.md").read_text()
    assert "Deep SAD head" in card and "clean ones only" not in card, card


@pytest.mark.parametrize("max_bytes", [1024**3, 0])
def test_the_detector_stage_s_clean_latents_are_computed_once_when_they_fit(max_bytes):
    """The detector stage reads the clean training faces' latents 2 + epochs times: kept after the first pass (the
    same tensors every pass), recomputed every pass when they exceed the budget."""
    from accelerate import Accelerator

    from latent_ofer_hf import preset_config
    from latent_ofer_hf.models.vit_latents import ViTLatentBackbone
    from latent_ofer_hf.training.stage_detector import CleanLatents

    vit = ViTLatentBackbone(preset_config("tiny").vit_config).eval()
    calls = []
    vit.register_forward_hook(lambda module, args, output: calls.append(1))
    faces = torch.randn(10, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    loader = torch.utils.data.DataLoader([{"pixel_values": face} for face in faces], batch_size=4)
    latents = CleanLatents(Accelerator(cpu=True), vit, loader, max_bytes=max_bytes)
    first, second = list(latents), list(latents)
    assert [len(batch) for batch in first] == [4, 4, 2] and len(calls) == (3 if max_bytes else 6)
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    with torch.no_grad():  # what the ViT gives for those batches
        expected = torch.cat([vit(faces[start : start + 4]).patch_latents for start in (0, 4, 8)])
    assert torch.equal(torch.cat(first), expected)


def test_the_detector_s_statistics_count_each_clean_face_once_in_two_processes(trained, tmp_path):
    """48 clean faces in batches of 8 over 2 processes: the last batch is uneven and accelerate repeats faces to even
    it out; the per-position statistics, centre and radius must be those of one process (each face once)."""
    flags = [
        "--stage",
        "detector",
        "--detector_projector",
        "identity",
        "--detector_input_normalization",
        "per_position",
        "--per_device_eval_batch_size",
        "20",
    ]  # fmt: skip  (48 = 2 × 20 + 8: uneven)
    fitted = {}
    for processes in (1, 2):
        output = tmp_path / f"p{processes}"
        shutil.copytree(trained / "stages" / "mae", output / "stages" / "mae")
        _run(processes, [*TINY, *flags, "--output_dir", str(output)])
        fitted[processes] = _weights(output / "stages" / "detector" / "detector")
    assert fitted[1].keys() == fitted[2].keys()
    for name, value in fitted[1].items():
        assert torch.allclose(value.double(), fitted[2][name].double(), rtol=1e-5, atol=1e-6), name


# ------------------------------------------------------------------------------------------- reruns, bad flags
def test_a_finished_stage_is_kept_and_says_so_with_the_flags_it_did_not_apply(trained, tmp_path, capsys):
    output = tmp_path / "run"
    shutil.copytree(trained / "stages" / "mae", output / "stages" / "mae")
    before = _weights(output / "stages" / "mae" / "vit")
    main([*TINY, "--stage", "mae", "--mae_mask_ratio", "0.5", "--output_dir", str(output)])
    said = capsys.readouterr().out
    assert "[mae] already trained" in said and "delete" in said
    assert "--mae_mask_ratio 0.5 (the run's: 0.75)" in said and "--stage" not in said.split("not applied")[-1]
    after = _weights(output / "stages" / "mae" / "vit")
    assert all(torch.equal(value, after[key]) for key, value in before.items())


def test_a_stage_capped_by_max_train_steps_says_how_to_go_on_and_going_on_works(tmp_path, capsys):
    run = [*TINY, "--stage", "teacher", "--checkpointing_steps", "1", "--output_dir", str(tmp_path)]
    main([*run, "--max_train_steps", "3"])
    main([*run, "--max_train_steps", "6", "--resume_from_checkpoint", "latest"])
    said = capsys.readouterr().out
    assert "[teacher] already trained" in said and "it stopped at --max_train_steps 3; to go on, delete" in said
    shutil.rmtree(tmp_path / "stages" / "teacher")  # as it says
    main([*run, "--max_train_steps", "6", "--resume_from_checkpoint", "latest"])
    assert "resumed from" in capsys.readouterr().out
    done = json.loads((tmp_path / "stages" / "teacher" / "stage_done.json").read_text())
    assert done["global_step"] == 6 and done["max_train_steps"] == 6
    with pytest.raises(SystemExit) as exit_info:  # another stage's checkpoint, for one stage: refused
        main([*TINY, "--stage", "mae", "--resume_from_checkpoint", str(tmp_path / "checkpoints" / "teacher" / "step_3"),
              "--output_dir", str(tmp_path)])  # fmt: skip
    assert (
        exit_info.value.code == 2 and "a checkpoint of stage 'teacher', not of --stage mae" in capsys.readouterr().err
    )


def test_the_cards_command_carries_every_flag_that_changed_the_run(trained):
    system = (trained / "README.md").read_text()
    assert "--stage all --preset tiny --data synthfer --seed 0" in system
    for flag in ("--synthfer_train_size 48", "--per_device_train_batch_size 4", "--max_train_steps 2"):
        assert flag in system, flag
    assert "--output_dir" not in system and "--per_device_eval_batch_size" not in system  # where, not what
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert f" --cpu_threads {cores}\n" in system  # `--cpu_threads 0` as it resolved: the seed repeats with it
    mae = (trained / "stages" / "mae" / "vit" / "README.md").read_text()
    assert "--stage mae" in mae and "--max_train_steps 2" in mae


def test_a_resume_at_an_epoch_s_end_records_no_false_training_loss(tmp_path, capsys):
    output = tmp_path / "run"
    args = [*TINY, "--stage", "mae", "--checkpointing_steps", "12", "--output_dir", str(output)]  # 48 / 4 = 12 batches
    main(args)
    first = json.loads((output / "stages" / "mae" / "metrics.json").read_text())
    assert first[0]["mae/train_loss"] > 0
    (output / "stages" / "mae" / "stage_done.json").unlink()  # as if killed after the epoch's last step
    main([*args, "--resume_from_checkpoint", "latest"])
    assert "resumed from" in capsys.readouterr().out
    again = json.loads((output / "stages" / "mae" / "metrics.json").read_text())
    assert "mae/train_loss" not in again[0] and again[0]["mae/val_loss"] == pytest.approx(first[0]["mae/val_loss"])


def test_a_resume_with_other_flags_or_another_process_count_is_refused(tmp_path, capsys):
    output = tmp_path / "run"
    args = [*TINY, "--stage", "mae", "--checkpointing_steps", "6", "--max_train_steps", "6", "--output_dir",
            str(output)]  # fmt: skip
    main(args)
    (output / "stages" / "mae" / "stage_done.json").unlink()  # as if killed at the step-6 checkpoint
    capsys.readouterr()
    state_file = output / "checkpoints" / "mae" / "step_6" / "train_state.json"
    for extra, message in (
        (["--seed", "5"], "not the flags of its run: --seed 5 (the run's: 0)"),
        (["--mae_base_learning_rate", "0.01"], "--mae_base_learning_rate 0.01 (the run's: 0.00015)"),
    ):
        with pytest.raises(SystemExit):
            main([*args, "--resume_from_checkpoint", "latest", *extra])
        assert message in capsys.readouterr().err
    saved = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**saved, "num_processes": 2}))
    with pytest.raises(SystemExit):
        main([*args, "--resume_from_checkpoint", "latest"])
    assert "written by a run of 2 process(es), resumed with 1" in capsys.readouterr().err
    state_file.write_text(json.dumps(saved)[:40])  # cut short, as by a crash while it was written
    with pytest.raises(SystemExit):
        main([*args, "--resume_from_checkpoint", "latest"])
    err = capsys.readouterr().err
    assert "train_state.json is damaged (JSONDecodeError" in err and len(err.strip().splitlines()) == 1, err
    state_file.write_text(json.dumps(saved))
    weights = state_file.parent / "model.safetensors"
    kept = weights.read_bytes()
    weights.write_bytes(kept[:100])  # weights cut short
    with pytest.raises(SystemExit):
        main([*args, "--resume_from_checkpoint", "latest"])
    err = capsys.readouterr().err
    assert "step_6 cannot be loaded (" in err and len(err.strip().splitlines()) == 1, err
    weights.write_bytes(kept)
    main([*args[:-4], "--output_dir", str(output), "--resume_from_checkpoint", "latest"])  # a later --max_train_steps
    assert "resumed from" in capsys.readouterr().out
    assert json.loads((output / "stages" / "mae" / "stage_done.json").read_text())["global_step"] == 12
    (output / "stages" / "mae" / "stage_done.json").unlink()
    main(args)  # without --resume_from_checkpoint: it starts fresh, and says what it could have continued from
    assert "holds checkpoints of an earlier run (newest: step_12): --resume_from_checkpoint latest" in (
        capsys.readouterr().out
    )


def test_a_stage_with_no_whole_batch_refuses_instead_of_training_nothing(tmp_path, capsys):
    for stage in ("mae", "teacher"):
        with pytest.raises(SystemExit):
            main(
                [*TINY, "--stage", stage, "--per_device_train_batch_size", "64", "--output_dir", str(tmp_path / stage)]
            )
        err = capsys.readouterr().err
        assert f"train.py: error: [{stage}] 48 training faces give no whole batch of 64" in err, err
        assert "Traceback" not in err
    with pytest.raises(SystemExit):  # a later stage into a folder without the earlier ones
        main([*TINY, "--stage", "detector", "--output_dir", str(tmp_path / "empty")])
    assert "train.py: error: stage 'mae' has no output" in capsys.readouterr().err


def test_bad_training_flags_are_one_line_errors_before_any_work(tmp_path, capsys):
    (tmp_path / "a_file").write_text("x")
    cases = {
        "--mae_epochs": (["--mae_epochs", "0"], "--mae_epochs must be >= 1"),
        "--teacher_learning_rate": (["--teacher_learning_rate", "-0.1"], "--teacher_learning_rate must be > 0"),
        "--recognizer_step_size": (["--recognizer_step_size", "0"], "--recognizer_step_size must be >= 1"),
        "--reconstructor_beta1": (["--reconstructor_beta1", "1.5"], "--reconstructor_beta1 must be in [0, 1)"),
        "--mae_mask_ratio": (["--mae_mask_ratio", "1"], "--mae_mask_ratio must be in (0, 1)"),
        "--recognizer_occlusion_probability": (
            ["--recognizer_occlusion_probability", "2"],
            "must be in [0, 1]",
        ),
        "--seed": (["--seed", "-1"], "--seed must be in [0, 2**32)"),
        "--detector_masks": (
            ["--detector_masks", "seen,hands"],
            "--detector_masks: unknown occlusion protocol 'hands'",
        ),
        "--reconstructor_masks": (["--reconstructor_masks", "seen:-1"], "--reconstructor_masks: "),
        "--detector_occlusion_probability": (["--detector_occlusion_probability", "0"], "must be in (0, 1]"),
        "known occluders, one-class": (
            ["--detector_masks", "seen", "--detector_occlusion_probability", "0.3"],
            "--detector_masks and --detector_occlusion_probability only apply to the semi-supervised detector",
        ),
        "Deep SAD without Φ": (
            ["--detector_objective", "semi-supervised", "--detector_projector", "identity"],
            "it needs projector='mlp'",
        ),
        "--preset unknown": (["--preset", "huge"], "--preset 'huge' is unknown"),
        "--baseline with all": (["--stage", "all", "--baseline"], "use it with --stage recognizer"),
        "--output_dir a file": (["--output_dir", str(tmp_path / "a_file")], "is a file, not a folder"),
        "--output_dir in a file": (["--output_dir", str(tmp_path / "a_file" / "x")], "cannot create it (/"),
        "unknown flag": (["--max_train_samples", "8"], "unknown flags or values: --max_train_samples 8; see"),
        "abbreviated flag": (["--detector_mask", "seen"], "unknown flags or values: --detector_mask seen"),
        "--init_from missing": (["--init_from", str(tmp_path / "nope")], "no such folder"),
        "--data_dir with synthfer": (["--data_dir", str(tmp_path)], "--data synthfer is generated, it reads no folder"),
        "--push_to_hub, no system": (["--stage", "teacher", "--push_to_hub"], "only --stage all and --stage recog"),
        "--push_to_hub, baseline": (["--stage", "recognizer", "--baseline", "--push_to_hub"], "without --baseline"),
        "--hub_model_id alone": (["--hub_model_id", "me/x"], "names the repository of --push_to_hub: add it"),
        "--push_to_hub offline": (["--push_to_hub"], "--push_to_hub needs the Hub, and HF_HUB_OFFLINE is set"),
        "--learning_rate inf": (["--learning_rate", "inf"], "--learning_rate must be a finite number, got inf"),
        "--learning_rate nan": (["--learning_rate", "nan"], "--learning_rate must be a finite number, got nan"),
        "--reconstructor_lambda_sc nan": (["--reconstructor_lambda_sc", "nan"], "must be a finite number"),
        "--synthfer_train_size 0": (["--synthfer_train_size", "0"], "--synthfer_train_size must be >= 1"),
        "--output_dir empty": (["--output_dir", ""], "--output_dir is empty"),
    }
    for name, (flags, message) in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            main([*TINY, *flags])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, (name, err)
    assert parse_args([*TINY, "--detector_nu", "1", "--recognizer_occlusion_probability", "1"])  # bounds allowed
    assert parse_args([*TINY, "--detector_objective", "semi-supervised", "--detector_masks=seen"])
    with pytest.raises(SetupError, match="the one-class detector of --preset tiny"):
        parse_args([*TINY, "--detector_occlusion_probability", "0.5"])
    assert parse_args(["--preset", "demo", "--detector_occlusion_probability", "0.5"])  # the demo's is Deep SAD


def test_a_config_file_s_values_are_checked_as_the_flags_are(tmp_path, capsys):
    cases = {
        "mae_epochs: [1, 2]\n": "mae_epochs takes one value, got [1, 2]",
        "mae_epochs: null\n": "mae_epochs cannot be null",
        "mae_epochs: 2.5\n": "mae_epochs: invalid value 2.5",
        "teacher_optimizer: rmsprop\n": "teacher_optimizer: 'rmsprop' is not one of",
        "mae_epochs: [1\n": "not valid YAML",
    }
    config = tmp_path / "train.yaml"
    for text, message in cases.items():
        config.write_text(text)
        with pytest.raises(SystemExit):
            main([*TINY, "--config", str(config), "--output_dir", str(tmp_path / "out")])
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (text, err)
    config.write_text("mae_epochs: 3\nlearning_rate: 1e-3\ndetector_nu: null\nrecognizer_init_from_teacher: true\n")
    parsed = parse_args([*TINY, "--config", str(config)])
    assert parsed.mae.mae_epochs == 3 and parsed.common.learning_rate == 1e-3 and parsed.detector.detector_nu is None
    assert parsed.recognizer.recognizer_init_from_teacher is True
    for text, message in (
        ("mae_epochs: true\n", "mae_epochs: invalid value True"),  # a YAML boolean where a number goes
        ("output_dir: true\n", "output_dir: invalid value True"),
        ("recognizer_reconstruction: null\n", "(the flag's default: True)"),  # the flag, not its --no_ switch
    ):
        config.write_text(text)
        with pytest.raises(SetupError, match=re.escape(message)):
            parse_args([*TINY, "--config", str(config)])
    # a stage's own record works as --config: it lists every flag, the known-occluder ones at their defaults
    record = {**parse_args([*TINY]).to_dict(), "output_dir": str(tmp_path / "again")}
    config.write_text(json.dumps(record))
    assert parse_args(["--config", str(config)]).common.output_dir == str(tmp_path / "again")
    with pytest.raises(SetupError, match="only apply to the semi-supervised detector"):  # the dashed spelling too
        parse_args([*TINY, "--detector-masks", "seen"])


def test_an_output_folder_the_run_cannot_build_on_is_refused_before_any_work(trained, tmp_path, capsys):
    """Another preset's stages, a stage without its weights, or later stages trained from a stage this run would
    train anew: one line, nothing trained, nothing touched."""

    def refused(folder: Path, flags: list[str], message: str) -> None:
        with pytest.raises(SystemExit):
            main([*TINY, *flags, "--output_dir", str(folder)])
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    refused(folder, ["--preset", "base"], "was trained with --preset tiny, this run asks for --preset base")
    weights = folder / "stages" / "detector" / "detector" / "model.safetensors"
    kept = weights.read_bytes()
    weights.unlink()
    refused(folder, [], "is incomplete (detector/model.safetensors is missing)")
    weights.write_bytes(kept)
    shutil.rmtree(folder / "stages" / "mae")  # later stages trained from the earlier ViT: kept, and said so first
    from latent_ofer_hf.training.output_folder import check_output_folder

    done, warnings = check_output_folder(parse_args([*TINY, "--output_dir", str(folder)]).common, STAGES)
    assert "mae" not in done and len(warnings) == 1, warnings
    assert "stage mae is trained anew, but" in warnings[0] and "stages/detector" in warnings[0]


def test_a_folder_that_is_not_a_run_is_never_overwritten(tmp_path, capsys):
    folder = tmp_path / "project"
    folder.mkdir()
    for name, text in (("README.md", "# my project"), ("config.json", "{}"), ("notes.txt", "mine")):
        (folder / name).write_text(text)
    with pytest.raises(SystemExit) as exit_info:
        main([*TINY, "--stage", "teacher", "--output_dir", str(folder)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "is not a training run's folder (no stages/) and holds README.md, config.json" in err, err
    assert sorted(path.name for path in folder.iterdir()) == ["README.md", "config.json", "notes.txt"]
    assert (folder / "README.md").read_text() == "# my project"


def test_a_rerun_that_trains_nothing_keeps_the_system_and_its_card(trained, tmp_path, capsys):
    from huggingface_hub import ModelCard

    from latent_ofer_hf.cli import main as cli

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    faces = ["--num_images", "7", "--batch_size", "7", "--output_dir", str(tmp_path / "eval")]
    assert cli(["evaluate", "--model", str(folder), *faces, "--write_card"]) == 0
    card = (folder / "README.md").read_text()
    assert ModelCard.load(folder / "README.md").data.eval_results
    main([*TINY, "--output_dir", str(folder)])
    assert "nothing trained: the system in" in capsys.readouterr().out
    assert (folder / "README.md").read_text() == card


def test_a_card_written_anew_by_evaluate_gives_the_command_train_py_gave(trained, tmp_path):
    """`evaluate --write_card` on a trained folder whose card is gone rebuilds the training command from the saved
    run: every changed flag and the resolved thread count, as train.py wrote it (not just preset, data and seed)."""
    from latent_ofer_hf.cli import _card_training_command
    from latent_ofer_hf.cli import main as cli

    folder = tmp_path / "copy"
    shutil.copytree(trained, folder)
    written = _card_training_command(folder / "README.md")
    assert "--max_train_steps 2" in written and "--cpu_threads " in written, written
    (folder / "README.md").unlink()
    faces = ["--num_images", "7", "--batch_size", "7", "--output_dir", str(tmp_path / "eval")]
    assert cli(["evaluate", "--model", str(folder), *faces, "--write_card"]) == 0
    assert _card_training_command(folder / "README.md") == written


def test_export_copies_a_finished_system_and_never_deletes_what_is_not_an_export(trained, tmp_path, capsys):
    from latent_ofer_hf.checkpoints.export import export_system
    from latent_ofer_hf.checkpoints.export import main as export_main

    target = export_system(trained, tmp_path / "shipped")
    exported = {"README.md", "config.json", "detector", "reconstructor", "recognizer", "vit"}
    assert {path.name for path in target.iterdir()} == exported
    assert pipeline_model(target).config.training_data == "synthfer"
    assert export_system(trained, target) == target  # an earlier export is replaced
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    half = tmp_path / "half"
    shutil.copytree(trained, half)
    shutil.rmtree(half / "recognizer")
    capsys.readouterr()
    for source, to, message in (
        (trained, trained, "itself, holds it or lies inside it"),
        (trained, trained / "stages", "itself, holds it or lies inside it"),
        (trained, mine, "holds other files than an export (notes.txt)"),
        (half, tmp_path / "new", "not a finished system (missing recognizer/config.json"),
        (tmp_path / "mine", tmp_path / "new", "holds no trained system"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            export_main([str(source), "--target", str(to)])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 2, err  # usage + it
    assert (mine / "notes.txt").read_text() == "keep me" and (trained / "stages").is_dir()
    assert not (tmp_path / "new").exists()


def pipeline_model(folder: Path):
    from latent_ofer_hf import LatentOferModel

    return LatentOferModel.from_pretrained(folder)


# --------------------------------------------------------------------------------------------------- bad data
def test_a_data_set_that_cannot_be_read_is_a_one_line_error(tmp_path, capsys):
    labels = tmp_path / "EmoLabel"
    labels.mkdir()
    (tmp_path / "Image" / "aligned").mkdir(parents=True)
    (labels / "list_patition_label.txt").write_text("train_00001.jpg 9\n")
    for root, message in ((tmp_path, "list_patition_label.txt:1: unknown label '9'"), (tmp_path / "no", "not found")):
        with pytest.raises(SystemExit) as exit_info:
            main([*TINY, "--data", "rafdb", "--data_dir", str(root), "--stage", "teacher",
                  "--output_dir", str(tmp_path / "out")])  # fmt: skip
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and len(err.strip().splitlines()) == 1, err
        assert err.startswith("train.py: error: --data rafdb: ") and message in err, err


def test_faces_kept_in_memory_give_the_items_of_a_fresh_read_every_epoch(monkeypatch):
    from latent_ofer_hf.data.synthfer import synthfer_dataset
    from latent_ofer_hf.training import data

    faces = synthfer_dataset(6, split="train", seed=0, occlusion="none")
    protocols = {"seen": 1.0, "random_patch": 1.0, "free_form": 1.0}
    monkeypatch.setattr(data, "_DECODED", collections.OrderedDict())  # nothing decoded by earlier tests
    cached = data.FaceTensors(faces, seed=0, train=True, augmentation="fer", protocols=protocols)
    monkeypatch.setattr(data, "FACE_CACHE_BYTES", 0)
    uncached = data.FaceTensors(faces, seed=0, train=True, augmentation="fer", protocols=protocols)
    assert cached._faces == {} and uncached._faces is None
    for epoch in (0, 1, 0):  # epoch 0 again: from memory, and the augmentations wrote nothing into it
        cached.set_epoch(epoch), uncached.set_epoch(epoch)
        for index in range(len(faces)):
            a, b = cached[index], uncached[index]
            assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a), (epoch, index)
    assert len(cached._faces) == len(faces) and not cached._faces[0].flags.writeable


def test_sets_without_the_clean_face_give_the_same_items_less_it():
    """The detector and recogniser stages never read ``clean_pixel_values``: their sets leave it out, and every other
    tensor, the random draws included, stays as it was."""
    from latent_ofer_hf.data.synthfer import synthfer_dataset
    from latent_ofer_hf.training import data

    faces = synthfer_dataset(6, split="train", seed=0, occlusion="none")
    options = {"seed": 0, "train": True, "augmentation": "fer", "protocols": {"seen": 1.0, "random_patch": 1.0}}
    full, lean = data.FaceTensors(faces, **options), data.FaceTensors(faces, keep_clean=False, **options)
    for index in range(len(faces)):
        a, b = full[index], lean[index]
        assert "clean_pixel_values" in a and a.keys() - b.keys() == {"clean_pixel_values"}, index
        assert all(torch.equal(a[key], b[key]) for key in b), index
        assert not torch.equal(a["clean_pixel_values"], a["pixel_values"])  # occluded: the clean face differs


def test_the_stages_share_decoded_faces_and_loader_workers_get_them_decoded(monkeypatch):
    """Every stage builds its own FaceTensors over the run's train and validation sets: a face is decoded once per
    run, not once per stage; with loader workers the faces are decoded before the workers fork (else each epoch's
    fresh workers would decode them all again), and the workers give the items of the main process."""
    from latent_ofer_hf.data.synthfer import synthfer_dataset
    from latent_ofer_hf.training import data, runtime

    monkeypatch.setattr(data, "_DECODED", collections.OrderedDict())
    decoded = []
    original = data.face_array
    monkeypatch.setattr(data, "face_array", lambda image: decoded.append(1) or original(image))
    faces = synthfer_dataset(8, split="train", seed=0, occlusion="none")
    first = data.FaceTensors(faces, seed=0, train=True)
    items = [first[index] for index in range(len(faces))]
    second = data.FaceTensors(faces, seed=0, train=False, protocols={"seen": 1.0})
    second[3]
    assert len(decoded) == len(faces)  # the second stage's set decoded nothing again
    monkeypatch.setattr(data, "_DECODED", collections.OrderedDict())
    third = data.FaceTensors(faces, seed=0, train=True)
    loader = runtime.make_loader(third, 4, train=False, workers=1)
    assert len(third._faces) == len(faces) and len(decoded) == 2 * len(faces)  # decoded before the workers start
    batches = list(loader)
    assert torch.equal(torch.cat([batch["pixel_values"] for batch in batches]),
                       torch.stack([item["pixel_values"] for item in items]))  # fmt: skip


def test_corrupt_images_are_skipped_and_counted(tmp_path):
    root = tmp_path / "faces"
    for index, label in enumerate(["happy", "sad", "angry", "neutral", "surprise", "fear", "disgust"] * 2):
        folder = root / label
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(synthfer_sample(index).image).save(folder / f"{index}.png")
    (root / "happy" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "sad" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(40))
    (root / "angry" / "empty.png").write_bytes(b"")
    output = tmp_path / "out"
    main(["--preset", "tiny", "--data", "imagefolder", "--data_dir", str(root), "--stage", "teacher",
          "--per_device_train_batch_size", "4", "--num_train_epochs", "1", "--output_dir", str(output)])  # fmt: skip
    report = json.loads((output / "stages" / "teacher" / "data_report.json").read_text())
    assert report["loaded"] == 14 and report["skipped"] == 3, report
    assert sorted(Path(line.split(":")[0]).name for line in report["skipped_files"]) == [
        "broken.png", "empty.png", "truncated.jpg"
    ]  # fmt: skip
    assert (output / "stages" / "teacher" / "teacher" / "model.safetensors").is_file()
    assert np.isfinite(
        json.loads((output / "stages" / "teacher" / "metrics.json").read_text())[0]["teacher/train_loss"]
    )


def test_tensorboard_tracking_writes_events_and_a_missing_tensorboard_fails_loudly(tmp_path, monkeypatch, capsys):
    output = tmp_path / "tb"
    main([*TINY, "--stage", "teacher", "--max_train_steps", "1", "--report_to", "tensorboard",
          "--output_dir", str(output)])  # fmt: skip
    assert list((output / "logs").rglob("events.out.tfevents.*"))
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if it were not installed
    with pytest.raises(SystemExit):
        main([*TINY, "--stage", "teacher", "--report_to", "tensorboard", "--output_dir", str(tmp_path / "none")])
    assert "train.py: error: --report_to tensorboard needs tensorboard: pip install" in capsys.readouterr().err


def test_syncbatchnorm_only_on_multi_gpu_runs():
    from types import SimpleNamespace

    from latent_ofer_hf import ExpressionRecognizer
    from latent_ofer_hf.training.runtime import maybe_sync_batchnorm
    from latent_ofer_hf.training.stage_teacher import cnn_only_config

    def count(model, kind):
        return sum(isinstance(module, kind) for module in model.modules())

    plain = count(ExpressionRecognizer(cnn_only_config("tiny")), torch.nn.modules.batchnorm._BatchNorm)  # 1d and 2d
    for processes, device, synced in [(2, "cuda", True), (1, "cuda", False), (2, "cpu", False)]:
        accelerator = SimpleNamespace(num_processes=processes, device=torch.device(device))
        model = maybe_sync_batchnorm(accelerator, ExpressionRecognizer(cnn_only_config("tiny")))
        assert count(model, torch.nn.SyncBatchNorm) == (plain if synced else 0), (processes, device)


def test_fsdp_and_deepspeed_are_refused_with_a_message():
    from types import SimpleNamespace

    from accelerate.utils import DistributedType

    from latent_ofer_hf.training.run import check_distributed_setup

    check_distributed_setup(SimpleNamespace(distributed_type=DistributedType.MULTI_GPU))
    for kind in (DistributedType.FSDP, DistributedType.DEEPSPEED):
        with pytest.raises(ValueError, match="supports DDP"):
            check_distributed_setup(SimpleNamespace(distributed_type=kind))


def test_fp16_is_refused_on_the_cpu_where_accelerate_would_train_in_float32():
    from types import SimpleNamespace

    from latent_ofer_hf.training.run import check_mixed_precision

    for precision, device in [("fp16", "cuda"), ("bf16", "cpu"), ("no", "cpu")]:
        check_mixed_precision(SimpleNamespace(mixed_precision=precision, device=torch.device(device)))
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        check_mixed_precision(SimpleNamespace(mixed_precision="fp16", device=torch.device("cpu")))


def test_fp16_launch_on_the_cpu_stops_with_the_message(tmp_path):
    command, env = _command(1, [*TINY, "--stage", "teacher", "--output_dir", str(tmp_path / "fp16")], "fp16")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode != 0
    assert "--mixed_precision fp16 needs a GPU" in result.stderr, result.stderr[-3000:]
    assert not (tmp_path / "fp16" / "stages").exists()  # refused before any stage started


def test_the_mae_stage_starts_from_a_given_mae_checkpoint(tmp_path, capsys):
    """`--init_from` (a Hub id or a folder) wraps that ViTMAEForPreTraining; exercised on a local folder."""
    from transformers import ViTMAEConfig, ViTMAEForPreTraining

    from latent_ofer_hf import preset_config
    from latent_ofer_hf.models.vit_latents import ViTLatentBackbone

    mae_config = preset_config("tiny").vit_config.mae_config.to_dict()
    mae_config["intermediate_size"] = 48  # differs from the tiny preset, so the run must have used this folder
    ViTMAEForPreTraining(ViTMAEConfig(**mae_config)).save_pretrained(tmp_path / "mae")
    output = tmp_path / "out"
    main([*TINY, "--stage", "mae", "--max_train_steps", "1", "--init_from", str(tmp_path / "mae"),
          "--output_dir", str(output)])  # fmt: skip
    trained = ViTLatentBackbone.from_pretrained(output / "stages" / "mae" / "vit")
    assert trained.config.mae_config.intermediate_size == 48
    (tmp_path / "not_mae").mkdir()
    (tmp_path / "not_mae" / "config.json").write_text('{"model_type": "bert"}')
    (tmp_path / "no_config").mkdir()
    capsys.readouterr()
    for folder, message in (("not_mae", "holds a 'bert' model, not a ViT MAE"), ("no_config", "config.json")):
        with pytest.raises(SystemExit) as exit_info:  # one line, before any face is read
            main([*TINY, "--stage", "mae", "--init_from", str(tmp_path / folder), "--output_dir", str(tmp_path / "x")])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "x" / "stages" / "mae" / "data_report.json").exists()


def test_bf16_from_the_launch_flag_trains_every_stage(tmp_path):
    """Mixed precision comes from `accelerate launch --mixed_precision bf16` (CPU autocast here)."""
    output = tmp_path / "bf16"
    log = _run(1, [*TINY, "--stage", "all", "--max_train_steps", "1", "--output_dir", str(output)], precision="bf16")
    assert "mixed_precision bf16" in log, log[-2000:]
    weights = _weights(output / "recognizer")
    assert all(v.dtype == torch.float32 for v in weights.values() if v.is_floating_point())  # master weights: fp32
    assert all(torch.isfinite(value).all() for value in weights.values() if value.is_floating_point())


def test_a_validation_fraction_that_leaves_no_face_on_one_side_is_a_clear_error():
    import datasets

    from latent_ofer_hf.training.data import _holdout

    faces = datasets.Dataset.from_dict({"label": list(range(10))})
    assert [len(part) for part in _holdout(faces, 0.2, seed=0)] == [8, 2]
    assert [len(part) for part in _holdout(faces, 0.01, seed=0)] == [9, 1]  # at least one face held out
    with pytest.raises(SetupError, match="--validation_fraction 0.99 of 10 training faces leaves no training"):
        _holdout(faces, 0.99, seed=0)  # all ten would be held out
