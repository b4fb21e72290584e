"""Building blocks of the refinement U-Net (docs/method.md#refinement-u-net; layer order and kernel sizes as the
official code [C])."""

from __future__ import annotations

import torch
from torch import nn

LEAKY_SLOPE = 0.2  # pix2pix / CSA down-path LeakyReLU


def _norm(channels: int) -> nn.InstanceNorm2d:
    return nn.InstanceNorm2d(channels, affine=True)


class DownBlock(nn.Module):
    """LReLU → Conv4×4 stride 2 (dilation 2) → IN → LReLU → Conv3×3 (→ IN unless ``final_norm=False``).

    ``channels_last_output``: run the 3×3 conv on a channels-last input so its output is channels-last — set for the
    block feeding the self-assembly layer, which works position-major (saves two full-map copies there).
    """

    def __init__(
        self, in_channels: int, out_channels: int, final_norm: bool = True, channels_last_output: bool = False
    ):
        super().__init__()
        self.channels_last_output = channels_last_output
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.down = nn.Conv2d(in_channels, in_channels, kernel_size=4, stride=2, padding=3, dilation=2)
        self.down_norm = _norm(in_channels)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm = _norm(out_channels) if final_norm else nn.Identity()

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        hidden = self.act(self.down_norm(self.down(self.act(hidden))))
        if self.channels_last_output:
            hidden = hidden.contiguous(memory_format=torch.channels_last)
        return self.norm(self.conv(hidden))


class InnermostDown(nn.Module):
    """LReLU → Conv4×4 stride 2 (dilation 2); no norm (1×1 output at the paper's size)."""

    def __init__(self, channels: int):
        super().__init__()
        self.act = nn.LeakyReLU(LEAKY_SLOPE)
        self.down = nn.Conv2d(channels, channels, kernel_size=4, stride=2, padding=3, dilation=2)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.down(self.act(hidden))


class UpBlock(nn.Module):
    """ReLU → ConvT3×3 → IN → ReLU → ConvT4×4 stride 2 → IN."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.act = nn.ReLU()
        self.conv = nn.ConvTranspose2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.conv_norm = _norm(out_channels)
        self.up = nn.ConvTranspose2d(out_channels, out_channels, kernel_size=4, stride=2, padding=1)
        self.norm = _norm(out_channels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        hidden = self.conv_norm(self.conv(self.act(hidden)))
        return self.norm(self.up(self.act(hidden)))


class InnermostUp(nn.Module):
    """ReLU → ConvT4×4 stride 2 → IN."""

    def __init__(self, channels: int):
        super().__init__()
        self.act = nn.ReLU()
        self.up = nn.ConvTranspose2d(channels, channels, kernel_size=4, stride=2, padding=1)
        self.norm = _norm(channels)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.norm(self.up(self.act(hidden)))


__all__ = ["DownBlock", "InnermostDown", "InnermostUp", "UpBlock"]
