"""DAN-style cross-attention heads on the CNN feature map (docs/method.md#cnn-branch, official code [C:
networks/OURS.py]).

Each head applies channel attention **then** spatial attention, as the official Latent-OFER code does (DAN itself
applies spatial then channel). Widths scale with the trunk's channel count C (512 for ResNet-18), so a tiny trunk
gives tiny heads. The heads' output vectors are fused by :func:`fuse_head_features`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ChannelAttention(nn.Module):
    """GAP → Linear C→C/r → BN1d → ReLU → Linear C/r→C → Sigmoid gate; returns ``F · gate`` ``[B, C, h, w]``."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.attention = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
            nn.Sigmoid(),
        )

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        gate = self.attention(feature_map.mean(dim=(2, 3)))
        return feature_map * gate[:, :, None, None]


class SpatialAttention(nn.Module):
    """Conv1×1 C→C/r + BN → parallel 3×3, 1×3, 3×1 convs C/r→C (each + BN) → sum → ReLU → channel sum.

    Returns the pooled vector ``GAP(F · A)`` ``[B, C]`` and the spatial map ``A`` ``[B, 1, h, w]`` (≥ 0).
    """

    def __init__(self, channels: int, reduction: int = 2):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.conv1x1 = nn.Sequential(nn.Conv2d(channels, hidden, kernel_size=1), nn.BatchNorm2d(hidden))
        self.conv_3x3 = nn.Sequential(nn.Conv2d(hidden, channels, kernel_size=3, padding=1), nn.BatchNorm2d(channels))
        self.conv_1x3 = nn.Sequential(
            nn.Conv2d(hidden, channels, kernel_size=(1, 3), padding=(0, 1)), nn.BatchNorm2d(channels)
        )
        self.conv_3x1 = nn.Sequential(
            nn.Conv2d(hidden, channels, kernel_size=(3, 1), padding=(1, 0)), nn.BatchNorm2d(channels)
        )

    def forward(self, feature_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reduced = self.conv1x1(feature_map)
        response = F.relu(self.conv_3x3(reduced) + self.conv_1x3(reduced) + self.conv_3x1(reduced))
        attention_map = response.sum(dim=1, keepdim=True)
        pooled = (feature_map * attention_map).mean(dim=(2, 3))
        return pooled, attention_map


# Attribute set on every submodule of a head: the model's ``_init_weights`` gives those the official head init.
OFFICIAL_HEAD_INIT_FLAG = "_official_head_init"


class CrossAttentionHead(nn.Module):
    """One head: channel attention, then spatial attention. ``[B, C, h, w]`` → (``[B, C]``, map ``[B, 1, h, w]``).

    Its layers are flagged (``OFFICIAL_HEAD_INIT_FLAG``) for the official init in the model's ``_init_weights``:
    Kaiming-normal fan-out convs, BN (1, 0), Linear N(0, 0.001) [C: CrossAttentionHead.init_weights].
    """

    def __init__(self, channels: int, channel_reduction: int = 16, spatial_reduction: int = 2):
        super().__init__()
        self.ca = ChannelAttention(channels, channel_reduction)
        self.sa = SpatialAttention(channels, spatial_reduction)
        for module in self.modules():
            setattr(module, OFFICIAL_HEAD_INIT_FLAG, True)

    def forward(self, feature_map: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.sa(self.ca(feature_map))


def fuse_head_features(head_features: torch.Tensor) -> torch.Tensor:
    """Fuse ``[B, heads, C]`` → ``[B, C]``: log_softmax over the head axis, then sum over heads (DAN / official).

    A single head is returned as is (the official code skips the log_softmax for one head too).
    """
    if head_features.shape[1] == 1:
        return head_features[:, 0]
    return F.log_softmax(head_features, dim=1).sum(dim=1)
