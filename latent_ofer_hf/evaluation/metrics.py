"""Metrics of the paper's protocols [P §4–5]: recognition (accuracy, balanced accuracy, per-class accuracy, the
normalized confusion matrix), occlusion detection against ground-truth patch masks (Table 1) and reconstruction
quality (PSNR, SSIM; Tables 2, 8, 9). Written out here (two short formulas each) rather than pulled from a metrics
library, each tested against hand-computed values.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def confusion_matrix(predictions: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Counts ``[true class, predicted class]`` (int64, ``num_classes × num_classes``)."""
    predictions, labels = predictions.reshape(-1).long().cpu(), labels.reshape(-1).long().cpu()
    if predictions.shape != labels.shape:
        raise ValueError(f"{predictions.numel()} predictions for {labels.numel()} labels")
    for name, values in (("predictions", predictions), ("labels", labels)):
        if values.numel() and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{name} must be class ids in 0..{num_classes - 1}")
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def recognition_metrics(matrix: torch.Tensor, class_names: list[str]) -> dict:
    """Accuracy, balanced accuracy (the mean per-class accuracy over the classes that occur), per-class accuracy
    (None for a class without samples) and the row-normalized confusion matrix (rows without samples: zeros)."""
    matrix = matrix.double()
    per_class_total = matrix.sum(dim=1)
    correct = matrix.diagonal()
    total = float(per_class_total.sum())
    present = per_class_total > 0
    per_class = [float(c / t) if t > 0 else None for c, t in zip(correct, per_class_total, strict=True)]
    normalized = torch.where(present[:, None], matrix / per_class_total.clamp_min(1)[:, None], torch.zeros_like(matrix))
    return {
        "num_samples": int(total),
        "accuracy": float(correct.sum() / total) if total else None,
        "balanced_accuracy": float((correct[present] / per_class_total[present]).mean()) if present.any() else None,
        "per_class_accuracy": dict(zip(class_names, per_class, strict=True)),
        "confusion_matrix": matrix.long().tolist(),
        "normalized_confusion_matrix": normalized.tolist(),
    }


def detection_metrics(predicted: torch.Tensor, truth: torch.Tensor) -> dict:
    """Patch accuracy, precision, recall and F1 of predicted occlusion masks against the ground truth (True =
    occluded; any matching shapes). Precision (recall) is None when nothing is predicted (nothing is occluded)."""
    predicted, truth = predicted.bool().reshape(-1).cpu(), truth.bool().reshape(-1).cpu()
    if predicted.shape != truth.shape:
        raise ValueError(f"predicted masks have {predicted.numel()} patches, the ground truth {truth.numel()}")
    tp = int((predicted & truth).sum())
    fp = int((predicted & ~truth).sum())
    fn = int((~predicted & truth).sum())
    tn = int((~predicted & ~truth).sum())
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else (0.0 if tp + fp + fn else None)
    return {"patch_accuracy": (tp + tn) / max(1, tp + fp + fn + tn), "patch_precision": precision,
            "patch_recall": recall, "patch_f1": f1, "true_positives": tp, "false_positives": fp,
            "false_negatives": fn, "true_negatives": tn}  # fmt: skip


def roc_auc(scores: torch.Tensor, positives: torch.Tensor) -> float | None:
    """Area under the ROC curve of ``scores`` for the ``positives`` (bool, same shape): the chance that a random
    positive scores above a random negative, ties counted half (Mann–Whitney U over average ranks). None when one
    of the two classes is empty."""
    scores, positives = scores.reshape(-1).double().cpu(), positives.reshape(-1).bool().cpu()
    if scores.shape != positives.shape:
        raise ValueError(f"{scores.numel()} scores for {positives.numel()} labels")
    count_pos = int(positives.sum())
    count_neg = positives.numel() - count_pos
    if not count_pos or not count_neg:
        return None
    _, inverse, counts = torch.unique(scores, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0).double()
    average_rank = ends - (counts.double() - 1) / 2  # 1-based ranks, ties share their mean
    rank_sum = float(average_rank[inverse][positives].sum())
    return (rank_sum - count_pos * (count_pos + 1) / 2) / (count_pos * count_neg)


def psnr(images: torch.Tensor, references: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-image PSNR in dB of ``[B, C, H, W]`` images in [0, 1], over the pixels of ``mask`` (``[B, 1, H, W]``
    bool) or the whole image: 10·log10(1 / MSE); +inf for identical images, NaN where the mask is empty."""
    if images.shape != references.shape:
        raise ValueError(f"images {list(images.shape)} and references {list(references.shape)} differ in shape")
    squared = (images.double() - references.double()).pow(2)
    if mask is None:
        mse = squared.flatten(1).mean(1)
    else:
        weight = mask.expand_as(squared).double()
        count = weight.flatten(1).sum(1)
        mse = torch.where(count > 0, (squared * weight).flatten(1).sum(1) / count.clamp_min(1), math.nan)
    return torch.where(mse == 0, math.inf, 10 * torch.log10(1.0 / mse))


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 1-D Gaussian; the 2-D window is its outer product (applied as two 1-D passes)."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    kernel = torch.exp(-(coords**2) / (2 * sigma**2))
    return kernel / kernel.sum()


def ssim_map(images: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    """The SSIM map (Wang et al. 2004: 11×11 Gaussian window σ 1.5, K1 0.01, K2 0.03, data range 1) of
    ``[B, C, H, W]`` images in [0, 1], averaged over channels: ``[B, H, W]`` (borders by reflection). The Gaussian
    is separable: two 11-tap passes instead of one 121-tap window (float64 convolutions have no fast CPU kernel)."""
    if images.shape != references.shape:
        raise ValueError(f"images {list(images.shape)} and references {list(references.shape)} differ in shape")
    channels = images.shape[1]
    kernel = _gaussian_window().to(images.device)
    rows = kernel[None, None, :, None].expand(channels, 1, -1, -1)
    columns = kernel[None, None, None, :].expand(channels, 1, -1, -1)
    x, y = images.double(), references.double()

    def blur(values: torch.Tensor) -> torch.Tensor:
        padded = F.pad(values, (5, 5, 5, 5), mode="reflect")
        return F.conv2d(F.conv2d(padded, rows, groups=channels), columns, groups=channels)

    mu_x, mu_y = blur(x), blur(y)
    var_x = blur(x * x) - mu_x**2
    var_y = blur(y * y) - mu_y**2
    cov = blur(x * y) - mu_x * mu_y
    c1, c2 = 0.01**2, 0.03**2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return value.mean(dim=1)


def ssim(
    images: torch.Tensor,
    references: torch.Tensor,
    mask: torch.Tensor | None = None,
    *,
    values: torch.Tensor | None = None,
) -> torch.Tensor:
    """Per-image mean SSIM over the whole image or over the pixels of ``mask`` (NaN where it is empty); ``values``:
    an :func:`ssim_map` of these images already computed (e.g. for both the hole and the whole face)."""
    values = ssim_map(images, references) if values is None else values
    if mask is None:
        return values.flatten(1).mean(1)
    weight = mask.reshape(values.shape).double()
    count = weight.flatten(1).sum(1)
    return torch.where(count > 0, (values * weight).flatten(1).sum(1) / count.clamp_min(1), math.nan)


def finite_mean(values: torch.Tensor) -> float | None:
    """Mean of the finite values (PSNR's +inf for a perfect fill is reported apart), None when there are none."""
    finite = values[torch.isfinite(values)]
    return float(finite.mean()) if finite.numel() else None


__all__ = [
    "confusion_matrix",
    "detection_metrics",
    "finite_mean",
    "psnr",
    "recognition_metrics",
    "ssim",
    "ssim_map",
]
