"""Tests of the ViT-SVDD occlusion patch detector (Deep-SVDD head over ViT patch latents)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from latent_ofer_hf import input_value_checks
from latent_ofer_hf.models.occlusion_detector import (
    OcclusionPatchDetector,
    OcclusionPatchDetectorConfig,
    OcclusionPatchDetectorOutput,
)
from latent_ofer_hf.models.occlusion_detector import modeling_occlusion_detector as modeling
from latent_ofer_hf.models.occlusion_detector.modeling_occlusion_detector import NORMALIZATION_EPS

TINY = {"latent_dim": 32, "hidden_dims": [16], "rep_dim": 8}
N, G, P = 196, 14, 16


def tiny_detector(seed: int = 0, **overrides) -> OcclusionPatchDetector:
    torch.manual_seed(seed)
    return OcclusionPatchDetector(OcclusionPatchDetectorConfig(**{**TINY, **overrides}))


def fitted_detector(seed: int = 0, **overrides) -> OcclusionPatchDetector:
    """Tiny detector whose centre and radius were fitted on random latents (non-default buffer values)."""
    model = tiny_detector(seed, **overrides)
    latents = torch.randn(4, N, TINY["latent_dim"]) + 0.5
    model.init_center(latents)
    model.update_radius(model(latents, return_loss=False).distances)
    return model


def identity_detector(dim: int, center: list[float], radius: float = 0.0, **overrides) -> OcclusionPatchDetector:
    """Φ = identity (one bias-free dim×dim linear map), explicit c and R."""
    config = OcclusionPatchDetectorConfig(latent_dim=dim, rep_dim=dim, hidden_dims=[], **overrides)
    model = OcclusionPatchDetector(config).eval()
    with torch.no_grad():
        model.projector.layers[0].weight.copy_(torch.eye(dim))
        model.center.copy_(torch.tensor(center))
        model.radius.fill_(radius)
        model.center_initialized.fill_(True)
    return model


def assert_all_finite(outputs: OcclusionPatchDetectorOutput) -> None:
    for name, value in outputs.items():
        if value.is_floating_point():
            assert bool(torch.isfinite(value).all()), f"{name} has non-finite values"


# ------------------------------------------------------------------------------------------------ save / load
def test_save_load_round_trip_keeps_every_tensor(tmp_path):
    model = fitted_detector()
    assert bool(model.center_initialized) and float(model.radius) > 0 and bool((model.center != 0).all())
    model.save_pretrained(tmp_path)

    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.endswith(".safetensors") for name in files), files
    assert not [name for name in files if name.endswith((".bin", ".pt", ".pth"))], files

    loaded = OcclusionPatchDetector.from_pretrained(tmp_path)
    original, reloaded = model.state_dict(), loaded.state_dict()
    assert (
        set(original)
        == set(reloaded)
        == {"center", "radius", "center_initialized", "projector.layers.0.weight", "projector.layers.1.weight"}
    )
    for key, tensor in original.items():
        assert reloaded[key].dtype == tensor.dtype, key
        assert torch.equal(reloaded[key], tensor), f"{key} changed on reload"
    fields = (
        "latent_dim",
        "num_patches",
        "patch_size",
        "hidden_dims",
        "rep_dim",
        "hidden_act",
        "objective",
        "nu",
        "center_eps",
    )
    assert {f: getattr(loaded.config, f) for f in fields} == {f: getattr(model.config, f) for f in fields}

    latents = torch.randn(2, N, TINY["latent_dim"])
    model.eval()
    assert torch.equal(model(latents).anomaly_scores, loaded(latents).anomaly_scores)


def test_fresh_model_init_is_bias_free_and_unfitted():
    model = tiny_detector()
    assert not [name for name, _ in model.named_parameters() if "bias" in name]
    assert torch.equal(model.center, torch.zeros(8)) and float(model.radius) == 0.0
    assert not bool(model.center_initialized)
    for layer in model.projector.layers:  # PyTorch's default nn.Linear init, as Deep-SVDD-PyTorch, not N(0, 0.02)
        bound, weight = 1 / math.sqrt(layer.in_features), layer.weight.detach()
        assert float(weight.abs().max()) <= bound and float(weight.std()) > 0.3 * bound


# ----------------------------------------------------------------------------------------------------- shapes
@pytest.mark.parametrize("batch_size", [1, 3])
def test_output_shapes_and_dtypes(batch_size):
    model = fitted_detector().eval()
    outputs = model(torch.randn(batch_size, N, 32))
    assert isinstance(outputs, OcclusionPatchDetectorOutput)
    assert outputs.loss is None  # eval, no mask, return_loss=None
    assert outputs.embeddings.shape == (batch_size, N, 8) and outputs.embeddings.dtype == torch.float32
    assert outputs.distances.shape == (batch_size, N) and outputs.distances.dtype == torch.float32
    assert outputs.anomaly_scores.shape == (batch_size, N) and outputs.anomaly_scores.dtype == torch.float32
    assert outputs.patch_mask.shape == (batch_size, G, G) and outputs.patch_mask.dtype == torch.bool
    assert outputs.pixel_mask.shape == (batch_size, 1, G * P, G * P) and outputs.pixel_mask.dtype == torch.bool
    assert outputs.occlusion_ratio.shape == (batch_size,) and outputs.occlusion_ratio.dtype == torch.float32
    assert_all_finite(outputs)

    loss = model(torch.randn(batch_size, N, 32), return_loss=True).loss
    assert loss.shape == () and bool(torch.isfinite(loss))


def test_default_config_shapes():
    config = OcclusionPatchDetectorConfig()
    assert (config.latent_dim, config.num_patches, config.patch_size, config.hidden_dims, config.rep_dim) == (
        512,
        196,
        16,
        [256],
        64,
    )
    assert (config.objective, config.nu, config.center_eps, config.hidden_act) == (
        "soft-boundary",
        0.1,
        0.1,
        "leaky_relu",
    )
    outputs = OcclusionPatchDetector(config).eval()(torch.randn(1, 196, 512))
    assert outputs.embeddings.shape == (1, 196, 64) and outputs.pixel_mask.shape == (1, 1, 224, 224)


def test_loss_is_returned_when_asked_for():
    model = fitted_detector()
    latents, mask = torch.randn(2, N, 32), torch.zeros(2, N, dtype=torch.bool)
    model.train()
    assert model(latents).loss is not None
    assert model(latents, return_loss=False).loss is None
    model.eval()
    assert model(latents).loss is None
    assert model(latents, occlusion_mask=mask).loss is not None
    assert model(latents, return_loss=True).loss is not None


# ------------------------------------------------------------------------------------------- known answers
def test_known_distances_scores_and_masks():
    center = [1.0, -2.0, 0.5, 0.0]
    model = identity_detector(4, center, radius=2.0)
    c = torch.tensor(center)
    offsets = torch.zeros(3, N, 4)
    offsets[0, :, 0] = 1.0  # image 0: every patch at distance 1 (clean) ...
    offsets[0, 5, 0] = 2.0  # ... one exactly on the sphere (d = R: not occluded)
    occluded_0 = [(0, 0), (3, 5), (13, 13), (7, 0)]
    for r, col in occluded_0:
        offsets[0, r * G + col] = torch.tensor([3.0, 4.0, 0.0, 0.0])  # d = 5
    offsets[2, :, 1] = -3.0  # image 2: every patch at distance 3 → all occluded; image 1: all at c (d = 0)
    outputs = model(c + offsets)

    expected_d = torch.ones(3, N)
    expected_d[0, 5] = 2.0
    for r, col in occluded_0:
        expected_d[0, r * G + col] = 5.0
    expected_d[1], expected_d[2] = 0.0, 3.0
    assert torch.equal(outputs.distances, expected_d)
    assert torch.equal(outputs.anomaly_scores, expected_d**2 - 4.0)

    expected_patches = torch.zeros(3, G, G, dtype=torch.bool)
    for r, col in occluded_0:
        expected_patches[0, r, col] = True
    expected_patches[2] = True
    assert torch.equal(outputs.patch_mask, expected_patches)

    # pixel (y, x) belongs to patch (y // 16, x // 16)
    expected_pixels = np.kron(expected_patches.numpy(), np.ones((P, P), dtype=bool))[:, None]
    assert np.array_equal(outputs.pixel_mask.numpy(), expected_pixels)
    r, col = occluded_0[1]
    block = outputs.pixel_mask[0, 0, r * P : (r + 1) * P, col * P : (col + 1) * P]
    assert bool(block.all()) and int(outputs.pixel_mask[0].sum()) == len(occluded_0) * P * P

    assert outputs.occlusion_ratio.tolist() == pytest.approx([4 / 196, 0.0, 1.0], abs=1e-7)
    assert torch.equal(outputs.occlusion_ratio, expected_patches.flatten(1).float().mean(dim=1))


def test_radius_rule_matches_numpy_quantile():
    model = tiny_detector()
    distances = torch.arange(1, 101, dtype=torch.float32)
    radius = model.update_radius(distances)
    assert float(radius) == pytest.approx(float(np.quantile(np.arange(1, 101), 0.9)), abs=1e-5)  # 90.1
    assert float(model.radius) == pytest.approx(90.1, abs=1e-5)

    # clean_mask drops entries; batches (pairs / dicts / plain tensors) are pooled
    noisy = torch.cat([distances, torch.full((20,), 1e6)])
    clean = torch.cat([torch.ones(100, dtype=torch.bool), torch.zeros(20, dtype=torch.bool)])
    assert float(model.update_radius(noisy, clean)) == pytest.approx(90.1, abs=1e-5)
    pairs = [(noisy[:60], clean[:60]), {"distances": noisy[60:], "clean_mask": clean[60:]}]
    assert float(model.update_radius(pairs)) == pytest.approx(90.1, abs=1e-5)
    assert float(model.update_radius([distances[:30], distances[30:]])) == pytest.approx(90.1, abs=1e-5)

    generator = torch.Generator().manual_seed(3)
    values = torch.rand(2, N, generator=generator) * 7
    for nu in (0.05, 0.1, 0.5, 1.0):
        expected = np.quantile(values.numpy().astype(np.float64), 1 - nu)
        assert float(OcclusionPatchDetector.radius_from_distances(values, nu)) == pytest.approx(expected, abs=1e-6)
        assert float(model.update_radius(values, nu=nu)) == pytest.approx(expected, abs=1e-5)


def test_init_center_mean_and_eps_rule():
    model = identity_detector(5, [0.0] * 5)
    model.center_initialized.fill_(False)
    target = torch.tensor([0.05, -0.05, 0.0, 0.5, -0.3])  # |c_i| < 0.1 → ±0.1; exact 0 → +0.1
    signs = torch.tensor([1.0, -1.0]).repeat(N // 2)  # +1, -1, ... : the clean patches 10..195 average to target
    latents = (target + signs[:, None]).unsqueeze(0)  # [1, N, 5]
    occlusion_mask = torch.zeros(1, N, dtype=torch.bool)
    occlusion_mask[0, :10] = True
    latents[0, :10] = 1000.0  # occluded patches must not move the centre

    center = model.init_center(latents, occlusion_mask)
    expected = torch.tensor([0.1, -0.1, 0.1, 0.5, -0.3])
    torch.testing.assert_close(center, expected, rtol=0, atol=1e-6)
    assert torch.equal(model.center, center) and bool(model.center_initialized)

    # iterable of batches (pairs / dicts) == one tensor; embeddings input skips Φ; eps=0 keeps the raw mean
    with pytest.raises(ValueError, match="patch_latents must have shape"):
        model.init_center([(latents[:, :98], occlusion_mask[:, :98])])  # a batch holds whole images
    same = model.init_center([{"patch_latents": latents, "occlusion_mask": occlusion_mask}, (latents, occlusion_mask)])
    torch.testing.assert_close(same, expected, rtol=0, atol=1e-6)
    raw = model.init_center(latents, occlusion_mask.reshape(1, G, G), eps=0.0, from_embeddings=True)
    torch.testing.assert_close(raw, target, rtol=0, atol=1e-6)

    with pytest.raises(ValueError, match="no clean patch"):
        model.init_center(latents, torch.ones(1, N, dtype=torch.bool))


# -------------------------------------------------------------------------------------------------------- loss
@pytest.mark.parametrize("objective", ["soft-boundary", "one-class"])
def test_loss_uses_only_clean_patches_and_reaches_phi(objective):
    model = fitted_detector(objective=objective).train()
    generator = torch.Generator().manual_seed(1)
    latents = torch.randn(2, N, 32, generator=generator)
    occlusion_mask = torch.rand(2, N, generator=generator) < 0.3
    outputs = model(latents, occlusion_mask=occlusion_mask)

    # the formula, by hand, over the clean patches
    d_sq = outputs.distances.detach().double()[~occlusion_mask] ** 2
    r_sq = float(model.radius) ** 2
    if objective == "soft-boundary":
        expected = r_sq + torch.clamp(d_sq - r_sq, min=0).sum() / (model.config.nu * d_sq.numel())
    else:
        expected = d_sq.mean()
    assert outputs.loss.item() == pytest.approx(float(expected), rel=1e-5)

    changed_occluded = latents.clone()
    changed_occluded[occlusion_mask] += 50.0 * torch.randn(int(occlusion_mask.sum()), 32, generator=generator)
    assert torch.equal(model(changed_occluded, occlusion_mask=occlusion_mask).loss, outputs.loss)

    clean_index = (~occlusion_mask).nonzero()[0]
    changed_clean = latents.clone()
    changed_clean[clean_index[0], clean_index[1]] += 50.0
    assert model(changed_clean, occlusion_mask=occlusion_mask).loss.item() != pytest.approx(outputs.loss.item())

    outputs.loss.backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None and bool(torch.isfinite(parameter.grad).all()), name
        assert float(parameter.grad.abs().sum()) > 0, f"no gradient reaches {name}"


def test_the_semi_supervised_loss_pulls_clean_patches_in_and_pushes_known_occluded_ones_out():
    """Deep SAD: mean over all patches of d² (clean) and η / (d² + eps) (known occluded); without a mask every patch
    counts as clean; training on it moves the occluded patches away from c and the clean ones towards it."""
    model = fitted_detector(objective="semi-supervised", eta=2.0).train()
    generator = torch.Generator().manual_seed(2)
    latents = torch.randn(2, N, 32, generator=generator)
    occluded = torch.rand(2, N, generator=generator) < 0.3
    outputs = model(latents, occlusion_mask=occluded)
    d_sq = outputs.distances.detach().double() ** 2
    expected = torch.where(occluded, 2.0 / (d_sq + modeling.SAD_EPS), d_sq).mean()
    assert outputs.loss.item() == pytest.approx(float(expected), rel=1e-5)
    assert model(latents, return_loss=True).loss.item() == pytest.approx(float(d_sq.mean()), rel=1e-5)

    latents = torch.randn(8, N, 32, generator=generator)
    occluded = torch.zeros(8, N, dtype=torch.bool)
    occluded[:, :40] = True
    latents[occluded] += 3.0  # the known occluders differ from the clean patches
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    with torch.no_grad():
        before = model(latents, return_loss=False).distances
    for _ in range(30):
        loss = model(latents, occlusion_mask=occluded).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = model(latents, return_loss=False).distances
    assert after[occluded].mean() > before[occluded].mean() and after[~occluded].mean() < before[~occluded].mean()
    assert after[occluded].mean() > 2 * after[~occluded].mean()
    with pytest.raises(ValueError, match="occlusion_mask must have the shape"):
        model.semi_supervised_loss(torch.ones(2, N), torch.ones(2, N - 1, dtype=torch.bool))


@pytest.mark.parametrize("objective", ["soft-boundary", "one-class"])
def test_all_clean_all_occluded_and_empty_cases_are_finite(objective):
    model = fitted_detector(objective=objective).train()
    latents = torch.randn(2, N, 32)
    r_sq = float(model.radius) ** 2

    all_clean = model(latents, occlusion_mask=torch.zeros(2, G, G, dtype=torch.bool))
    assert_all_finite(all_clean)
    assert torch.equal(all_clean.loss, model(latents, return_loss=True).loss)  # no mask = every patch clean

    all_flagged = model(latents, occlusion_mask=torch.ones(2, N, dtype=torch.int64))
    assert_all_finite(all_flagged)
    assert all_flagged.loss.item() == pytest.approx(r_sq if objective == "soft-boundary" else 0.0)
    all_flagged.loss.backward()  # defined, zero gradients
    assert all(bool((p.grad == 0).all()) for p in model.parameters())

    empty = model.one_class_loss(all_clean.distances.detach() ** 2, torch.zeros(2, N, dtype=torch.bool))
    assert bool(torch.isfinite(empty))

    # predictions: everything inside a huge sphere / everything outside a zero sphere
    with torch.no_grad():
        model.radius.fill_(1e6)
    inside = model(latents)
    assert_all_finite(inside)
    assert not bool(inside.patch_mask.any()) and inside.occlusion_ratio.tolist() == [0.0, 0.0]
    with torch.no_grad():
        model.radius.fill_(0.0)
    outside = model(latents + 100.0)
    assert_all_finite(outside)
    assert bool(outside.pixel_mask.all()) and outside.occlusion_ratio.tolist() == [1.0, 1.0]


# ------------------------------------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(
    ("latents", "match"),
    [
        (torch.randn(N, 32), "patch_latents must have shape"),  # wrong rank
        (torch.randn(1, 1, N, 32), "patch_latents must have shape"),  # wrong rank
        (torch.randn(2, N + 1, 32), r"patch_latents must have shape \[B, 196, 32\].*cls token"),  # cls token kept
        (torch.randn(2, N, 31), r"patch_latents must have shape \[B, 196, 32\]"),  # wrong D
        (torch.full((1, N, 32), float("nan")), "NaN"),
        (np.zeros((1, N, 32)), "must be a torch.Tensor"),
    ],
)
def test_bad_latents_raise(latents, match):
    with input_value_checks(), pytest.raises(ValueError, match=match):  # value checks (NaN) only when asked
        tiny_detector()(latents)


@pytest.mark.parametrize(
    ("mask", "match"),
    [
        (torch.zeros(2, N - 1, dtype=torch.bool), "occlusion_mask must have shape"),
        (torch.zeros(2, 13, 13, dtype=torch.bool), "occlusion_mask must have shape"),
        (torch.zeros(3, N, dtype=torch.bool), "occlusion_mask has batch size 3"),
        (torch.full((2, N), 2), "occlusion_mask must be boolean or hold only 0 and 1"),
    ],
)
def test_bad_occlusion_mask_raises(mask, match):
    with input_value_checks(), pytest.raises(ValueError, match=match):  # value checks (0/1) only when asked
        tiny_detector()(torch.randn(2, N, 32), occlusion_mask=mask)


def test_bad_fit_inputs_raise():
    model = tiny_detector()
    with pytest.raises(ValueError, match="no clean patch distances"):
        model.update_radius(torch.ones(4), torch.zeros(4, dtype=torch.bool))
    with pytest.raises(ValueError, match="nu must be in"):
        OcclusionPatchDetector.radius_from_distances(torch.ones(4), 0.0)
    with pytest.raises(ValueError, match="clean_mask must have the shape"):
        model.one_class_loss(torch.ones(2, N), torch.ones(2, N - 1, dtype=torch.bool))


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"nu": 0.0}, "nu must be a number in"),
        ({"nu": 1.5}, "nu must be a number in"),
        ({"nu": -0.1}, "nu must be a number in"),
        ({"objective": "svm"}, "objective must be one of"),
        ({"num_patches": 195}, "num_patches must be a perfect square"),
        ({"latent_dim": 0}, "latent_dim must be a positive integer"),
        ({"hidden_dims": [16, 0]}, "hidden_dims must be a list of positive integers"),
        ({"hidden_act": "swishy"}, "hidden_act 'swishy' is unknown"),
        ({"hidden_act": "sigmoid"}, "not zero at 0"),
        ({"center_eps": -1.0}, "center_eps must be"),
        ({"eta": 0.0}, "eta must be a finite number > 0"),
        ({"objective": "semi-supervised", "projector": "identity", "rep_dim": 512}, "it needs projector='mlp'"),
        ({"eta": float("inf")}, "eta must be a finite number > 0"),
    ],
)
def test_bad_config_raises(overrides, match):
    with pytest.raises(ValueError, match=match):
        OcclusionPatchDetectorConfig(**overrides)


def test_boundary_config_values_are_accepted():
    config = OcclusionPatchDetectorConfig(nu=1.0, hidden_dims=[], num_patches=16, hidden_act="gelu", center_eps=0.0)
    assert config.grid_size == 4 and config.hidden_dims == []
    outputs = OcclusionPatchDetector(config)(torch.randn(1, 16, 512))
    assert outputs.pixel_mask.shape == (1, 1, 64, 64)


# ---------------------------------------------------------------------------- per-position input normalisation
def gaussian_detector(**overrides) -> OcclusionPatchDetector:
    """Φ = identity on per-position standardised latents (the demo preset's detector), D = 4."""
    config = {"latent_dim": 4, "rep_dim": 4, "input_normalization": "per_position", "projector": "identity"}
    return OcclusionPatchDetector(OcclusionPatchDetectorConfig(**{**config, **overrides})).eval()


def positional_latents(count: int, seed: int = 0) -> torch.Tensor:
    """Clean latents whose normal value depends on the patch position: position n sits around n/10 in every dim."""
    generator = torch.Generator().manual_seed(seed)
    return torch.arange(N).float().div(10).view(1, N, 1) + 0.1 * torch.randn(count, N, 4, generator=generator)


def test_input_normalization_is_the_clean_per_position_mean_and_std():
    model = gaussian_detector()
    latents = positional_latents(20)
    occluded = torch.zeros(20, N, dtype=torch.bool)
    occluded[:5, 7] = True  # excluded from position 7's statistics
    latents[:5, 7] = 1e3
    mean, std = model.fit_input_normalization(latents, occluded)
    clean7 = latents[5:, 7]
    assert torch.allclose(mean[7], clean7.mean(0), atol=1e-5)
    assert torch.allclose(std[7], clean7.std(0) + NORMALIZATION_EPS, atol=1e-5)
    assert torch.allclose(mean[3], latents[:, 3].mean(0), atol=1e-5) and bool(model.normalization_fitted)
    normalized = model.normalize(latents)[:, [position for position in range(N) if position != 7]]
    assert normalized.mean(0).abs().max() < 1e-4
    assert (normalized.std(0) - 1).abs().max() < 0.02


def test_identity_projector_scores_the_per_position_z_score_and_is_not_position_blind():
    clean = positional_latents(50)
    per_position, blind = gaussian_detector(), gaussian_detector(input_normalization="none")
    assert list(per_position.parameters()) == [] and per_position.dtype == torch.float32
    per_position.fit_input_normalization(clean)
    for model in (per_position, blind):
        model.init_center(clean)
        model.update_radius(model(clean, return_loss=False).distances)
    z = per_position.normalize(clean[:2])
    out = per_position(clean[:2], return_loss=False)
    assert torch.allclose(out.distances, torch.linalg.vector_norm(z - per_position.center, dim=-1), atol=1e-5)
    assert per_position.center.abs().max() < 1e-4  # no ±eps push: there is no Φ to collapse
    # position 150 covered by what is normal at position 40: only the per-position detector flags it
    query = positional_latents(1, seed=1)
    query[0, 150] = query[0, 40]
    assert bool(per_position(query, return_loss=False).patch_mask.reshape(-1)[150])
    assert not bool(blind(query, return_loss=False).patch_mask.reshape(-1)[150])


def test_the_normalized_detector_round_trips_and_old_configs_load_without_its_buffers(tmp_path):
    model = gaussian_detector()
    model.fit_input_normalization(positional_latents(10))
    model.init_center(positional_latents(10))
    model.save_pretrained(tmp_path / "gauss")
    loaded = OcclusionPatchDetector.from_pretrained(tmp_path / "gauss")
    assert set(loaded.state_dict()) == {
        "center", "radius", "center_initialized", "position_mean", "position_std", "normalization_fitted"
    }  # fmt: skip
    for key, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    assert "position_mean" not in fitted_detector().state_dict()  # the paper's head keeps its tensors


def test_an_unfitted_normalization_warns_and_bad_statistics_raise(monkeypatch):
    warnings: list[str] = []
    monkeypatch.setattr(modeling.logger, "warning_once", warnings.append)
    model = gaussian_detector()
    model.init_center(positional_latents(4))
    model(positional_latents(1))
    assert len(warnings) == 1 and "fit_input_normalization" in warnings[0]
    with pytest.raises(ValueError, match="fewer than two clean patches at positions \\[5\\]"):
        mask = torch.zeros(3, N, dtype=torch.bool)
        mask[1:, 5] = True
        model.fit_input_normalization(positional_latents(3), mask)
    with pytest.raises(ValueError, match="needs input_normalization='per_position'"):
        tiny_detector().fit_input_normalization(torch.randn(2, N, TINY["latent_dim"]))
    with pytest.raises(ValueError, match="rep_dim must equal latent_dim"):
        OcclusionPatchDetectorConfig(latent_dim=8, rep_dim=4, projector="identity")
    with pytest.raises(ValueError, match="input_normalization must be one of"):
        OcclusionPatchDetectorConfig(input_normalization="global")
