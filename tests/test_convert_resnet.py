"""ResNet-18 weight converters: torchvision layout (DAN's resnet18_msceleb.pth), Hub/local checkpoints, official OURS."""

import pytest
import torch
import torch.nn.functional as F
from transformers import ResNetConfig, ResNetForImageClassification, ResNetModel

from latent_ofer_hf.models.expression_recognizer import (
    ExpressionRecognizer,
    ExpressionRecognizerConfig,
    load_hub_resnet18,
    load_msceleb_resnet18,
    load_official_checkpoint,
    recognizer_state_dict_from_official,
    resnet_state_dict_from_torchvision,
)
from latent_ofer_hf.models.expression_recognizer.configuration_expression_recognizer import RESNET18_CONFIG_KWARGS

TINY_TRUNK = {"hidden_sizes": [8, 16, 32, 64], "embedding_size": 8}  # ResNet-18 depths [2, 2, 2, 2], tiny widths


def torchvision_resnet18_shapes(widths=(64, 128, 256, 512), stem=64, num_classes=1000) -> dict[str, tuple]:
    """Key → shape table of torchvision's ``resnet18().state_dict()`` (written out: no torchvision here)."""
    shapes = {"conv1.weight": (stem, 3, 7, 7)}

    def bn(prefix, channels):
        shapes.update({f"{prefix}.weight": (channels,), f"{prefix}.bias": (channels,),
                       f"{prefix}.running_mean": (channels,), f"{prefix}.running_var": (channels,),
                       f"{prefix}.num_batches_tracked": ()})

    bn("bn1", stem)
    in_channels = stem
    for stage, width in enumerate(widths, start=1):
        for block in range(2):
            prefix = f"layer{stage}.{block}"
            block_in = in_channels if block == 0 else width
            shapes[f"{prefix}.conv1.weight"] = (width, block_in, 3, 3)
            bn(f"{prefix}.bn1", width)
            shapes[f"{prefix}.conv2.weight"] = (width, width, 3, 3)
            bn(f"{prefix}.bn2", width)
            if block == 0 and stage > 1:
                shapes[f"{prefix}.downsample.0.weight"] = (width, block_in, 1, 1)
                bn(f"{prefix}.downsample.1", width)
        in_channels = width
    shapes["fc.weight"] = (num_classes, widths[-1])
    shapes["fc.bias"] = (num_classes,)
    return shapes


def random_torchvision_state_dict(**kwargs) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    state = {}
    for key, shape in torchvision_resnet18_shapes(**kwargs).items():
        if key.endswith("num_batches_tracked"):
            state[key] = torch.tensor(123, dtype=torch.long)
        elif key.endswith("running_var"):
            state[key] = torch.rand(shape, generator=generator) + 0.5
        else:
            state[key] = torch.randn(shape, generator=generator) * 0.1
    return state


def torchvision_resnet_forward(state: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Reference torchvision ResNet-18 trunk (eval mode, no avgpool/fc) written with functional ops."""

    def bn(prefix, h):
        return F.batch_norm(h, state[f"{prefix}.running_mean"], state[f"{prefix}.running_var"],
                            state[f"{prefix}.weight"], state[f"{prefix}.bias"], training=False, eps=1e-5)

    h = F.relu(bn("bn1", F.conv2d(x, state["conv1.weight"], stride=2, padding=3)))
    h = F.max_pool2d(h, kernel_size=3, stride=2, padding=1)
    for stage in range(1, 5):
        for block in range(2):
            prefix = f"layer{stage}.{block}"
            stride = 2 if block == 0 and stage > 1 else 1
            out = F.relu(bn(f"{prefix}.bn1", F.conv2d(h, state[f"{prefix}.conv1.weight"], stride=stride, padding=1)))
            out = bn(f"{prefix}.bn2", F.conv2d(out, state[f"{prefix}.conv2.weight"], padding=1))
            if f"{prefix}.downsample.0.weight" in state:
                h = bn(f"{prefix}.downsample.1", F.conv2d(h, state[f"{prefix}.downsample.0.weight"], stride=stride))
            h = F.relu(out + h)
    return h


def tiny_recognizer(**overrides) -> ExpressionRecognizer:
    config = ExpressionRecognizerConfig(
        backbone_config=TINY_TRUNK, latent_dim=16, num_attention_heads=2, latent_attention_heads=2, latent_out_dim=8,
        paper_latent_dims=[32, 16, 16, 8], fusion_dims=[16, 8], **overrides,
    )
    return ExpressionRecognizer(config).eval()


def test_converted_keys_and_shapes_match_transformers_resnet18():
    converted = resnet_state_dict_from_torchvision(random_torchvision_state_dict())
    expected = ResNetModel(ResNetConfig(**RESNET18_CONFIG_KWARGS)).state_dict()
    assert converted.keys() == expected.keys()
    for key, value in converted.items():
        assert value.shape == expected[key].shape, key


def test_known_key_pairs():
    source = random_torchvision_state_dict(**{"widths": (8, 16, 32, 64), "stem": 8})
    converted = resnet_state_dict_from_torchvision({"state_dict": {f"module.{k}": v for k, v in source.items()}})
    pairs = {
        "conv1.weight": "embedder.embedder.convolution.weight",
        "bn1.running_var": "embedder.embedder.normalization.running_var",
        "layer1.1.conv2.weight": "encoder.stages.0.layers.1.layer.1.convolution.weight",
        "layer3.0.bn1.bias": "encoder.stages.2.layers.0.layer.0.normalization.bias",
        "layer2.0.downsample.0.weight": "encoder.stages.1.layers.0.shortcut.convolution.weight",
        "layer4.0.downsample.1.running_mean": "encoder.stages.3.layers.0.shortcut.normalization.running_mean",
    }
    for tv_key, hf_key in pairs.items():
        assert torch.equal(converted[hf_key], source[tv_key]), tv_key
    assert not any(key.startswith("fc") for key in converted)


def test_load_msceleb_checkpoint_into_recognizer_trunk(tmp_path):
    source = random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8)
    path = tmp_path / "resnet18_msceleb.pth"
    torch.save({"state_dict": source}, path)  # DAN's wrapper
    model = tiny_recognizer()
    assert load_msceleb_resnet18(path, model) is model

    # every converted tensor landed in its trunk parameter / buffer
    trunk_state = model.resnet.state_dict()
    for key, value in resnet_state_dict_from_torchvision(source).items():
        assert torch.equal(trunk_state[key], value), key
    # and the trunk computes what the torchvision network computes
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours = model.resnet(x).last_hidden_state
    torch.testing.assert_close(ours, torchvision_resnet_forward(source, x), rtol=1e-4, atol=1e-5)


def test_load_msceleb_accepts_a_bare_resnet_model_and_old_checkpoints(tmp_path):
    source = random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8)
    old = {k: v for k, v in source.items() if not k.endswith("num_batches_tracked")}  # pre-0.4.1 checkpoints
    path = tmp_path / "old.pth"
    torch.save(old, path)
    trunk = ResNetModel(ResNetConfig(**{**RESNET18_CONFIG_KWARGS, **TINY_TRUNK}))
    load_msceleb_resnet18(path, trunk)
    assert torch.equal(trunk.embedder.embedder.convolution.weight, source["conv1.weight"])


class _NotATensor:
    """A picklable object that weights_only loading must refuse."""

    def __init__(self):
        self.payload = "arbitrary code could run here"


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8), "x": _NotATensor()},
               path)
    with pytest.raises(ValueError, match="refusing"):
        load_msceleb_resnet18(path, tiny_recognizer())


def test_mismatches_are_reported(tmp_path):
    model = tiny_recognizer()
    source = random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8)

    missing = dict(source)
    del missing["layer2.0.downsample.0.weight"]
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(ValueError, match=r"missing keys \['encoder\.stages\.1\.layers\.0\.shortcut\.convolution"):
        load_msceleb_resnet18(tmp_path / "missing.pth", model)

    torch.save(random_torchvision_state_dict(), tmp_path / "full_size.pth")  # ResNet-18 widths into a tiny trunk
    with pytest.raises(ValueError, match="shape mismatches"):
        load_msceleb_resnet18(tmp_path / "full_size.pth", model)

    extra = {**source, "layer5.0.conv1.weight": torch.zeros(1, 1, 3, 3)}
    torch.save(extra, tmp_path / "extra.pth")
    with pytest.raises(ValueError, match="unexpected keys"):
        load_msceleb_resnet18(tmp_path / "extra.pth", model)

    with pytest.raises(ValueError, match="unknown keys"):
        resnet_state_dict_from_torchvision({"features.0.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="ExpressionRecognizer, a ResNetModel"):
        load_msceleb_resnet18(tmp_path / "extra.pth", torch.nn.Linear(2, 2))


def test_load_hub_resnet18_from_a_local_directory(tmp_path):
    source = ResNetForImageClassification(ResNetConfig(**{**RESNET18_CONFIG_KWARGS, **TINY_TRUNK}, num_labels=10))
    with torch.no_grad():
        for tensor in source.state_dict().values():
            if tensor.is_floating_point():
                tensor.uniform_(0.5, 1.5)
    source.save_pretrained(tmp_path / "resnet")
    model = tiny_recognizer()
    assert load_hub_resnet18(model, str(tmp_path / "resnet"), local_files_only=True) is model
    trunk_state = model.resnet.state_dict()
    for key, value in source.resnet.state_dict().items():
        assert torch.equal(trunk_state[key], value), key

    wide = ResNetModel(ResNetConfig(**{**RESNET18_CONFIG_KWARGS, "hidden_sizes": [8, 16, 32, 48],
                                       "embedding_size": 8}))
    wide.save_pretrained(tmp_path / "wide")
    with pytest.raises(ValueError, match="hidden_sizes"):
        load_hub_resnet18(model, str(tmp_path / "wide"), local_files_only=True)


def official_state_dict(model: ExpressionRecognizer) -> dict[str, torch.Tensor]:
    """Fake an official OURS state dict (names of networks/OURS.py) from random tiny tensors of the right shapes."""
    trunk = random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8)
    state = {}
    for key, value in trunk.items():
        if key.startswith("fc."):
            continue
        first = key.split(".")[0]
        child = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}[first]
        state[f"features.{child}{key[len(first):]}"] = value
    ours = model.state_dict()
    renames = {"latent_head.layers.0": "hh_layer", "latent_head.layers.1": "hh_layer2",
               "latent_head.layers.2": "hh_batch1", "latent_head.layers.3": "hh_layer3",
               "latent_head.layers.4": "hh_layer4", "latent_head.layers.5": "batch_norm1",
               "fusion_head.hidden.0": "fc", "fusion_head.hidden.1": "fc2", "fusion_head.hidden.2": "batch_norm",
               "fusion_head.classifier": "fc4", "fusion_head.logits_norm": "bn"}
    for key, value in ours.items():
        if key.startswith("attention_heads."):
            _, head, rest = key.split(".", 2)
            state[f"cat_head{head}.{rest}"] = torch.randn_like(value.float()).to(value.dtype)
        elif not key.startswith("resnet."):
            module, name = key.rsplit(".", 1)
            state[f"{renames[module]}.{name}"] = torch.randn_like(value.float()).to(value.dtype)
    return state


def test_official_checkpoint_round_trip(tmp_path):
    model = tiny_recognizer(latent_head="paper", latent_selection="fixed")
    official = official_state_dict(model)
    converted = recognizer_state_dict_from_official(official)
    assert converted.keys() == model.state_dict().keys()
    torch.save({"iter": 22, "model_state_dict": official}, tmp_path / "KDEF_epoch22.pth")
    load_official_checkpoint(tmp_path / "KDEF_epoch22.pth", model)
    state = model.state_dict()
    assert torch.equal(state["latent_head.layers.0.weight"], official["hh_layer.weight"])
    assert torch.equal(state["fusion_head.logits_norm.running_var"], official["bn.running_var"])
    assert torch.equal(state["attention_heads.1.sa.conv_1x3.0.weight"], official["cat_head1.sa.conv_1x3.0.weight"])
    assert torch.equal(state["resnet.encoder.stages.3.layers.1.layer.1.convolution.weight"],
                       official["features.7.1.conv2.weight"])

    with pytest.raises(ValueError, match="latent_head='paper'"):
        load_official_checkpoint(tmp_path / "KDEF_epoch22.pth", tiny_recognizer())
