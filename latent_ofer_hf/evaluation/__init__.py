"""Evaluation: the paper's protocols as one command (`latent-ofer evaluate`), metrics and report plots."""

from .evaluate import EvaluationSpec, evaluate, parse_occlusion
from .metrics import confusion_matrix, detection_metrics, psnr, recognition_metrics, ssim

__all__ = [
    "EvaluationSpec",
    "confusion_matrix",
    "detection_metrics",
    "evaluate",
    "parse_occlusion",
    "psnr",
    "recognition_metrics",
    "ssim",
]
