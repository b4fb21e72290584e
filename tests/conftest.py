"""Test set-up: offline, deterministic, tiny models."""

import os

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
