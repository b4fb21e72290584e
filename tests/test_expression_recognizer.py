"""ExpressionRecognizer: config, shapes, latent selection (CAM / fixed), gradients, input checks, save/load."""

import ast
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from latent_ofer_hf import input_value_checks
from latent_ofer_hf.models.common.hub_code import collect_module_files, flatten_source
from latent_ofer_hf.models.common.labels import RAFDB_7, id2label_for
from latent_ofer_hf.models.expression_recognizer import (
    OFFICIAL_FIXED_PATCH_INDICES,
    OFFICIAL_FIXED_TOKEN_INDICES,
    ExpressionRecognizer,
    ExpressionRecognizerConfig,
    ExpressionRecognizerOutput,
    select_latents_by_cam,
    select_latents_fixed,
)
from latent_ofer_hf.models.expression_recognizer import modeling_expression_recognizer as modeling
from latent_ofer_hf.models.expression_recognizer.latent_selection import (
    attention_maps_to_patch_scores,
    num_selected_patches,
    top_patch_indices,
)

D = 16
TINY = {
    "backbone_config": {"hidden_sizes": [8, 16, 32, 64], "embedding_size": 8, "depths": [1, 1, 1, 1]},
    "latent_dim": D,
    "num_attention_heads": 3,
    "latent_attention_heads": 2,
    "latent_out_dim": 8,
    "paper_latent_dims": [32, 16, 16, 8],
    "fusion_dims": [16, 8],
}
# The list printed in the official main.py / only_test.py (cls-first token indices).
OFFICIAL_LIST = [
    46,
    47,
    48,
    49,
    50,
    51,
    52,
    53,
    60,
    61,
    62,
    63,
    64,
    65,
    66,
    67,
    74,
    75,
    76,
    77,
    78,
    79,
    80,
    81,
    88,
    89,
    90,
    91,
    92,
    93,
    94,
    95,
    102,
    103,
    104,
    105,
    106,
    107,
    108,
    109,
    116,
    117,
    118,
    119,
    120,
    121,
    122,
    123,
    130,
    131,
    132,
    133,
    134,
    135,
    136,
    137,
    144,
    145,
    146,
    147,
    148,
    149,
    150,
    151,
    158,
    159,
    160,
    161,
    162,
    163,
    164,
    165,
    172,
    173,
    174,
    175,
    176,
    177,
]


def tiny_config(**overrides) -> ExpressionRecognizerConfig:
    return ExpressionRecognizerConfig(**{**TINY, **overrides})


def make_inputs(batch: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 224, 224, generator=generator), torch.randn(batch, 196, D, generator=generator)


@pytest.fixture(scope="module")
def model() -> ExpressionRecognizer:
    torch.manual_seed(0)
    return ExpressionRecognizer(tiny_config()).eval()


# --- config -------------------------------------------------------------------------------------------------------


def test_config_defaults():
    config = ExpressionRecognizerConfig()
    assert config.model_type == "latent-ofer-expression-recognizer"
    assert config.id2label == dict(enumerate(RAFDB_7)) and config.label2id["surprise"] == 0
    assert config.num_labels == 7
    trunk = config.backbone_config
    assert (trunk.layer_type, trunk.depths, trunk.hidden_sizes, trunk.embedding_size) == (
        "basic",
        [2, 2, 2, 2],
        [64, 128, 256, 512],
        64,
    )
    assert config.latent_selection == "cam" and config.latent_head == "attention"
    assert config.num_selected_patches == 98 and config.cnn_hidden_size == 512
    assert ExpressionRecognizerConfig(latent_selection="fixed").num_selected_patches == 78
    assert ExpressionRecognizerConfig(num_labels=5).num_labels == 5
    eight = ExpressionRecognizerConfig(id2label=id2label_for("affectnet8"))
    assert eight.num_labels == 8 and eight.label2id["contempt"] == 7
    round_trip = ExpressionRecognizerConfig.from_dict(tiny_config(latent_head="paper").to_dict())
    assert round_trip.to_dict() == tiny_config(latent_head="paper").to_dict()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"latent_selection": "random"}, "latent_selection must be one of"),
        ({"latent_head": "transformer"}, "latent_head must be one of"),
        ({"latent_selection_ratio": 0.0}, r"latent_selection_ratio must be in \(0, 1\]"),
        ({"latent_selection_ratio": 1.5}, r"latent_selection_ratio must be in \(0, 1\]"),
        ({"num_patches": 200}, "square"),
        ({"num_patches": 64, "latent_selection": "fixed"}, "14x14"),
        ({"latent_head": "paper", "paper_latent_dims": [32, 16]}, "must equal latent_out_dim"),
        ({"latent_attention_heads": 3}, "must divide latent_dim"),
        ({"head_activation": "swishy"}, "head_activation"),
        ({"num_attention_heads": 0}, "num_attention_heads must be a positive"),
        ({"fusion_dims": []}, "fusion_dims"),
        ({"backbone_config": {"model_type": "vit"}}, "must describe a ResNet"),
        ({"use_cnn_features": False, "use_latents": False}, "needs use_latents=True"),
        ({"cnn_image_size": 16}, "cnn_image_size must be None or an int >= 32"),
        ({"id2label": {0: "happy", 5: "sad", 9: "neutral"}}, r"id2label must name the classes 0\.\.2"),
        ({"backbone_config": {"depths": [-1, 2, 2, 2]}}, "backbone_config.depths must be 4 positive integers"),
        ({"backbone_config": {"hidden_sizes": [64, 128, 256]}}, "backbone_config.hidden_sizes must be 4 positive"),
        ({"backbone_config": {"embedding_size": 0}}, "backbone_config.embedding_size must be a positive integer"),
    ],
)
def test_config_rejects_bad_values(overrides, message):
    with pytest.raises(ValueError, match=message):
        tiny_config(**overrides)


# --- forward ------------------------------------------------------------------------------------------------------


def test_a_latents_only_recognizer_classifies_from_the_latents_alone():
    """Table 10's "w/o CNN features": the fusion head sees the latent vector only, so the CNN vector cannot reach
    the logits except through the choice of latents; without latents it refuses clearly."""
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config(use_cnn_features=False)).eval()
    assert net.fusion_head.hidden[0].in_features == 8  # the latent vector's width (tiny: latent_out_dim 8)
    pixels, latents = make_inputs(2)
    with torch.no_grad():
        out = net(pixel_values=pixels, patch_latents=latents)
        assert out.logits.shape == (2, 7) and out.latent_features.shape == (2, 8)
        # the logits are a function of the latent vector alone
        assert torch.allclose(net.fusion_head(out.latent_features), out.logits)
    with pytest.raises(ValueError, match="pass patch_latents"):
        net(pixel_values=pixels)


@pytest.mark.parametrize("selection", ["cam", "fixed"])
@pytest.mark.parametrize("head", ["paper", "attention", "grid"])
@pytest.mark.parametrize("batch", [1, 3])
def test_forward_shapes_and_loss(selection, head, batch):
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config(latent_selection=selection, latent_head=head)).eval()
    pixels, latents = make_inputs(batch)
    labels = torch.arange(batch) % 7
    with torch.no_grad():
        out = net(pixel_values=pixels, patch_latents=latents, labels=labels)
    k = 98 if selection == "cam" else 78
    assert isinstance(out, ExpressionRecognizerOutput)
    assert out.logits.shape == (batch, 7) and out.logits.dtype == torch.float32
    assert out.attention_maps.shape == (batch, 3, 7, 7)
    assert out.relevant_patches.shape == (batch, k) and out.relevant_patches.dtype == torch.long
    assert out.cnn_features.shape == (batch, 64)
    assert out.latent_features.shape == (batch, 8)
    assert out.loss.ndim == 0 and torch.isfinite(out.loss)
    assert torch.isfinite(out.logits).all()
    patches = out.relevant_patches
    assert bool((patches[:, 1:] > patches[:, :-1]).all()), "indices must be strictly ascending"
    assert int(patches.min()) >= 0 and int(patches.max()) < 196
    with torch.no_grad():
        assert net(pixels, latents).loss is None


def test_the_cnn_branch_reads_the_face_at_cnn_image_size():
    torch.manual_seed(0)
    small = ExpressionRecognizer(tiny_config(cnn_image_size=112)).eval()
    pixels, latents = make_inputs(2)
    with torch.no_grad():
        out = small(pixel_values=pixels, patch_latents=latents)
        resized = torch.nn.functional.interpolate(pixels, size=(112, 112), mode="bilinear", antialias=True)
        trunk = small.resnet(resized).last_hidden_state
    assert out.attention_maps.shape == (2, TINY["num_attention_heads"], 4, 4) and trunk.shape[-2:] == (4, 4)
    assert out.relevant_patches.shape == (2, 98)  # the latents are still picked on the 14x14 patch grid
    full = ExpressionRecognizer(tiny_config()).eval()
    full.load_state_dict(small.state_dict())  # same weights, 224 px trunk: other maps
    with torch.no_grad():
        assert full(pixel_values=pixels, patch_latents=latents).attention_maps.shape[-2:] == (7, 7)


def test_train_step_and_tuple_output(model):
    net = ExpressionRecognizer(tiny_config(head_activation="relu", num_attention_heads=1)).train()
    pixels, latents = make_inputs(3)
    out = net(pixel_values=pixels, patch_latents=latents, labels=torch.tensor([0, 6, -100]))
    out.loss.backward()
    assert torch.isfinite(out.loss)
    assert net.fusion_head.classifier.weight.grad is not None
    with torch.no_grad():
        as_tuple = model(pixels, latents, labels=torch.tensor([1, 2, 3]), return_dict=False)
    assert isinstance(as_tuple, tuple) and as_tuple[1].shape == (3, 7)


# --- CAM selection ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("ratio", "expected"), [(0.5, 98), (0.3, 59), (1.0, 196), (1 / 196, 1), (0.7, 138)])
def test_cam_keeps_ceil_ratio_of_the_patches(ratio, expected):
    assert num_selected_patches(196, ratio) == expected == math.ceil(round(ratio * 196, 9))
    latents = torch.randn(2, 196, D)
    for maps in (torch.rand(2, 4, 7, 7), torch.ones(2, 4, 7, 7), torch.zeros(2, 4, 7, 7)):  # ties included
        selected, indices = select_latents_by_cam(latents, maps, ratio)
        assert selected.shape == (2, expected, D) and indices.shape == (2, expected)
        assert all(len(set(row.tolist())) == expected for row in indices)


def test_cam_ties_go_to_the_lower_patch_index():
    _, indices = select_latents_by_cam(torch.randn(1, 196, D), torch.ones(1, 2, 7, 7), 0.5)
    assert indices[0].tolist() == list(range(98))


def test_cam_selects_the_top_k_of_a_known_map():
    values = torch.randperm(49, generator=torch.Generator().manual_seed(3)).float().reshape(7, 7)
    maps = torch.stack([values, 2 * values]).unsqueeze(0)  # two heads; their mean ranks like `values`
    scores = attention_maps_to_patch_scores(maps, 196)
    upsampled = np.kron(values.numpy(), np.ones((2, 2))).reshape(-1)  # each 7×7 cell ↔ a 2×2 block of patches
    np.testing.assert_allclose(scores[0].numpy(), 1.5 * upsampled)

    _, indices = select_latents_by_cam(torch.randn(1, 196, D), maps, 0.5)
    chosen = indices[0].numpy()
    # 24 whole cells (96 patches) + the two lower-index patches of the 25th cell
    threshold_cell = np.sort(values.reshape(-1).numpy())[::-1][24]
    expected_full = np.flatnonzero(upsampled > threshold_cell)
    assert len(expected_full) == 96 and set(expected_full) <= set(chosen)
    partial = sorted(set(chosen) - set(expected_full))
    assert len(partial) == 2 and all(upsampled[p] == threshold_cell for p in partial)
    assert partial == sorted(np.flatnonzero(upsampled == threshold_cell))[:2]
    # the kept scores are all ≥ every dropped score
    assert upsampled[chosen].min() >= np.delete(upsampled, chosen).max()
    assert torch.equal(top_patch_indices(scores, 98), indices)


def test_cam_gradient_reaches_selected_latents_and_the_map():
    latents = torch.randn(2, 196, D, requires_grad=True)
    maps = (torch.rand(2, 2, 7, 7) + 0.1).requires_grad_(True)
    selected, indices = select_latents_by_cam(latents, maps, 0.5)
    # forward value equals a plain gather (straight-through factor is exactly 1)
    plain = torch.gather(latents, 1, indices.unsqueeze(-1).expand(-1, -1, D))
    assert torch.equal(selected, plain)
    (selected * torch.randn_like(selected)).sum().backward()
    row_has_grad = latents.grad.abs().sum(-1) > 0
    mask = torch.zeros(2, 196, dtype=torch.bool)
    mask.scatter_(1, indices, True)
    assert torch.equal(row_has_grad, mask), "gradient on exactly the selected latents"
    assert maps.grad is not None and maps.grad.abs().sum() > 0
    assert torch.isfinite(maps.grad).all()


def test_cam_gradient_is_finite_on_a_zero_map():
    maps = torch.zeros(1, 2, 7, 7, requires_grad=True)
    selected, _ = select_latents_by_cam(torch.randn(1, 196, D), maps, 0.5)
    selected.sum().backward()
    assert torch.isfinite(maps.grad).all()


@pytest.mark.parametrize(("selection", "heads_get_gradient"), [("cam", True), ("fixed", False)])
def test_latent_branch_trains_the_attention_heads_only_through_cam(selection, heads_get_gradient):
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config(latent_selection=selection)).train()
    pixels, latents = make_inputs(2)
    latents.requires_grad_(True)
    out = net(pixel_values=pixels, patch_latents=latents)
    out.latent_features.pow(2).sum().backward()  # the latent branch alone
    head_grads = [p.grad for p in net.attention_heads.parameters()]
    got = any(g is not None and g.abs().sum() > 0 for g in head_grads)
    assert got == heads_get_gradient
    assert latents.grad.abs().sum() > 0


# --- fixed selection --------------------------------------------------------------------------------------------


def test_fixed_selection_is_the_official_box(model):
    assert list(OFFICIAL_FIXED_TOKEN_INDICES) == OFFICIAL_LIST
    assert list(OFFICIAL_FIXED_PATCH_INDICES) == [token - 1 for token in OFFICIAL_LIST]
    latents = torch.randn(2, 196, D)
    selected, indices = select_latents_fixed(latents)
    assert indices.shape == (2, 78) and indices[1].tolist() == [token - 1 for token in OFFICIAL_LIST]
    assert torch.equal(selected, latents[:, [token - 1 for token in OFFICIAL_LIST]])
    rows, cols = np.divmod(np.asarray(OFFICIAL_FIXED_PATCH_INDICES), 14)  # the box of docs/method.md#latent-selection
    assert set(rows) == set(range(3, 13)) and set(cols) == set(range(3, 11))
    net = ExpressionRecognizer(tiny_config(latent_selection="fixed")).eval()
    with torch.no_grad():
        out = net(*make_inputs(2))
    assert out.relevant_patches.tolist() == [[token - 1 for token in OFFICIAL_LIST]] * 2
    with pytest.raises(ValueError, match="14x14"):
        select_latents_fixed(torch.randn(1, 64, D))


# --- input checks -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("gray", "3 channels"),
        ("size", "224x224"),
        ("nan_pixels", "NaN"),
        ("latent_patches", r"shape \[B, 196, 16\]"),
        ("latent_dim", r"shape \[B, 196, 16\]"),
        ("nan_latents", "patch_latents contains NaN"),
        ("batch_mismatch", "batch size"),
        ("label_range", r"class ids in 0\.\.6"),
        ("label_shape", "labels must be a tensor of shape"),
    ],
)
def test_bad_inputs_raise_clear_errors(model, case, message):
    pixels, latents = make_inputs(2)
    kwargs = {"pixel_values": pixels, "patch_latents": latents}
    if case == "gray":
        kwargs["pixel_values"] = pixels[:, :1]
    elif case == "size":
        kwargs["pixel_values"] = pixels[:, :, :200, :200]
    elif case == "nan_pixels":
        pixels[0, 0, 0, 0] = float("nan")
    elif case == "latent_patches":
        kwargs["patch_latents"] = torch.randn(2, 197, D)  # cls token not dropped
    elif case == "latent_dim":
        kwargs["patch_latents"] = torch.randn(2, 196, 32)
    elif case == "nan_latents":
        latents[1, 5, 0] = float("nan")
    elif case == "batch_mismatch":
        kwargs["patch_latents"] = latents[:1]
    elif case == "label_range":
        kwargs["labels"] = torch.tensor([0, 7])
    elif case == "label_shape":
        kwargs["labels"] = torch.tensor([[0, 1]])
    with input_value_checks(), pytest.raises(ValueError, match=message):  # value checks (NaN, ranges) when asked
        model(**kwargs)


def test_training_mode_needs_two_samples():
    net = ExpressionRecognizer(tiny_config()).train()
    with pytest.raises(ValueError, match="batch of 1 cannot be used in training mode"):
        net(*make_inputs(1))


# --- size and init ------------------------------------------------------------------------------------------------


def test_paper_latent_mlp_is_455m_and_the_attention_head_is_small():
    with torch.device("meta"):
        paper = ExpressionRecognizer(ExpressionRecognizerConfig(latent_head="paper", latent_selection="fixed"))
        paper_cam = ExpressionRecognizer(ExpressionRecognizerConfig(latent_head="paper", latent_selection="cam"))
        efficient = ExpressionRecognizer(ExpressionRecognizerConfig())

    def count(module):
        return sum(p.numel() for p in module.parameters())

    # docs/method.md#latent-head: 39936·10000 + … = 454.77 M (Linear weights+biases, two BatchNorms)
    expected = (
        (39936 * 10000 + 10000) + (10000 * 5000 + 5000) + 2 * 5000 + (5000 * 1024 + 1024) + (1024 * 256 + 256) + 2 * 256
    )
    assert count(paper.latent_head) == expected == 454_768_936
    assert round(count(paper.latent_head) / 1e6, 2) == 454.77
    assert count(paper_cam.latent_head) == expected + (98 - 78) * 512 * 10000
    assert count(paper.resnet) == 11_176_512  # ResNet-18 without fc
    assert round(count(paper) / 1e6, 1) == 474.7  # docs/method.md#latent-head: ≈ 474.7 M
    assert count(efficient.latent_head) < 2_000_000


def test_official_head_init_and_untouched_trunk_init():
    torch.manual_seed(0)
    net = ExpressionRecognizer(
        ExpressionRecognizerConfig(backbone_config={"hidden_sizes": [8, 16, 32, 512], "embedding_size": 8})
    )
    head = net.attention_heads[0]
    assert abs(head.ca.attention[0].weight.std().item() - 0.001) < 2e-4  # Linear N(0, 0.001)
    assert head.ca.attention[0].bias.abs().max() == 0
    fan_out = head.sa.conv1x1[0].weight.shape[0]  # Kaiming-normal, fan_out
    assert abs(head.sa.conv1x1[0].weight.std().item() - math.sqrt(2 / fan_out)) < 0.1 * math.sqrt(2 / fan_out)
    assert torch.equal(head.sa.conv_3x3[1].weight, torch.ones(512))
    conv = net.resnet.encoder.stages[3].layers[0].layer[1].convolution.weight  # transformers ResNet init
    assert abs(conv.std().item() - math.sqrt(2 / (512 * 9))) < 0.1 * math.sqrt(2 / (512 * 9))


def test_latent_output_batchnorm_puts_the_face_to_face_variation_at_unit_scale():
    """With the BatchNorm every latent feature varies across the faces of a batch at unit scale around zero
    (training mode, batch statistics), whatever the scale the head's LayerNorm and projection leave."""
    torch.manual_seed(0)
    pixels, latents = make_inputs(8)
    latents = 0.01 * latents + torch.randn(1, 196, D)  # what every face shares dominates, as in the demo ViT
    plain = ExpressionRecognizer(tiny_config()).train()
    normed = ExpressionRecognizer(tiny_config(latent_output_batchnorm=True)).train()
    missing, unexpected = normed.load_state_dict(plain.state_dict(), strict=False)
    assert {key.rsplit(".", 1)[0] for key in missing} == {"latent_head.output_batchnorm"} and not unexpected
    before = plain(pixels, latents).latent_features.std(0)
    after = normed(pixels, latents).latent_features
    assert before.max() < 0.5  # the same weights without it
    assert torch.allclose(after.std(0, unbiased=False), torch.ones(after.shape[1]), atol=0.05)
    assert after.mean(0).abs().max() < 1e-4


# --- save / load ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("head", ["paper", "attention", "grid"])
def test_save_and_load_round_trip(tmp_path, head):
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config(latent_head=head, id2label=id2label_for("fer2013"))).eval()
    with torch.no_grad():  # perturb every parameter and buffer so that a re-init on load would show
        for name, tensor in net.state_dict().items():
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            elif tensor.is_floating_point():
                tensor.add_(torch.randn_like(tensor) * 0.05)
            else:
                tensor.fill_(7)
    net.save_pretrained(tmp_path)
    files = sorted(os.listdir(tmp_path))
    weights = [f for f in files if not f.endswith((".py", ".json"))]
    assert weights == ["model.safetensors"], files
    loaded = ExpressionRecognizer.from_pretrained(tmp_path).eval()
    assert loaded.config.id2label == id2label_for("fer2013")
    assert loaded.config.latent_head == head
    expected = net.state_dict()
    for key, value in loaded.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert loaded.state_dict().keys() == expected.keys()
    pixels, latents = make_inputs(2)
    with torch.no_grad():
        logits = net(pixels, latents).logits
        assert torch.isfinite(logits).all() and torch.equal(logits, loaded(pixels, latents).logits)


def test_model_modules_flatten_for_hub_code():
    files = collect_module_files(modeling.__file__)
    assert {
        "modeling_expression_recognizer.py",
        "configuration_expression_recognizer.py",
        "attention_heads.py",
        "latent_selection.py",
        "latent_heads.py",
        "labels.py",
        "input_checks.py",
        "hub_code.py",
    } <= set(files)
    for path in files.values():
        tree = ast.parse(flatten_source(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                assert node.level in (0, 1) and not (node.module or "").startswith("latent_ofer_hf"), path.name
                if node.level == 1:
                    assert f"{node.module}.py" in files, (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any(alias.name.startswith("latent_ofer_hf") for alias in node.names), path.name


def test_saved_directory_loads_as_remote_code_without_the_package(tmp_path):
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config()).eval()
    net.save_pretrained(tmp_path / "model")
    pixels, latents = make_inputs(2)
    with torch.no_grad():
        expected = net(pixels, latents).logits
    torch.save({"pixels": pixels, "latents": latents, "expected": expected}, tmp_path / "io.pt")
    script = (
        "import sys, torch\n"
        "from transformers import AutoModel, AutoModelForImageClassification\n"
        "io = torch.load(sys.argv[2])\n"
        "for auto in (AutoModelForImageClassification, AutoModel):  # both Auto classes are in the saved auto_map\n"
        "    m = auto.from_pretrained(sys.argv[1], trust_remote_code=True).eval()\n"
        "    assert 'latent_ofer_hf' not in sys.modules and 'transformers_modules' in type(m).__module__\n"
        "    with torch.no_grad():\n"
        "        assert torch.equal(m(io['pixels'], io['latents']).logits, io['expected'])\n"
        "print('ok')\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules")}
    env.pop("PYTHONPATH", None)
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "model"), str(tmp_path / "io.pt")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


def test_the_grid_latent_head_reads_each_feature_where_it_sits():
    from latent_ofer_hf.models.expression_recognizer.latent_heads import GridLatentHead

    torch.manual_seed(0)
    head = GridLatentHead(latent_dim=16, num_patches=9, out_dim=4, grid_dim=2).eval()
    tokens = torch.randn(1, 3, 16)
    here, there = torch.tensor([[0, 4, 8]]), torch.tensor([[1, 4, 8]])
    with torch.no_grad():
        assert not torch.allclose(head(tokens, here), head(tokens, there))  # the same token elsewhere reads differently
        # an unselected position holds zeros: only the selected positions' weights matter
        before = head(tokens, here)
        head.projection.weight[:, 2:4] += 1.0  # the columns of position 1, not selected in `here`
        assert torch.equal(head(tokens, here), before)
    with pytest.raises(ValueError, match="latent_grid_dim"):
        tiny_config(latent_head="grid", latent_grid_dim=0)


def test_the_attention_latent_head_trains_the_same_on_every_run_and_thread_count():
    """Its position table's gradient repeats bit for bit on two threads (indexing the table added into it in parallel,
    in no fixed order) and equals, on one thread, what indexing gave there: a one-thread run repeats older weights."""
    from latent_ofer_hf.models.expression_recognizer.latent_heads import AttentionLatentHead

    torch.manual_seed(0)
    head = AttentionLatentHead(latent_dim=64, num_patches=196, out_dim=16).train()
    torch.nn.init.normal_(head.position_embeddings), torch.nn.init.normal_(head.query)
    selected = torch.randn(32, 49, 64)
    indices = torch.stack([torch.randperm(196)[:49] for _ in range(32)])  # unsorted: many rows met by both threads

    def gradient(forward) -> torch.Tensor:
        head.zero_grad()
        forward(selected, indices).square().sum().backward()
        return head.position_embeddings.grad.clone()

    def indexing(selected, indices):  # the forward as it was: position_embeddings[indices]
        tokens = head.input_norm(selected) + head.position_embeddings[indices]
        pooled, _ = head.attention(head.query.expand(len(selected), -1, -1), tokens, tokens, need_weights=False)
        return head.projection(head.output_norm(pooled[:, 0]))

    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        first = gradient(head)
        assert all(torch.equal(gradient(head), first) for _ in range(10))
        torch.set_num_threads(1)
        assert torch.equal(gradient(head), gradient(indexing))
    finally:
        torch.set_num_threads(threads)


def test_branch_norm_puts_both_vectors_on_one_scale_before_the_fusion_head():
    torch.manual_seed(0)
    net = ExpressionRecognizer(tiny_config(branch_norm=True, latent_head="grid")).eval()
    pixels, latents = make_inputs(2)
    seen = {}
    net.fusion_head.register_forward_hook(lambda module, args, output: seen.update(fused=args[0]))
    with torch.no_grad():
        out = net(pixel_values=pixels, patch_latents=(latents * 100))
    width = out.cnn_features.shape[1]
    cnn_part, latent_part = seen["fused"][:, :width], seen["fused"][:, width:]
    layer_norm = torch.nn.functional.layer_norm
    assert torch.allclose(cnn_part, layer_norm(out.cnn_features, (width,)), atol=1e-5)
    assert torch.allclose(latent_part, layer_norm(out.latent_features, (out.latent_features.shape[1],)), atol=1e-5)
    assert ExpressionRecognizer(tiny_config()).cnn_norm is None  # off by default: saved checkpoints load unchanged
