"""The three MTCNN networks (Zhang et al., 2016) as plain ``torch.nn.Module``s, and their pretrained weights.

Parameter names follow the converted Caffe weights that facenet-pytorch ships as plain state dicts
(``facenet_pytorch/data/{pnet,rnet,onet}.pt``, MIT), so they load with strict key matching. Layout details that
those weights need (all checked empirically against real photos):

* input: RGB, ``(x - 127.5) / 128`` per channel, NCHW;
* max-pooling rounds the output size *up* (Caffe's ``ceil_mode``);
* before the first dense layer the feature map is flattened in ``(width, height, channel)`` order, not PyTorch's
  ``(channel, height, width)``: the original model was trained in MATLAB (column-major) on transposed images;
* the face / non-face softmax has the *face* probability in channel 1;
* box regression is ``(dx0, dy0, dx1, dy1)`` relative to the box size, and ONet's 10 landmark values are
  ``x1..x5, y1..y5`` relative to the 48 × 48 input box.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

WEIGHT_FILES = {"pnet": "pnet.pt", "rnet": "rnet.pt", "onet": "onet.pt"}
INSTALL_HINT = 'pip install --no-deps "facenet-pytorch==2.6.0"  (only its MTCNN weight files are used)'


def _flatten_caffe(x: torch.Tensor) -> torch.Tensor:
    """Flatten ``[N, C, H, W]`` in the ``(W, H, C)`` order the converted Caffe dense weights expect."""
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    """Proposal network: fully convolutional, a 12 × 12 window per output cell (stride 2)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 10, kernel_size=3)
        self.prelu1 = nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(10, 16, kernel_size=3)
        self.prelu2 = nn.PReLU(16)
        self.conv3 = nn.Conv2d(16, 32, kernel_size=3)
        self.prelu3 = nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, kernel_size=1)  # face / non-face logits
        self.conv4_2 = nn.Conv2d(32, 4, kernel_size=1)  # box regression

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, 3, H, W]`` normalised RGB → (face probability ``[N, H', W']``, regression ``[N, 4, H', W']``)."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.prelu2(self.conv2(x))
        x = self.prelu3(self.conv3(x))
        probability = torch.softmax(self.conv4_1(x), dim=1)[:, 1]
        return probability, self.conv4_2(x)


class RNet(nn.Module):
    """Refinement network on 24 × 24 crops."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 28, kernel_size=3)
        self.prelu1 = nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(28, 48, kernel_size=3)
        self.prelu2 = nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(48, 64, kernel_size=2)
        self.prelu3 = nn.PReLU(64)
        self.dense4 = nn.Linear(3 * 3 * 64, 128)
        self.prelu4 = nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[N, 3, 24, 24]`` → (face probability ``[N]``, regression ``[N, 4]``)."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.prelu3(self.conv3(x))
        x = self.prelu4(self.dense4(_flatten_caffe(x)))
        return torch.softmax(self.dense5_1(x), dim=1)[:, 1], self.dense5_2(x)


class ONet(nn.Module):
    """Output network on 48 × 48 crops: score, box regression and 5 landmarks."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, kernel_size=3)
        self.prelu1 = nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)
        self.prelu2 = nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3 = nn.Conv2d(64, 64, kernel_size=3)
        self.prelu3 = nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4 = nn.Conv2d(64, 128, kernel_size=2)
        self.prelu4 = nn.PReLU(128)
        self.dense5 = nn.Linear(3 * 3 * 128, 256)
        self.prelu5 = nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``[N, 3, 48, 48]`` → (face probability ``[N]``, regression ``[N, 4]``, landmarks ``[N, 10]``)."""
        x = self.pool1(self.prelu1(self.conv1(x)))
        x = self.pool2(self.prelu2(self.conv2(x)))
        x = self.pool3(self.prelu3(self.conv3(x)))
        x = self.prelu4(self.conv4(x))
        x = self.prelu5(self.dense5(_flatten_caffe(x)))
        return torch.softmax(self.dense6_1(x), dim=1)[:, 1], self.dense6_2(x), self.dense6_3(x)


def mtcnn_weights_dir(weights_dir: str | Path | None = None) -> Path:
    """The folder holding ``pnet.pt``, ``rnet.pt`` and ``onet.pt``.

    Default: ``facenet_pytorch/data`` of an installed facenet-pytorch, located without importing it (importing needs
    torchvision). Raises ``FileNotFoundError`` with the install command when the files are missing.
    """
    if weights_dir is None:
        spec = importlib.util.find_spec("facenet_pytorch")
        locations = list(spec.submodule_search_locations or []) if spec is not None else []
        if not locations:
            raise FileNotFoundError(
                f"MTCNN weights not found: facenet-pytorch is not installed. Install with: {INSTALL_HINT}"
            )
        folder = Path(locations[0]) / "data"
    else:
        folder = Path(weights_dir)
    missing = [name for name in WEIGHT_FILES.values() if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"MTCNN weights {missing} not found in {folder}. Install with: {INSTALL_HINT}")
    return folder


def load_mtcnn_networks(
    weights_dir: str | Path | None = None, device: str | torch.device | None = None
) -> tuple[PNet, RNet, ONet]:
    """P-, R- and O-Net with the pretrained weights loaded strictly (``weights_only=True``), in eval mode."""
    folder = mtcnn_weights_dir(weights_dir)
    networks = (PNet(), RNet(), ONet())
    for network, file_name in zip(networks, WEIGHT_FILES.values(), strict=True):
        state_dict = torch.load(folder / file_name, map_location="cpu", weights_only=True)
        network.load_state_dict(state_dict, strict=True)
        network.to(device or "cpu").eval().requires_grad_(False)
    return networks
