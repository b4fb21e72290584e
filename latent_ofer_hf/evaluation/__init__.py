"""Evaluation: the paper's protocols as one command (`latent-ofer evaluate`), metrics and report plots."""

from .evaluate import EvaluationSpec, evaluate, parse_occlusion
from .metrics import confusion_matrix, detection_metrics, psnr, recognition_metrics, ssim
from .peers import FerMiniXceptionPeer, Peer, TransformersPeer, load_peer

__all__ = [
    "EvaluationSpec",
    "FerMiniXceptionPeer",
    "Peer",
    "TransformersPeer",
    "confusion_matrix",
    "detection_metrics",
    "evaluate",
    "load_peer",
    "parse_occlusion",
    "psnr",
    "recognition_metrics",
    "ssim",
]
