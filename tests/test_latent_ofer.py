"""The composite system: one shared ViT, components saved/loaded on their own, Auto classes, presets."""

import json

import pytest
import torch
from conftest import assert_state_dicts_equal, weight_files
from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

from latent_ofer_hf import (
    ExpressionRecognizer,
    LatentOferConfig,
    LatentOferModel,
    OcclusionPatchDetector,
    OcclusionPatchDetectorConfig,
    ViTLatentBackbone,
    input_value_checks,
    preset_config,
)


def _fitted_tiny_model() -> LatentOferModel:
    """A tiny system whose SVDD center/radius and BN statistics are not at their initial values."""
    model = LatentOferModel(preset_config("tiny"))
    x = torch.randn(4, 3, 224, 224)
    with torch.no_grad():
        latents = model.vit(x).patch_latents
        model.detector.init_center(latents)
        model.detector.update_radius(model.detector(patch_latents=latents).distances)
        model.train()
        model(x)  # moves BatchNorm running statistics
    return model.eval()


@pytest.mark.parametrize("batch", [1, 3])
def test_forward_shapes(batch):
    model = LatentOferModel(preset_config("tiny")).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        out = model(x, labels=torch.zeros(batch, dtype=torch.long))
    assert out.logits.shape == (batch, 7) and out.logits.dtype == torch.float32
    assert out.patch_mask.shape == (batch, 14, 14) and out.patch_mask.dtype == torch.bool
    assert out.pixel_mask.shape == (batch, 1, 224, 224) and out.pixel_mask.dtype == torch.bool
    assert out.anomaly_scores.shape == (batch, 196)
    assert out.occlusion_ratio.shape == (batch,)
    assert out.reconstruction.shape == (batch, 3, 224, 224)
    assert out.relevant_patches.shape == (batch, 98) and out.relevant_patches.dtype == torch.long
    assert out.loss is not None and torch.isfinite(out.loss)
    assert torch.equal(out.occlusion_ratio, out.patch_mask.flatten(1).float().mean(1))


def test_reconstruction_modes_and_mask_consistency():
    model = _fitted_tiny_model()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = model(x)
        raw = model(x, reconstruction="none")
    assert raw.reconstruction is None
    # visible pixels are kept by the fill; only flagged patches change
    assert torch.equal(out.reconstruction[~out.pixel_mask.expand_as(x)], x[~out.pixel_mask.expand_as(x)])
    # the mask is the detector's decision on the input's latents
    assert torch.equal(out.patch_mask.flatten(1), out.anomaly_scores > 0)
    with pytest.raises(ValueError, match="reconstruction"):
        model(x, reconstruction="diffusion")


def test_a_given_mask_replaces_the_detector_s():
    """An oracle mask (the ground truth in evaluation): exactly its patches are reconstructed, the recogniser sees
    that reconstruction, and the detector's scores are still reported."""
    model = _fitted_tiny_model()
    x = torch.randn(2, 3, 224, 224)
    oracle = torch.zeros(2, 14, 14, dtype=torch.bool)
    oracle[0, 2:6, 3:9] = True
    with torch.no_grad():
        out = model(x, patch_mask=oracle)
        own = model(x)
        expected = model.recognizer(model.reconstruct(x, oracle).reconstruction, model.vit(x).patch_latents).logits
    assert torch.equal(out.patch_mask, oracle) and torch.equal(out.occlusion_ratio, torch.tensor([24 / 196, 0.0]))
    assert torch.equal(out.reconstruction[1], x[1])  # nothing to fill in the second face
    changed = (out.reconstruction != x).any(1)
    assert changed[0].any() and not changed[0][~out.pixel_mask[0, 0]].any()
    assert torch.allclose(out.logits, expected, atol=1e-5)
    assert torch.equal(out.anomaly_scores, own.anomaly_scores)
    with pytest.raises(ValueError, match="patch_mask"):
        model(x, patch_mask=torch.zeros(2, 10, dtype=torch.bool))


@pytest.mark.parametrize("mode", ["mae", "hybrid"])
def test_in_inference_only_faces_with_a_flagged_patch_are_filled(mode, monkeypatch):
    """A face with no flagged patch comes back as it is from either fill, so inference skips it: the same outputs
    as filling every face, and the fill never sees the clean faces."""
    model = _fitted_tiny_model()
    x = torch.randn(3, 3, 224, 224)
    oracle = torch.zeros(3, 14, 14, dtype=torch.bool)
    oracle[1, 2:6, 3:9] = True
    with torch.no_grad():
        every = model.reconstruct(x, oracle, reconstruction=mode).reconstruction  # all three faces filled
        expected = model.recognizer(every, model.vit(x).patch_latents).logits
        seen = []
        fill = model.reconstruct
        monkeypatch.setattr(
            model, "reconstruct", lambda faces, mask, **kw: seen.append(len(faces)) or fill(faces, mask, **kw)
        )
        out = model(x, patch_mask=oracle, reconstruction=mode)
        assert seen == [1]  # only the one face with flagged patches
        assert torch.allclose(out.reconstruction, every, atol=1e-5)  # (a batch of one rounds a little differently)
        assert torch.allclose(out.logits, expected, atol=1e-5)
        out = model(x, patch_mask=torch.zeros_like(oracle), reconstruction=mode)
        assert seen == [1] and torch.equal(out.reconstruction, x)  # nothing flagged: no fill at all
        model.train()
        model(x, patch_mask=oracle, reconstruction=mode)
        assert seen == [1, 3]  # training fills the whole batch (BatchNorm statistics)


def test_save_load_subfolders_exact(tmp_path):
    model = _fitted_tiny_model()
    model.save_pretrained(tmp_path)
    assert weight_files(tmp_path) == [
        "detector/model.safetensors",
        "recognizer/model.safetensors",
        "reconstructor/model.safetensors",
        "vit/model.safetensors",
    ]
    root = json.loads((tmp_path / "config.json").read_text())
    assert root["model_type"] == "latent-ofer"
    # the whole system through the Auto class, and each component on its own
    reloaded = AutoModel.from_pretrained(tmp_path)
    assert isinstance(reloaded, LatentOferModel)
    assert_state_dicts_equal(model, reloaded)
    assert_state_dicts_equal(model.detector, OcclusionPatchDetector.from_pretrained(tmp_path / "detector"))
    assert_state_dicts_equal(model.vit, ViTLatentBackbone.from_pretrained(tmp_path / "vit"))
    assert_state_dicts_equal(model.reconstructor, AutoModel.from_pretrained(tmp_path / "reconstructor"))
    assert reloaded.config.reconstruction == "hybrid"
    recognizer = AutoModelForImageClassification.from_pretrained(tmp_path / "recognizer")
    assert isinstance(recognizer, ExpressionRecognizer)
    assert_state_dicts_equal(model.recognizer, recognizer)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(model(x).logits, reloaded(x).logits, rtol=0, atol=0)
        for loaded in (AutoModel.from_pretrained(tmp_path, return_dict=False),
                       LatentOferModel.from_pretrained(tmp_path, return_dict=False)):  # fmt: skip
            assert isinstance(loaded(x), tuple)  # the system's own output, as its components'
    assert isinstance(AutoConfig.from_pretrained(tmp_path), LatentOferConfig)
    with pytest.raises(RuntimeError, match="ignore_mismatched_sizes"):  # another head size: not silently dropped
        LatentOferModel.from_pretrained(tmp_path, num_labels=8)


def test_component_buffers_survive_reload(tmp_path):
    """Guards transformers 5's silent re-initialisation of custom parameters (SVDD center/radius, mask tokens)."""
    model = _fitted_tiny_model()
    center, radius = model.detector.center.clone(), model.detector.radius.clone()
    assert center.abs().sum() > 0 and radius > 0
    model.save_pretrained(tmp_path)
    reloaded = LatentOferModel.from_pretrained(tmp_path)
    assert torch.equal(reloaded.detector.center, center) and torch.equal(reloaded.detector.radius, radius)
    assert torch.equal(reloaded.vit.mae.decoder.mask_token, model.vit.mae.decoder.mask_token)


def test_one_shared_vit():
    model = LatentOferModel(preset_config("tiny"))
    vits = [m for m in model.modules() if isinstance(m, ViTLatentBackbone)]
    assert len(vits) == 1


def test_from_components_checks_they_fit():
    config = preset_config("tiny")
    vit = ViTLatentBackbone(config.vit_config)
    detector = OcclusionPatchDetector(config.detector_config)
    recognizer = ExpressionRecognizer(config.recognizer_config)
    model = LatentOferModel.from_components(vit, detector, recognizer)
    assert model.vit is vit and model.config.id2label == recognizer.config.id2label
    wrong = OcclusionPatchDetectorConfig(latent_dim=48, hidden_dims=[16], rep_dim=8)
    with pytest.raises(ValueError, match="latent_dim"):
        LatentOferModel.from_components(vit, OcclusionPatchDetector(wrong), recognizer)
    with pytest.raises(ValueError, match="latent_dim"):
        preset_config("tiny", detector_config={"latent_dim": 48})
    mae = preset_config("tiny").vit_config.mae_config.to_dict()
    with pytest.raises(ValueError, match="num_channels must be 3"):
        preset_config("tiny", vit_config={"mae_config": {**mae, "num_channels": 1}})
    with pytest.raises(ValueError, match="^detector: expected OcclusionPatchDetector, got ExpressionRecognizer$"):
        LatentOferModel.from_components(vit, recognizer, recognizer)  # a part in the wrong slot


def test_presets_and_overrides():
    assert preset_config("paper").recognizer_config.latent_head == "paper"
    assert preset_config("paper").vit_config.mae_config.hidden_size == 1024
    assert preset_config("base").recognizer_config.latent_head == "attention"
    assert preset_config("base", recognizer_config={"latent_head": "paper"}).recognizer_config.latent_head == "paper"
    with pytest.raises(ValueError, match="unknown preset"):
        preset_config("huge")
    with pytest.raises(ValueError, match="reconstruction"):
        preset_config("tiny", reconstruction="gan")


@pytest.mark.parametrize(
    "bad,message",
    [
        (torch.randn(1, 4, 224, 224), "3 channels"),
        (torch.randn(1, 3, 200, 200), "224x224"),
        (torch.full((1, 3, 224, 224), float("nan")), "NaN"),
    ],
)
def test_bad_inputs(bad, message):
    model = LatentOferModel(preset_config("tiny")).eval()
    with input_value_checks(), pytest.raises(ValueError, match=message):  # value checks (NaN) only when asked
        model(bad)


def test_assembling_keeps_a_loaded_mae_untouched(tmp_path):
    """Building the composite around a pretrained MAE must not re-initialise it (cls/mask tokens, tables)."""
    from transformers import ViTMAEForPreTraining

    config = preset_config("tiny")
    mae = ViTMAEForPreTraining(config.vit_config.mae_config)
    with torch.no_grad():
        mae.decoder.mask_token.fill_(0.25)
    mae.save_pretrained(tmp_path)
    vit = ViTLatentBackbone.from_mae_pretrained(tmp_path)
    model = LatentOferModel.from_components(
        vit, OcclusionPatchDetector(config.detector_config), ExpressionRecognizer(config.recognizer_config)
    )
    assert_state_dicts_equal(mae, model.vit.mae)
    assert model.vit.config._attn_implementation == "sdpa"


def test_a_saved_system_records_no_folder_its_components_came_from(tmp_path):
    """transformers drops `_name_or_path` only at a config's top level; a component loaded from a training folder
    would otherwise write that local path into the system's shared config.json."""
    model = _fitted_tiny_model()
    for slot in ("vit", "detector", "recognizer"):
        getattr(model, slot).save_pretrained(tmp_path / "stages" / slot)
    loaded = {slot: AutoModel.from_pretrained(tmp_path / "stages" / slot) for slot in ("vit", "detector", "recognizer")}
    assert loaded["detector"].config._name_or_path == str(tmp_path / "stages" / "detector")
    LatentOferModel.from_components(loaded["vit"], loaded["detector"], loaded["recognizer"]).save_pretrained(
        tmp_path / "system"
    )
    text = (tmp_path / "system" / "config.json").read_text()
    assert "stages" not in text and str(tmp_path) not in text
    assert isinstance(AutoModel.from_pretrained(tmp_path / "system"), LatentOferModel)
