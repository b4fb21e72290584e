"""Hub mode: a saved directory loads with trust_remote_code=True in a process that cannot import this package."""

import ast
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import save_file

from latent_ofer_hf import LatentOferModel, preset_config
from latent_ofer_hf.models.common.hub_code import collect_module_files, flatten_source

# runs in a fresh interpreter where `import latent_ofer_hf` fails, from a directory outside the repository
_CHILD = textwrap.dedent(
    """
    import importlib.abc, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "latent_ofer_hf":
                raise ImportError("latent_ofer_hf is deliberately not importable here")
    sys.meta_path.insert(0, _Block())
    import torch
    from safetensors.torch import load_file
    from transformers import AutoConfig, AutoModel, AutoModelForImageClassification
    model_dir, expected_file = sys.argv[1], sys.argv[2]
    expected = load_file(expected_file)
    model = AutoModel.from_pretrained(model_dir, trust_remote_code=True).eval()
    assert type(model).__module__.startswith("transformers_modules"), type(model).__module__
    assert "latent_ofer_hf" not in sys.modules
    with torch.no_grad():
        out = model(expected["pixel_values"])
    assert torch.allclose(out.logits, expected["logits"], atol=1e-5), (out.logits - expected["logits"]).abs().max()
    assert torch.equal(out.patch_mask, expected["patch_mask"])
    recognizer = AutoModelForImageClassification.from_pretrained(model_dir + "/recognizer", trust_remote_code=True)
    assert type(recognizer).__name__ == "ExpressionRecognizer"
    assert type(AutoConfig.from_pretrained(model_dir, trust_remote_code=True)).__name__ == "LatentOferConfig"
    print("REMOTE-CODE-OK")
    """
)


def test_saved_directory_loads_without_the_package(tmp_path):
    model = LatentOferModel(preset_config("tiny")).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = model(x)
    model_dir = tmp_path / "model"
    model.save_pretrained(model_dir)
    auto_map = json.loads((model_dir / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_latent_ofer.LatentOferConfig",
        "AutoModel": "modeling_latent_ofer.LatentOferModel",
    }
    for name in ("modeling_latent_ofer.py", "modeling_vit_latents.py", "input_checks.py", "hub_code.py"):
        assert (model_dir / name).is_file(), name
    assert (model_dir / "recognizer" / "modeling_expression_recognizer.py").is_file()
    expected = tmp_path / "expected.safetensors"
    save_file({"pixel_values": x, "logits": out.logits, "patch_mask": out.patch_mask}, expected)
    env = {
        **os.environ,
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": "",
        "PYTHONNOUSERSITE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(model_dir), str(expected)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "REMOTE-CODE-OK" in result.stdout, result.stdout + result.stderr


def test_flat_copies_only_use_same_folder_imports():
    import latent_ofer_hf.models.latent_ofer.modeling_latent_ofer as composite

    files = collect_module_files(composite.__file__)
    assert "modeling_occlusion_detector.py" in files and "labels.py" in files
    for path in files.values():
        for node in ast.walk(ast.parse(flatten_source(path))):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1), (path, node.module)
                assert not (node.module or "").startswith("latent_ofer_hf"), (path, node.module)
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("latent_ofer_hf") for alias in node.names), path


def test_unflattenable_import_is_refused(tmp_path):
    bad = tmp_path / "mod.py"
    bad.write_text("from . import sibling\n")
    with pytest.raises(ValueError, match="cannot be flattened"):
        collect_module_files(bad)
