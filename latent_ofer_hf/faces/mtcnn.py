"""MTCNN face detection cascade (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
Convolutional Networks", IEEE SPL 2016), written for this package on top of the converted pretrained weights.

Stages: an image pyramid scanned by PNet (proposals, NMS per scale then across scales, box regression, squaring),
RNet on 24 × 24 crops, ONet on 48 × 48 crops (score, regression, 5 landmarks), and a final NMS that measures overlap
by intersection over the *smaller* box ("min"), which removes boxes nested inside a bigger one.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .detected_face import DetectedFace
from .mtcnn_networks import load_mtcnn_networks
from .nms import nms

PNET_CELL, PNET_STRIDE = 12, 2
NMS_PER_SCALE, NMS_ACROSS_SCALES, NMS_RNET, NMS_ONET = 0.5, 0.7, 0.7, 0.7


def pyramid_scales(height: int, width: int, min_face_size: int = 20, factor: float = 0.709) -> list[float]:
    """Scales at which PNet's 12-pixel window matches faces from `min_face_size` up to the image's shorter side."""
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    scale = PNET_CELL / float(min_face_size)
    side = min(height, width) * scale
    scales = []
    while side >= PNET_CELL:
        scales.append(scale)
        scale *= factor
        side *= factor
    return scales


def _resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``[N, C, H, W]`` bilinearly, low-pass filtered when shrinking (like PIL's bilinear resize)."""
    return F.interpolate(images, size=size, mode="bilinear", antialias=True, align_corners=False)


def _normalize(images: torch.Tensor) -> torch.Tensor:
    """0–255 RGB → the ``(x - 127.5) / 128`` range the Caffe-trained networks expect."""
    return (images - 127.5) / 128.0


def _regress(boxes: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Apply ``(dx0, dy0, dx1, dy1)`` offsets, given relative to the box size."""
    size = torch.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, dim=1)
    return boxes + offsets * size


def _square(boxes: torch.Tensor) -> torch.Tensor:
    """Squares with the boxes' centres and the longer side."""
    center_x, center_y = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    half = torch.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) / 2
    return torch.stack([center_x - half, center_y - half, center_x + half, center_y + half], dim=1)


def _crops(image: torch.Tensor, boxes: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``size`` × ``size`` crops of ``[1, 3, H, W]`` `image` at integer-rounded `boxes` (outside → black).

    Returns the crops ``[N, 3, size, size]`` and the integer boxes actually cropped (as floats).
    """
    height, width = image.shape[-2:]
    rounded = boxes.round()
    rounded[:, 2:] = torch.maximum(rounded[:, 2:], rounded[:, :2] + 1)  # at least one pixel
    crops = []
    for x0, y0, x1, y1 in rounded.long().tolist():
        patch = image.new_zeros((1, 3, y1 - y0, x1 - x0))
        ix0, iy0, ix1, iy1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
        if ix1 > ix0 and iy1 > iy0:
            patch[..., iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = image[..., iy0:iy1, ix0:ix1]
        crops.append(_resize(patch, (size, size)))
    return torch.cat(crops), rounded


class MTCNNFaceDetector:
    """MTCNN with the pretrained P/R/O-Net weights of facenet-pytorch, in pure torch (no torchvision).

    ``detect`` returns faces sorted by score, highest first, with boxes clipped to the image and 5 landmarks each.
    ``thresholds`` are the P/R/O-Net face-probability thresholds; ``min_score`` optionally drops final faces below it.
    """

    def __init__(
        self,
        weights_dir: str | Path | None = None,
        device: str | torch.device | None = None,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        factor: float = 0.709,
        min_score: float | None = None,
    ) -> None:
        if min_face_size < 1:
            raise ValueError(f"min_face_size must be >= 1, got {min_face_size}")
        self.device = torch.device(device or "cpu")
        self.pnet, self.rnet, self.onet = load_mtcnn_networks(weights_dir, self.device)
        self.min_face_size = min_face_size
        self.thresholds = tuple(float(t) for t in thresholds)
        self.factor = factor
        self.min_score = min_score

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(device={str(self.device)!r}, min_face_size={self.min_face_size}, "
            f"thresholds={self.thresholds}, factor={self.factor}, min_score={self.min_score})"
        )

    @torch.inference_mode()
    def detect(self, image: Image.Image) -> list[DetectedFace]:
        """Faces in a PIL image (any mode; converted to RGB), highest score first; ``[]`` when there is none."""
        rgb = image.convert("RGB")
        width, height = rgb.size
        scales = pyramid_scales(height, width, self.min_face_size, self.factor)
        if not scales:
            return []
        pixels = torch.from_numpy(np.asarray(rgb, dtype=np.float32).copy()).to(self.device)
        pixels = pixels.permute(2, 0, 1).unsqueeze(0)

        boxes = self._propose(pixels, scales)
        if len(boxes) == 0:
            return []
        boxes = self._refine(pixels, boxes)
        if len(boxes) == 0:
            return []
        boxes, scores, landmarks = self._output(pixels, boxes)

        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, width)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, height)
        faces = [
            DetectedFace(box=tuple(float(v) for v in box), score=float(score), landmarks=points.astype(np.float32))
            for box, score, points in zip(boxes.tolist(), scores.tolist(), landmarks.cpu().numpy(), strict=True)
        ]
        if self.min_score is not None:
            faces = [face for face in faces if face.score >= self.min_score]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    __call__ = detect

    def _propose(self, pixels: torch.Tensor, scales: list[float]) -> torch.Tensor:
        """Stage 1: PNet over the pyramid → regressed, squared candidate boxes ``[N, 4]``."""
        height, width = pixels.shape[-2:]
        all_boxes, all_scores, all_offsets = [], [], []
        for scale in scales:
            scaled_h, scaled_w = max(1, math.ceil(height * scale)), max(1, math.ceil(width * scale))
            probability, offsets = self.pnet(_normalize(_resize(pixels, (scaled_h, scaled_w))))
            rows, cols = torch.nonzero(probability[0] >= self.thresholds[0], as_tuple=True)
            if rows.numel() == 0:
                continue
            scale_x, scale_y = scaled_w / width, scaled_h / height  # the scales actually used after rounding
            x0, y0 = cols.float() * PNET_STRIDE, rows.float() * PNET_STRIDE
            boxes = torch.stack([x0 / scale_x, y0 / scale_y, (x0 + PNET_CELL) / scale_x, (y0 + PNET_CELL) / scale_y], 1)
            scores = probability[0, rows, cols]
            keep = nms(boxes, scores, NMS_PER_SCALE)
            all_boxes.append(boxes[keep])
            all_scores.append(scores[keep])
            all_offsets.append(offsets[0][:, rows, cols].T[keep])
        if not all_boxes:
            return pixels.new_zeros((0, 4))
        boxes, scores, offsets = torch.cat(all_boxes), torch.cat(all_scores), torch.cat(all_offsets)
        keep = nms(boxes, scores, NMS_ACROSS_SCALES)
        return _square(_regress(boxes[keep], offsets[keep]))

    def _refine(self, pixels: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """Stage 2: RNet on 24 × 24 crops → surviving regressed, squared boxes."""
        crops, boxes = _crops(pixels, boxes, 24)
        probability, offsets = self.rnet(_normalize(crops))
        passed = probability > self.thresholds[1]
        boxes, probability, offsets = boxes[passed], probability[passed], offsets[passed]
        keep = nms(boxes, probability, NMS_RNET)
        return _square(_regress(boxes[keep], offsets[keep]))

    def _output(self, pixels: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stage 3: ONet on 48 × 48 crops → (boxes ``[N, 4]``, scores ``[N]``, landmarks ``[N, 5, 2]``)."""
        crops, boxes = _crops(pixels, boxes, 48)
        probability, offsets, points = self.onet(_normalize(crops))
        passed = probability > self.thresholds[2]
        boxes, probability, offsets, points = boxes[passed], probability[passed], offsets[passed], points[passed]
        size = (boxes[:, 2:] - boxes[:, :2]).unsqueeze(1)  # [N, 1, 2]
        landmarks = boxes[:, None, :2] + torch.stack([points[:, :5], points[:, 5:]], dim=2) * size
        boxes = _regress(boxes, offsets)
        keep = nms(boxes, probability, NMS_ONET, mode="min")
        return boxes[keep], probability[keep], landmarks[keep]
