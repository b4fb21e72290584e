"""Offline face detection (own MTCNN on pretrained weights, OpenCV Haar fallback) and 5-point face alignment."""

from __future__ import annotations

from .alignment import (
    CANONICAL_TEMPLATE,
    align_face,
    apply_affine,
    box_crop_matrix,
    crop_to_image_points,
    face_template,
    image_to_crop_points,
    invert_affine,
    similarity_transform,
)
from .detected_face import LANDMARK_NAMES, DetectedFace, FaceDetector
from .detector import default_face_detector
from .haar import HaarFaceDetector
from .mtcnn import MTCNNFaceDetector, pyramid_scales
from .mtcnn_networks import ONet, PNet, RNet, load_mtcnn_networks, mtcnn_weights_dir
from .nms import batched_nms, box_overlap, nms

__all__ = [
    "CANONICAL_TEMPLATE",
    "LANDMARK_NAMES",
    "DetectedFace",
    "FaceDetector",
    "HaarFaceDetector",
    "MTCNNFaceDetector",
    "ONet",
    "PNet",
    "RNet",
    "align_face",
    "apply_affine",
    "batched_nms",
    "box_crop_matrix",
    "box_overlap",
    "crop_to_image_points",
    "default_face_detector",
    "face_template",
    "image_to_crop_points",
    "invert_affine",
    "load_mtcnn_networks",
    "mtcnn_weights_dir",
    "nms",
    "pyramid_scales",
    "similarity_transform",
]
