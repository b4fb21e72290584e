"""Pure-torch greedy non-maximum suppression (no torchvision).

Boxes are ``[N, 4]`` tensors ``(x0, y0, x1, y1)`` in continuous pixel coordinates, so a box's area is
``(x1 - x0) * (y1 - y0)`` (no ``+ 1`` as in the MATLAB / Caffe code of the original MTCNN).
"""

from __future__ import annotations

from typing import Literal

import torch

OverlapMode = Literal["union", "min"]


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """Areas of ``[N, 4]`` boxes; degenerate boxes have area 0."""
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_overlap(box: torch.Tensor, others: torch.Tensor, mode: OverlapMode = "union") -> torch.Tensor:
    """Overlap of a box ``[4]`` with boxes ``[N, 4]``: IoU (``"union"``) or intersection / smaller area (``"min"``)."""
    width = (torch.minimum(box[2], others[:, 2]) - torch.maximum(box[0], others[:, 0])).clamp(min=0)
    height = (torch.minimum(box[3], others[:, 3]) - torch.maximum(box[1], others[:, 1])).clamp(min=0)
    intersection = width * height
    area = box_area(box[None])[0]
    other_areas = box_area(others)
    if mode == "union":
        denominator = area + other_areas - intersection
    elif mode == "min":
        denominator = torch.minimum(area.expand_as(other_areas), other_areas)
    else:
        raise ValueError(f"mode must be 'union' or 'min', got {mode!r}")
    return intersection / denominator.clamp(min=torch.finfo(intersection.dtype).tiny)


def nms(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, mode: OverlapMode = "union") -> torch.Tensor:
    """Indices of the boxes kept by greedy NMS, highest score first.

    A box is suppressed when its overlap with an already kept, higher-scoring box is *greater* than `threshold`.
    """
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    boxes = boxes.float()
    order = torch.argsort(scores, descending=True, stable=True)
    keep: list[torch.Tensor] = []
    while order.numel() > 0:
        best = order[0]
        keep.append(best)
        rest = order[1:]
        if rest.numel() == 0:
            break
        overlap = box_overlap(boxes[best], boxes[rest], mode)
        order = rest[overlap <= threshold]
    return torch.stack(keep)


def batched_nms(
    boxes: torch.Tensor, scores: torch.Tensor, groups: torch.Tensor, threshold: float, mode: OverlapMode = "union"
) -> torch.Tensor:
    """NMS run independently within each group id (e.g. image index); indices sorted by score, highest first."""
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.long, device=boxes.device)
    boxes = boxes.float()
    # shift each group far away from the others so that boxes of different groups never overlap
    span = (boxes.max() - boxes.min()).abs() + 1.0
    shifted = boxes + (groups.to(boxes) * span * 2.0)[:, None]
    return nms(shifted, scores, threshold, mode)
