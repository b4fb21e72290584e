"""Weight converters for the ExpressionRecognizer's ResNet-18 trunk (and the official Latent-OFER checkpoint).

- :func:`resnet_state_dict_from_torchvision` — torchvision ResNet keys (``conv1``, ``bn1``, ``layer{1-4}.{j}.conv{k}``,
  ``…downsample.{0,1}``) → transformers ``ResNetModel`` keys (``embedder.embedder.convolution``,
  ``encoder.stages.{s}.layers.{l}.layer.{k}.convolution``, ``…shortcut.convolution``); ``fc.*`` is dropped.
- :func:`load_msceleb_resnet18` — DAN's ``resnet18_msceleb.pth`` (``{"state_dict": …}``, torchvision layout), the
  trunk init of the paper [P §4.2, C: networks/OURS.py]. Read with ``torch.load(weights_only=True)`` only.
- :func:`load_hub_resnet18` — an ImageNet ResNet-18 from the Hub (``microsoft/resnet-18``), or a local directory.
- :func:`recognizer_state_dict_from_official` / :func:`load_official_checkpoint` — the official ``OURS`` FER network
  (e.g. ``KDEF_epoch22_acc0.89.pth``, ``{"model_state_dict": …}``) into a ``latent_head="paper"``,
  ``latent_selection="fixed"`` recogniser.

Every loader checks keys and shapes strictly and raises ``ValueError`` naming what is missing or unexpected.
"""

from __future__ import annotations

import os
import pickle
import re
from collections.abc import Mapping

import torch
from torch import nn
from transformers import ResNetModel

_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
_TV_STEM = re.compile(r"^(conv1|bn1)\.(.+)$")
_TV_BLOCK = re.compile(r"^layer(\d+)\.(\d+)\.(conv|bn)(\d+)\.(.+)$")
_TV_DOWNSAMPLE = re.compile(r"^layer(\d+)\.(\d+)\.downsample\.([01])\.(.+)$")
_OFFICIAL_FEATURES = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
_OFFICIAL_HEAD = re.compile(r"^cat_head(\d+)\.(.+)$")
# Official OURS module names → ours, for head_activation=None and logits_batchnorm=True [C: networks/OURS.py].
_OFFICIAL_RENAMES = {
    "hh_layer": "latent_head.layers.0",
    "hh_layer2": "latent_head.layers.1",
    "hh_batch1": "latent_head.layers.2",
    "hh_layer3": "latent_head.layers.3",
    "hh_layer4": "latent_head.layers.4",
    "batch_norm1": "latent_head.layers.5",
    "fc": "fusion_head.hidden.0",
    "fc2": "fusion_head.hidden.1",
    "batch_norm": "fusion_head.hidden.2",
    "fc4": "fusion_head.classifier",
    "bn": "fusion_head.logits_norm",
}


def _unwrap(state_dict: Mapping) -> dict[str, torch.Tensor]:
    """Peel ``{"state_dict": …}``-style wrappers and a DataParallel ``module.`` prefix."""
    if not isinstance(state_dict, Mapping):
        raise ValueError(f"expected a state dict (a mapping of names to tensors), got {type(state_dict).__name__}")
    for key in _WRAPPER_KEYS:
        if key in state_dict and isinstance(state_dict[key], Mapping):
            state_dict = state_dict[key]
            break
    out = {}
    for key, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f"state dict entry {key!r} is a {type(value).__name__}, not a tensor")
        out[key.removeprefix("module.")] = value
    return out


def resnet_state_dict_from_torchvision(state_dict: Mapping) -> dict[str, torch.Tensor]:
    """torchvision ResNet state dict (optionally wrapped / ``module.``-prefixed) → transformers ``ResNetModel`` keys.

    ``fc.*`` is dropped; any other unknown key raises ValueError.
    """
    converted = {}
    unknown = []
    for key, value in _unwrap(state_dict).items():
        if key.startswith("fc."):
            continue
        if match := _TV_STEM.match(key):
            part = "convolution" if match[1] == "conv1" else "normalization"
            converted[f"embedder.embedder.{part}.{match[2]}"] = value
        elif match := _TV_BLOCK.match(key):
            stage, layer, kind, index, rest = int(match[1]) - 1, match[2], match[3], int(match[4]) - 1, match[5]
            part = "convolution" if kind == "conv" else "normalization"
            converted[f"encoder.stages.{stage}.layers.{layer}.layer.{index}.{part}.{rest}"] = value
        elif match := _TV_DOWNSAMPLE.match(key):
            stage, layer, index, rest = int(match[1]) - 1, match[2], match[3], match[4]
            part = "convolution" if index == "0" else "normalization"
            converted[f"encoder.stages.{stage}.layers.{layer}.shortcut.{part}.{rest}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"not a torchvision ResNet state dict; unknown keys: {unknown[:10]}{' …' if len(unknown) > 10 else ''}"
        )
    return converted


def _load_checkpoint(path: str | os.PathLike) -> Mapping:
    """``torch.load(path, map_location="cpu", weights_only=True)``; pickled objects other than tensors/containers
    are refused with a ValueError."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ValueError(
            f"{path}: refusing to load a checkpoint that holds pickled Python objects other than "
            f"tensors and plain containers (loaded with weights_only=True): {err}"
        ) from err


def _load_strict(module: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str) -> None:
    """Load ``state_dict`` into ``module`` after checking keys and shapes; ValueError listing every mismatch.

    A missing ``num_batches_tracked`` (old checkpoints) is tolerated and keeps the module's value.
    """
    expected = module.state_dict()
    missing = [key for key in expected if key not in state_dict and not key.endswith("num_batches_tracked")]
    unexpected = [key for key in state_dict if key not in expected]
    mismatched = [
        f"{key}: checkpoint {list(state_dict[key].shape)} vs model {list(expected[key].shape)}"
        for key in state_dict
        if key in expected and state_dict[key].shape != expected[key].shape
    ]
    if missing or unexpected or mismatched:
        raise ValueError(
            f"{what} does not match the model: missing keys {missing}, unexpected keys {unexpected}, "
            f"shape mismatches {mismatched}"
        )
    full = {**{key: value for key, value in expected.items() if key.endswith("num_batches_tracked")}, **state_dict}
    module.load_state_dict(full, strict=True)


def _trunk_of(model: nn.Module) -> ResNetModel:
    """The ``ResNetModel`` trunk of an ExpressionRecognizer, a ResNetForImageClassification, or the trunk itself."""
    if isinstance(model, ResNetModel):
        return model
    trunk = getattr(model, "resnet", None)
    if isinstance(trunk, ResNetModel):
        return trunk
    raise ValueError(
        f"expected an ExpressionRecognizer, a ResNetModel or a ResNetForImageClassification, got {type(model).__name__}"
    )


def load_msceleb_resnet18(path: str | os.PathLike, recognizer_or_resnet: nn.Module) -> nn.Module:
    """Load DAN's ``resnet18_msceleb.pth`` (torchvision layout, ``{"state_dict": …}``) into the ResNet trunk.

    The file is read with ``torch.load(..., weights_only=True)`` only. Returns ``recognizer_or_resnet``.
    """
    trunk = _trunk_of(recognizer_or_resnet)
    converted = resnet_state_dict_from_torchvision(_load_checkpoint(path))
    _load_strict(trunk, converted, f"the torchvision ResNet checkpoint {os.fspath(path)!r}")
    return recognizer_or_resnet


def load_hub_resnet18(recognizer: nn.Module, repo_id: str = "microsoft/resnet-18", **hub_kwargs) -> nn.Module:
    """Copy a transformers ResNet (``ResNetModel`` or ``ResNetForImageClassification`` checkpoint, Hub id or local
    directory) into the trunk. ``microsoft/resnet-18`` is ImageNet-trained, not the paper's MS-Celeb init.

    ``hub_kwargs`` go to ``ResNetModel.from_pretrained`` (``revision``, ``cache_dir``, ``local_files_only``, …).
    Returns ``recognizer``.
    """
    trunk = _trunk_of(recognizer)
    source = ResNetModel.from_pretrained(repo_id, **hub_kwargs)
    fields = ("layer_type", "depths", "hidden_sizes", "embedding_size", "num_channels", "downsample_in_first_stage")

    def value(config, name):
        field = getattr(config, name)
        return list(field) if isinstance(field, (list, tuple)) else field

    differ = {
        name: (value(source.config, name), value(trunk.config, name))
        for name in fields
        if value(source.config, name) != value(trunk.config, name)
    }
    if differ:
        raise ValueError(f"{repo_id!r} is not the trunk's architecture; (checkpoint, trunk) differ in {differ}")
    _load_strict(trunk, source.state_dict(), f"the ResNet checkpoint {repo_id!r}")
    return recognizer


def recognizer_state_dict_from_official(state_dict: Mapping) -> dict[str, torch.Tensor]:
    """Official ``OURS`` state dict [C: networks/OURS.py] → ExpressionRecognizer keys.

    ``features.{0,1,4-7}`` (torchvision ResNet-18 children) → ``resnet.*``; ``cat_head{i}.*`` →
    ``attention_heads.{i}.*``; ``hh_layer*``/``hh_batch1``/``batch_norm1`` → ``latent_head.layers.*``;
    ``fc``/``fc2``/``batch_norm``/``fc4``/``bn`` → ``fusion_head.*``.
    """
    torchvision_trunk, converted, unknown = {}, {}, []
    for key, value in _unwrap(state_dict).items():
        module, _, rest = key.partition(".")
        if module == "features":
            child, _, rest = rest.partition(".")
            if child not in _OFFICIAL_FEATURES:
                unknown.append(key)
                continue
            torchvision_trunk[f"{_OFFICIAL_FEATURES[child]}.{rest}"] = value
        elif match := _OFFICIAL_HEAD.match(key):
            converted[f"attention_heads.{match[1]}.{match[2]}"] = value
        elif module in _OFFICIAL_RENAMES:
            converted[f"{_OFFICIAL_RENAMES[module]}.{rest}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(f"not an official Latent-OFER FER state dict; unknown keys: {unknown[:10]}")
    for key, value in resnet_state_dict_from_torchvision(torchvision_trunk).items():
        converted[f"resnet.{key}"] = value
    return converted


def load_official_checkpoint(path: str | os.PathLike, recognizer: nn.Module) -> nn.Module:
    """Load an official Latent-OFER FER checkpoint (``{"model_state_dict": …}``) into ``recognizer``.

    The recogniser must be configured as the official network: ``latent_head="paper"``, ``latent_selection="fixed"``,
    default widths, ``head_activation=None``, ``logits_batchnorm=True``, ``num_attention_heads=4``. The released
    ``KDEF_epoch22_acc0.89.pth`` uses the FER2013/KDEF label order: build the config with
    ``id2label=id2label_for("kdef")``. Read with ``weights_only=True`` only. Returns ``recognizer``.
    """
    config = recognizer.config
    if config.latent_head != "paper" or config.latent_selection != "fixed" or config.head_activation is not None:
        raise ValueError(
            "the official checkpoint needs latent_head='paper', latent_selection='fixed' and "
            f"head_activation=None; got {config.latent_head!r}, {config.latent_selection!r}, "
            f"{config.head_activation!r}"
        )
    converted = recognizer_state_dict_from_official(_load_checkpoint(path))
    _load_strict(recognizer, converted, f"the official checkpoint {os.fspath(path)!r}")
    return recognizer
