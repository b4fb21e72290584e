"""Grad-CAM (Selvaraju et al., ICCV 2017; paper ref. [46]) for the grad-occlusion protocol (paper §1, Fig. 1).

Written from scratch (the original code uses ``grad-cam==1.3.1``): a forward hook on the target layer captures its
activations ``A``; the gradient of the target class score with respect to ``A`` is taken with
``torch.autograd.grad`` (the equivalent of a backward hook, without touching the parameters' ``.grad``).
``CAM = ReLU(Σ_k α_k A_k)`` with ``α_k`` the spatial mean of ``∂score/∂A_k``, upsampled bilinearly to the image size
and min-max normalised to ``[0, 1]`` as in ``grad-cam``'s ``scale_cam_image``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from .masks import ImageLike, from_rgb_array, to_rgb_array

Preprocess = Callable[[ImageLike], torch.Tensor]
ReshapeTransform = Callable[[torch.Tensor], torch.Tensor]


def default_preprocess(image: ImageLike) -> torch.Tensor:
    """PIL / uint8 RGB image → float ``[1, 3, H, W]``: scaled to ``[0, 1]`` then ImageNet-normalised."""
    array, _ = to_rgb_array(image)
    x = torch.from_numpy(array).permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(IMAGENET_DEFAULT_MEAN, dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(IMAGENET_DEFAULT_STD, dtype=torch.float32).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


def _extract_logits(output: Any) -> torch.Tensor:
    """Logits from a tensor, an object with ``.logits`` (``ModelOutput``), a mapping or a tuple (first item)."""
    if isinstance(output, torch.Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(output, Mapping) and isinstance(output.get("logits"), torch.Tensor):
        return output["logits"]
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise ValueError(f"the model must return logits as a tensor or an object with .logits, got {type(output).__name__}")


def _first_tensor(output: Any) -> torch.Tensor:
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    hidden = getattr(output, "last_hidden_state", None)
    if isinstance(hidden, torch.Tensor):
        return hidden
    raise ValueError(
        f"the target layer must output a tensor (or a tuple starting with one), got {type(output).__name__}"
    )


def default_reshape(activations: torch.Tensor) -> torch.Tensor:
    """Bring target-layer outputs to ``[B, K, h, w]``.

    Conv maps pass through; ViT-style tokens ``[B, N, D]`` become ``[B, D, g, g]`` when ``N`` (or ``N - 1``, dropping a
    leading cls token) is a perfect square. Anything else needs an explicit ``reshape_transform``.
    """
    if activations.ndim == 4:
        return activations
    if activations.ndim == 3:
        batch, tokens, dim = activations.shape
        for drop in (0, 1):
            side = math.isqrt(max(tokens - drop, 0))
            if side > 0 and side * side == tokens - drop:
                return activations[:, drop:].transpose(1, 2).reshape(batch, dim, side, side)
    raise ValueError(
        f"cannot turn target-layer output of shape {list(activations.shape)} into [B, K, h, w]; pass reshape_transform="
    )


class GradCAM:
    """Grad-CAM on ``target_layer`` (a submodule of ``model``).

    ``model(pixel_values)`` must return logits ``[1, C]`` or an object with ``.logits``. ``preprocess`` maps the image
    to the model input ``[1, 3, H', W']`` (default: ``default_preprocess``). The model is run in eval mode and its
    train/eval mode restored afterwards. If the target layer runs several times per forward, the last call is used.
    Caveat: an in-place op right after the target layer (e.g. ``ReLU(inplace=True)``) makes the captured tensor the
    post-op value, which is what ``grad-cam`` sees too.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        target_layer: torch.nn.Module,
        preprocess: Preprocess | None = None,
        reshape_transform: ReshapeTransform | None = None,
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(target_layer, torch.nn.Module) or not any(m is target_layer for m in model.modules()):
            raise ValueError("target_layer must be a torch.nn.Module inside model (e.g. the last conv stage)")
        self.model = model
        self.target_layer = target_layer
        self.preprocess = preprocess or default_preprocess
        self.reshape_transform = reshape_transform or default_reshape
        self.last_target: int | None = None
        self.last_logits: torch.Tensor | None = None

    def __call__(self, image: ImageLike, target: int | None = None) -> np.ndarray:
        """Float32 ``[H, W]`` CAM in ``[0, 1]`` at the image's size for class ``target`` (default: the predicted one).

        An all-zero CAM means no positive evidence for the class at this layer (or a constant map).
        """
        array, as_pil = to_rgb_array(image)
        height, width = array.shape[:2]
        x = self.preprocess(from_rgb_array(array, as_pil))
        if not isinstance(x, torch.Tensor) or x.ndim != 4 or x.shape[0] != 1:
            raise ValueError(
                "preprocess must return a tensor of shape [1, C, H, W], got "
                f"{list(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}"
            )
        param = next(self.model.parameters(), None)
        if param is not None:
            x = x.to(device=param.device, dtype=param.dtype if param.is_floating_point() else x.dtype)
        x = x.detach().clone().requires_grad_(True)

        captured: list[Any] = []
        handle = self.target_layer.register_forward_hook(lambda _m, _i, out: captured.append(out))
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.enable_grad():
                logits = _extract_logits(self.model(x))
                if logits.ndim != 2 or logits.shape[0] != 1:
                    raise ValueError(f"expected logits of shape [1, num_classes], got {list(logits.shape)}")
                num_classes = logits.shape[1]
                if target is None:
                    target = int(logits[0].argmax())
                elif isinstance(target, bool) or not 0 <= int(target) < num_classes:
                    raise ValueError(f"target must be a class index in [0, {num_classes}), got {target!r}")
                if not captured:
                    raise ValueError("target_layer was not called during the model's forward pass")
                activations = _first_tensor(captured[-1])
                if not activations.requires_grad:
                    raise ValueError("the target layer's output does not depend on the input through autograd")
                (grads,) = torch.autograd.grad(logits[0, int(target)], activations, allow_unused=True)
                if grads is None:
                    grads = torch.zeros_like(activations)
        finally:
            handle.remove()
            self.model.train(was_training)

        self.last_target = int(target)
        self.last_logits = logits.detach()
        acts = self.reshape_transform(activations.detach()).float()
        grads = self.reshape_transform(grads.detach()).float()
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * acts).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=(height, width), mode="bilinear", align_corners=False)
        cam_np = cam[0, 0].cpu().numpy().astype(np.float64)
        cam_np -= cam_np.min()
        peak = cam_np.max()
        cam_np = cam_np / peak if peak > 0 else np.zeros_like(cam_np)
        return cam_np.astype(np.float32)
