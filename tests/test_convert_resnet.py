"""ResNet-18 weight converters: torchvision layout (DAN's resnet18_msceleb.pth), Hub/local, official OURS."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn
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
        shapes.update(
            {
                f"{prefix}.weight": (channels,),
                f"{prefix}.bias": (channels,),
                f"{prefix}.running_mean": (channels,),
                f"{prefix}.running_var": (channels,),
                f"{prefix}.num_batches_tracked": (),
            }
        )

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
        return F.batch_norm(
            h,
            state[f"{prefix}.running_mean"],
            state[f"{prefix}.running_var"],
            state[f"{prefix}.weight"],
            state[f"{prefix}.bias"],
            training=False,
            eps=1e-5,
        )

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
        backbone_config=TINY_TRUNK,
        latent_dim=16,
        num_attention_heads=2,
        latent_attention_heads=2,
        latent_out_dim=8,
        paper_latent_dims=[32, 16, 16, 8],
        fusion_dims=[16, 8],
        **overrides,
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
    torch.save({"state_dict": random_torchvision_state_dict(widths=(8, 16, 32, 64), stem=8), "x": _NotATensor()}, path)
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

    wide = ResNetModel(ResNetConfig(**{**RESNET18_CONFIG_KWARGS, "hidden_sizes": [8, 16, 32, 48], "embedding_size": 8}))
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
        state[f"features.{child}{key[len(first) :]}"] = value
    ours = model.state_dict()
    renames = {
        "latent_head.layers.0": "hh_layer",
        "latent_head.layers.1": "hh_layer2",
        "latent_head.layers.2": "hh_batch1",
        "latent_head.layers.3": "hh_layer3",
        "latent_head.layers.4": "hh_layer4",
        "latent_head.layers.5": "batch_norm1",
        "fusion_head.hidden.0": "fc",
        "fusion_head.hidden.1": "fc2",
        "fusion_head.hidden.2": "batch_norm",
        "fusion_head.classifier": "fc4",
        "fusion_head.logits_norm": "bn",
    }
    generator = torch.Generator().manual_seed(1)
    for key, value in ours.items():
        if key.endswith("num_batches_tracked"):
            random = torch.tensor(5)
        elif key.endswith("running_var"):
            random = torch.rand(value.shape, generator=generator) + 0.5
        else:
            random = torch.randn(value.shape, generator=generator) * 0.2
        if key.startswith("attention_heads."):
            _, head, rest = key.split(".", 2)
            state[f"cat_head{head}.{rest}"] = random
        elif not key.startswith("resnet."):
            module, name = key.rsplit(".", 1)
            state[f"{renames[module]}.{name}"] = random
    return state


# --- a transcription of the official network [networks/OURS.py], for a parity check ---------------------------


class OfficialChannelAttention(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.attention = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, sa):
        sa2 = self.gap(sa)
        sa2 = sa2.view(sa2.size(0), -1)
        y = self.attention(sa2)
        return sa * y.unsqueeze(dim=-1).unsqueeze(dim=-1)


class OfficialSpatialAttention(nn.Module):
    def __init__(self, channels, hidden):
        super().__init__()
        self.conv1x1 = nn.Sequential(nn.Conv2d(channels, hidden, kernel_size=1), nn.BatchNorm2d(hidden))
        self.conv_3x3 = nn.Sequential(nn.Conv2d(hidden, channels, kernel_size=3, padding=1), nn.BatchNorm2d(channels))
        self.conv_1x3 = nn.Sequential(
            nn.Conv2d(hidden, channels, kernel_size=(1, 3), padding=(0, 1)), nn.BatchNorm2d(channels)
        )
        self.conv_3x1 = nn.Sequential(
            nn.Conv2d(hidden, channels, kernel_size=(3, 1), padding=(1, 0)), nn.BatchNorm2d(channels)
        )
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        y = self.conv1x1(x)
        y = self.relu(self.conv_3x3(y) + self.conv_1x3(y) + self.conv_3x1(y))
        y = y.sum(dim=1, keepdim=True)
        out = self.gap(x * y)
        return out.view(out.size(0), -1)


class OfficialCrossAttentionHead(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.sa = OfficialSpatialAttention(channels, channels // 2)
        self.ca = OfficialChannelAttention(channels, channels // 16)

    def forward(self, x):
        return self.sa(self.ca(x))


class OfficialOURS(nn.Module):
    """networks/OURS.py with the widths as arguments and the trunk passed in (it is checked separately)."""

    def __init__(self, features, channels, latent_in, dims, fusion, num_class, num_head):
        super().__init__()
        self.trunk = [features]  # not registered: its weights are compared elsewhere
        self.num_head = num_head
        for i in range(num_head):
            setattr(self, f"cat_head{i}", OfficialCrossAttentionHead(channels))
        self.hh_layer = nn.Linear(latent_in, dims[0])
        self.hh_layer2 = nn.Linear(dims[0], dims[1])
        self.hh_batch1 = nn.BatchNorm1d(dims[1])
        self.hh_layer3 = nn.Linear(dims[1], dims[2])
        self.hh_layer4 = nn.Linear(dims[2], dims[3])
        self.batch_norm1 = nn.BatchNorm1d(dims[3])
        self.fc = nn.Linear(channels + dims[3], fusion[0])
        self.fc2 = nn.Linear(fusion[0], fusion[1])
        self.batch_norm = nn.BatchNorm1d(fusion[1])
        self.fc4 = nn.Linear(fusion[1], num_class)
        self.bn = nn.BatchNorm1d(num_class)

    def forward(self, x, latent):
        x = self.trunk[0](x)
        heads = torch.stack([getattr(self, f"cat_head{i}")(x) for i in range(self.num_head)]).permute([1, 0, 2])
        heads = F.log_softmax(heads, dim=1).sum(dim=1)
        latent = self.batch_norm1(self.hh_layer4(self.hh_layer3(self.hh_batch1(self.hh_layer2(self.hh_layer(latent))))))
        out = torch.cat([heads, latent], dim=1)
        return self.bn(self.fc4(self.batch_norm(self.fc2(self.fc(out)))))


def test_converted_official_network_computes_the_official_logits(tmp_path):
    model = tiny_recognizer(latent_head="paper", latent_selection="fixed")
    official = official_state_dict(model)
    torch.save({"model_state_dict": official}, tmp_path / "ours.pth")
    load_official_checkpoint(tmp_path / "ours.pth", model)
    reference = OfficialOURS(lambda x: model.resnet(x).last_hidden_state, 64, 78 * 16, [32, 16, 16, 8], [16, 8], 7, 2)
    reference.load_state_dict({k: v for k, v in official.items() if not k.startswith("features.")}, strict=True)
    reference.eval()

    pixels, patch_latents = torch.randn(3, 3, 224, 224), torch.randn(3, 196, 16)
    tokens = torch.cat([torch.randn(3, 1, 16), patch_latents], dim=1)  # the official [.., 197, 512] .pt layout
    box = [
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
    ]  # main.py
    official_latent = torch.stack([tokens[:, i] for i in box], dim=1).flatten(1)
    with torch.no_grad():
        expected = reference(pixels, official_latent)
        ours = model(pixel_values=pixels, patch_latents=patch_latents).logits
    assert torch.isfinite(expected).all()
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-4)


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
    assert torch.equal(
        state["resnet.encoder.stages.3.layers.1.layer.1.convolution.weight"], official["features.7.1.conv2.weight"]
    )

    with pytest.raises(ValueError, match="latent_head='paper'"):
        load_official_checkpoint(tmp_path / "KDEF_epoch22.pth", tiny_recognizer())
