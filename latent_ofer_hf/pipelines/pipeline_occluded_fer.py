"""The ``occluded-fer`` pipeline: any image → faces → Latent-OFER → expressions with occlusion evidence.

>>> from transformers import pipeline
>>> import latent_ofer_hf  # registers the task
>>> fer = pipeline("occluded-fer", model="path/or/repo")
>>> fer("photo.jpg")
[{'box': {...}, 'label': 'happy', 'score': 0.91, 'scores': [...], 'occlusion_ratio': 0.12, ...}]

Steps, as the paper reads: detect faces (MTCNN, offline weights) and align them by their 5 landmarks → ViT latents
(one pass) → occlusion patch mask → reconstruct the flagged patches → recognise with the expression-relevant latents.
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
import os
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from transformers.pipelines.base import ChunkPipeline
from transformers.utils import logging

from ..checkpoints.synthetic_notice import synthetic_data_notice
from ..faces.alignment import align_face
from ..faces.bounded_detection import DETECTION_MAX_SIDE, detect_bounded
from ..faces.detector import DetectedFace, default_face_detector
from ..models.common.hub_code import write_flat_modules
from ..models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from .image_inputs import (
    DEFAULT_MAX_PIXELS,
    InvalidImageError,
    check_input_exists,
    describe_input,
    load_image_input,
)
from .model_source import SYSTEM_MODEL_TYPE

logger = logging.get_logger(__name__)

TASK = "occluded-fer"
# The task name under `custom_pipelines` in a saved config, for remote code. It differs from TASK on purpose: for a
# task listed there, `transformers.pipeline` demands `trust_remote_code=True` even when this package is installed and
# has registered TASK; under another name, pip users load a saved folder with `pipeline(TASK, model=folder)` and
# remote users with `pipeline(model=folder, trust_remote_code=True)` (the single custom task is picked).
REMOTE_CODE_TASK = "occluded-fer-remote-code"
_AUTO = "auto"
_UNSET = object()  # a call argument that was not given (None is a meaningful value for `detector`)
# faces the detector scores below this are not reported (MTCNN's O-Net probability; on scikit-image's astronaut photo
# it gives the face 0.9999 and a false "face" on the suit 0.86; real faces in the test photos score >= 0.99)
FACE_SCORE_THRESHOLD = 0.95
MIN_FACE_CROP = 8  # a face crop given with detector=None must be at least this many pixels per side


@dataclass(frozen=True)
class _Numbered:
    """One item of a list, data set or generator input, with where it sits (errors name it)."""

    where: str
    value: Any


def _numbered(items: Any, name: str = "inputs") -> Any:
    return (_Numbered(f"{name}[{index}]", item) for index, item in enumerate(items))


def _check_exists(item: Any) -> None:
    """:func:`check_input_exists` on an item's image (a dict without one is left to preprocess to name)."""
    if not isinstance(item, Mapping):
        check_input_exists(item)
    elif "image" in item:
        check_input_exists(item["image"])


class _Rows(torch.utils.data.Dataset):
    """A 🤗 `datasets.Dataset` seen as a torch dataset of its rows (dicts with an ``"image"`` column)."""

    def __init__(self, dataset: Any, image_column: str = "image"):
        if image_column not in dataset.column_names:
            raise InvalidImageError(f"the dataset has no {image_column!r} column (columns: {dataset.column_names})")
        self.dataset, self.image_column = dataset, image_column

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> _Numbered:
        row = self.dataset[index]
        return _Numbered(f"dataset row {index}", {"image": row[self.image_column], "boxes": row.get("boxes")})


def _is_hf_dataset(value: object) -> bool:
    return type(value).__module__.startswith("datasets.") and hasattr(value, "column_names")


def _is_hf_column(value: object) -> bool:
    """A 🤗 datasets ``Column`` (``dataset["image"]`` in datasets ≥ 4): a lazy sequence of the column's values."""
    return type(value).__module__.startswith("datasets.") and type(value).__name__ == "Column"


def _check_boxes(boxes: object, width: int, height: int) -> list[DetectedFace]:
    if isinstance(boxes, (np.ndarray, torch.Tensor)):  # e.g. another detector's [N, 4] output
        if boxes.ndim != 2 or boxes.shape[-1] != 4:
            raise ValueError(f"boxes given as an array must have shape [N, 4], got {list(boxes.shape)}")
        boxes = boxes.tolist()
    if not isinstance(boxes, Sequence) or isinstance(boxes, (str, bytes)):
        raise ValueError(f"boxes must be a list of (x0, y0, x1, y1), got {type(boxes).__name__}")
    faces = []
    for index, box in enumerate(boxes):
        if isinstance(box, Mapping):
            values = np.asarray([box.get("xmin"), box.get("ymin"), box.get("xmax"), box.get("ymax")], dtype=np.float64)
        elif isinstance(box, (str, bytes)):
            raise ValueError(f"boxes[{index}] must be 4 finite numbers (x0, y0, x1, y1), got {box!r}")
        else:
            if isinstance(box, Sequence) and any(isinstance(value, (Sequence, np.ndarray)) for value in box):
                raise ValueError(
                    f"boxes[{index}] = {box!r} is a list of boxes: boxes= holds one image's boxes; for "
                    "several images pass {'image': ..., 'boxes': [...]} items"
                )
            values = np.asarray(box, dtype=np.float64).reshape(-1)
        if values.shape != (4,) or not np.isfinite(values).all():
            raise ValueError(f"boxes[{index}] must be 4 finite numbers (x0, y0, x1, y1), got {box!r}")
        x0, y0, x1, y1 = values.tolist()
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"boxes[{index}] = {box!r} is empty (need x1 > x0 and y1 > y0)")
        if min(x1 - x0, y1 - y0) < MIN_FACE_CROP:
            raise ValueError(
                f"boxes[{index}] = {box!r} is smaller than a face crop can be "
                f"({MIN_FACE_CROP}x{MIN_FACE_CROP} pixels at least)"
            )
        if x1 <= 0 or y1 <= 0 or x0 >= width or y0 >= height:
            raise ValueError(f"boxes[{index}] = {box!r} lies outside the {width}x{height} image")
        faces.append(DetectedFace(box=(x0, y0, x1, y1), score=1.0, landmarks=None))
    return faces


def _flag(name: str, value: object) -> bool:
    """A True/False call argument; anything else (e.g. the string "none") is an error, not silently truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"{name} must be True or False, got {value!r}"
            + (
                " (the reconstruction mode is the model's: model.config.reconstruction)"
                if name == "reconstruct"
                else ""
            )
        )
    return bool(value)


class OccludedFERPipeline(ChunkPipeline):
    """Occluded facial expression recognition on whole images (one chunk per detected face).

    Call arguments (all optional):
        detector: ``"auto"`` (default: MTCNN when its weights are installed, else OpenCV Haar), ``None`` (each input
            is already a face crop: the whole image is the face) or any object with ``detect(PIL image) → faces``.
        boxes: the caller's own face boxes ``[(x0, y0, x1, y1), ...]`` (or an ``[N, 4]`` array), each at least 8×8
            pixels, for a single image (for several images pass ``{"image": ..., "boxes": [...]}`` items). A box
            may reach past the image's edge (a face cut by the frame): the crop is black there, an occlusion to the
            detector (the demo checkpoint flags and fills those patches).
        bgr: numpy inputs are in BGR order (OpenCV); PIL images and encoded files have a defined order and ignore it.
        top_k: how many classes `scores` lists (default: all).
        reconstruct: False recognises the raw face (skips detection-guided reconstruction; no reconstruction is
            returned). Flags must be True/False: a string such as ``"none"`` is an error, not truthy.
        return_reconstruction: include the reconstructed face crop (PIL) — default True.
        return_relevant_patches: include the indices of the patches whose latents were used — default True.
        return_face: include the aligned 224×224 input crop (PIL) as ``"face"`` — default False (for visualising).
        timeout: seconds for URL inputs.
    Options given to ``pipeline(...)`` are defaults for every call; a call's own options override them.

    Returns, per image, a list with one dict per face (an image with no face gives ``[]``)::

        {"box": {"xmin", "ymin", "xmax", "ymax"} (ints, image pixels), "face_score": float (detector confidence),
         "label": str, "score": float, "scores": [{"label", "score"}, ...] (descending),
         "occlusion_ratio": float, "occlusion_mask": numpy bool [14, 14],
         "reconstruction": PIL.Image (224×224, if requested), "relevant_patches": list[int] (if requested),
         "face": PIL.Image (224×224 aligned crop, only with return_face=True)}
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = False

    def __init__(self, *args, face_detector: Any = _AUTO, **kwargs):
        super().__init__(*args, **kwargs)
        model_type = getattr(self.model.config, "model_type", None)
        if model_type != SYSTEM_MODEL_TYPE:  # e.g. one component's folder: it would fail deep inside the first call
            ours = isinstance(model_type, str) and model_type.startswith(f"{SYSTEM_MODEL_TYPE}-")
            raise ValueError(
                f"the occluded-fer pipeline needs a whole Latent-OFER system (model_type {SYSTEM_MODEL_TYPE!r}), got "
                f"a {type(self.model).__name__} ({model_type!r}); "
                + (
                    "a component's folder (vit/, detector/, reconstructor/, recognizer/)? Pass the system's folder, "
                    "the one above it"
                    if ours
                    else "pass a saved system's folder or Hub repo id (e.g. latent_ofer_hf.DEMO_CHECKPOINT)"
                )
            )
        if self.image_processor is None:
            size = getattr(getattr(self.model.config, "vit_config", None), "image_size", 224)
            self.image_processor = LatentOferImageProcessor(size=size)
        self._default_detector = face_detector
        self._resolved_detector = None
        #: what users must be told about the weights (a SynthFER-trained system such as the demo checkpoint), or None
        self.model_notice = synthetic_data_notice(self.model.config)
        if self.model_notice:
            logger.warning_once(self.model_notice)

    def __call__(self, inputs: Any = None, *args, **kwargs):
        """Run on one input (path, URL, PIL image, array, bytes, ``{"image", "boxes"}`` dict), a list of them, a
        `datasets.Dataset` or a generator. An empty list gives ``[]``."""
        if inputs is None:
            raise InvalidImageError("no image given (None); pass a path, URL, PIL image, numpy array or bytes")
        if isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            return []
        if isinstance(inputs, tuple) or _is_hf_column(inputs):  # a column, `ds["image"]`: its images in order
            inputs = list(inputs)
            if not inputs:
                return []
        several = (
            (isinstance(inputs, list) and len(inputs) > 1)
            or _is_hf_dataset(inputs)
            or isinstance(inputs, types.GeneratorType)
        )
        batch_size = kwargs.get("batch_size")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if kwargs.get("boxes") is not None and several:
            raise ValueError(
                "boxes= gives the boxes of a single image; for several images pass {'image': ..., 'boxes': [...]} items"
            )
        if _is_hf_dataset(inputs):  # rows → the pipeline's own batching over a torch dataset
            inputs = _Rows(inputs)
        elif isinstance(inputs, list):  # a missing file or None is refused before any item is computed
            for index, item in enumerate(inputs):
                try:
                    _check_exists(item)
                except InvalidImageError as error:
                    raise InvalidImageError(f"inputs[{index}]: {error}") from None
            inputs = list(_numbered(inputs))
        elif isinstance(inputs, types.GeneratorType):
            inputs = _numbered(inputs)
        return super().__call__(inputs, *args, **kwargs)

    # -- parameters ------------------------------------------------------------------------------------------------
    def _sanitize_parameters(self, **options: Any):
        """transformers hands every option of ``pipeline(...)`` and of a call here: an unknown one (a typo such as
        ``topk``) is named, with the closest known one, rather than a TypeError about this method."""
        unknown = sorted(set(options) - CALL_OPTIONS)
        if unknown:
            known = sorted(CALL_OPTIONS | {"batch_size", "num_workers"})  # the last two: transformers' own
            close = difflib.get_close_matches(unknown[0], known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            message = f"unknown option {unknown[0]!r} of the occluded-fer pipeline{hint}"
            raise ValueError(f"{message} (its options: {', '.join(known)})")
        return self._sanitize_options(**options)

    def _sanitize_options(  # its keyword names are CALL_OPTIONS
        self,
        detector: Any = _UNSET,
        boxes: Sequence | None = None,
        bgr: bool | None = None,
        top_k: int | None = None,
        reconstruct: bool | None = None,
        return_reconstruction: bool | None = None,
        return_relevant_patches: bool | None = None,
        return_face: bool | None = None,
        timeout: float | None = None,
        face_score_threshold: float | None = None,
        detection_max_side: int | None | object = _UNSET,
        max_pixels: int | None | object = _UNSET,
    ):
        preprocess: dict[str, Any] = {}
        if max_pixels is not _UNSET:
            if max_pixels is not None and (
                isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral) or max_pixels < 1
            ):
                raise ValueError(f"max_pixels must be a positive int or None, got {max_pixels!r}")
            preprocess["max_pixels"] = None if max_pixels is None else int(max_pixels)
        if face_score_threshold is not None:
            if isinstance(face_score_threshold, bool) or not isinstance(face_score_threshold, numbers.Real):
                raise ValueError(f"face_score_threshold must be a number in [0, 1], got {face_score_threshold!r}")
            if not 0.0 <= float(face_score_threshold) <= 1.0:
                raise ValueError(f"face_score_threshold must be in [0, 1], got {face_score_threshold}")
            preprocess["face_score_threshold"] = float(face_score_threshold)
        if detection_max_side is not _UNSET:
            if detection_max_side is not None and (
                isinstance(detection_max_side, bool)
                or not isinstance(detection_max_side, numbers.Integral)
                or detection_max_side < 32
            ):
                raise ValueError(f"detection_max_side must be an int >= 32 or None, got {detection_max_side!r}")
            preprocess["detection_max_side"] = None if detection_max_side is None else int(detection_max_side)
        if detector is not _UNSET:
            preprocess["detector"] = detector
        if boxes is not None:
            preprocess["boxes"] = boxes
        if bgr is not None:
            preprocess["bgr"] = _flag("bgr", bgr)
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not 0 < timeout < math.inf:
                raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
            preprocess["timeout"] = float(timeout)
        forward: dict[str, Any] = {}
        postprocess: dict[str, Any] = {}
        if reconstruct is not None:  # without it there is no reconstruction to return (postprocess checks)
            forward["reconstruct"] = _flag("reconstruct", reconstruct)
        if top_k is not None:
            if not isinstance(top_k, numbers.Integral) or isinstance(top_k, (bool, np.bool_)) or top_k < 1:
                raise ValueError(f"top_k must be a positive integer, got {top_k!r}")
            postprocess["top_k"] = int(top_k)
        if return_reconstruction is not None:
            postprocess["return_reconstruction"] = _flag("return_reconstruction", return_reconstruction)
        if return_relevant_patches is not None:
            postprocess["return_relevant_patches"] = _flag("return_relevant_patches", return_relevant_patches)
        if return_face is not None:
            postprocess["return_face"] = _flag("return_face", return_face)
        return preprocess, forward, postprocess

    @property
    def face_detector(self) -> Any:
        """The face detector ``detector="auto"`` uses: the one given at construction, else MTCNN when its weights are
        installed, else OpenCV's Haar cascade (loaded on first use)."""
        return self._detector(_AUTO)

    def _detector(self, detector: Any):
        if detector is None:
            return None
        if isinstance(detector, str):
            if detector != _AUTO:
                raise ValueError(f"detector must be 'auto', None or an object with .detect(image), got {detector!r}")
            if self._default_detector != _AUTO:
                return self._default_detector
            if self._resolved_detector is None:
                self._resolved_detector = default_face_detector()
            return self._resolved_detector
        if not callable(getattr(detector, "detect", None)):
            raise ValueError(
                f"detector must be 'auto', None or an object with .detect(image), got {type(detector).__name__}"
            )
        return detector

    # -- the three steps -------------------------------------------------------------------------------------------
    def preprocess(self, image, **options):
        if not isinstance(image, _Numbered):
            yield from self._preprocess(image, **options)
            return
        try:  # an item of several: its error says which one
            yield from self._preprocess(image.value, **options)
        except InvalidImageError as error:
            raise InvalidImageError(f"{image.where}: {error}") from None
        except ValueError as error:
            raise ValueError(f"{image.where}: {error}") from error

    def _preprocess(
        self,
        image,
        detector: Any = _AUTO,
        boxes: Sequence | None = None,
        bgr: bool = False,
        timeout: float | None = None,
        face_score_threshold: float = FACE_SCORE_THRESHOLD,
        detection_max_side: int | None = DETECTION_MAX_SIDE,
        max_pixels: int | None = DEFAULT_MAX_PIXELS,
    ):
        if isinstance(image, Mapping):  # {"image": ..., "boxes": [...]} carries per-image boxes
            if "image" not in image:
                raise InvalidImageError(f"a dict input needs an 'image' key, got keys {sorted(image)}")
            options = sorted(set(image) & CALL_OPTIONS - {"boxes"})
            if options:  # other keys (a data set row's label, say) are not ours to judge
                raise ValueError(
                    f"{options} in a dict input: only 'image' and 'boxes' are read per image; pass call options to "
                    f"the call, e.g. fer(images, {options[0]}=...)"
                )
            boxes = image.get("boxes") if image.get("boxes") is not None else boxes
            image = image["image"]
        picture = load_image_input(image, bgr=bgr, timeout=timeout or 10.0, max_pixels=max_pixels)
        width, height = picture.size
        as_is = False
        if boxes is not None:
            faces = _check_boxes(boxes, width, height)
        else:
            face_detector = self._detector(detector)
            as_is = face_detector is None
            if as_is:
                if min(width, height) < MIN_FACE_CROP:
                    raise InvalidImageError(
                        f"{describe_input(image)} is {width}x{height} pixels: too small for a face "
                        f"crop (detector=None needs at least {MIN_FACE_CROP}x{MIN_FACE_CROP})"
                    )
                faces = [DetectedFace(box=(0.0, 0.0, float(width), float(height)), score=1.0, landmarks=None)]
            else:
                faces = detect_bounded(face_detector, picture, max_side=detection_max_side)
                faces = [face for face in faces if face.score >= face_score_threshold]
        size = self.image_processor.size
        if not faces:  # one placeholder chunk so the image still yields its (empty) result
            yield {
                "pixel_values": torch.zeros(1, 3, size, size),
                "face_box": torch.zeros(1, 4),
                "face_score": torch.zeros(1),
                "has_face": torch.zeros(1, dtype=torch.bool),
                "is_last": True,
            }
            return
        for index, face in enumerate(faces):
            crop = picture if as_is else align_face(picture, face, output_size=size)[0]
            yield {
                "pixel_values": self.image_processor.to_pixel_values(crop)[None],
                "face_box": torch.tensor([face.box], dtype=torch.float32),
                "face_score": torch.tensor([face.score], dtype=torch.float32),
                "has_face": torch.ones(1, dtype=torch.bool),
                "is_last": index == len(faces) - 1,
            }

    def _forward(self, model_inputs: dict, reconstruct: bool = True) -> dict:
        is_last = model_inputs.pop("is_last")
        if not bool(model_inputs["has_face"].any()):  # only no-face placeholders: nothing to run
            return {"has_face": model_inputs["has_face"], "is_last": is_last}
        pixel_values = model_inputs["pixel_values"].to(self.model.dtype)
        outputs = self.model(
            pixel_values=pixel_values, reconstruction=None if reconstruct else "none", return_dict=True
        )
        result = {
            "logits": outputs.logits.float(),
            "occlusion_mask": outputs.patch_mask,
            "occlusion_ratio": outputs.occlusion_ratio.float(),
            "relevant_patches": outputs.relevant_patches,
            "face_box": model_inputs["face_box"],
            "face_score": model_inputs["face_score"],
            "has_face": model_inputs["has_face"],
            "pixel_values": model_inputs["pixel_values"],
            "is_last": is_last,
        }
        if outputs.reconstruction is not None:
            result["reconstruction"] = outputs.reconstruction.float()
        return result

    def postprocess(
        self,
        all_outputs: list[dict],
        top_k: int | None = None,
        return_reconstruction: bool = True,
        return_relevant_patches: bool = True,
        return_face: bool = False,
    ) -> list[dict]:
        id2label = self.model.config.id2label
        results = []
        for output in all_outputs:
            if not bool(output["has_face"].reshape(-1)[0]):
                continue
            probabilities = output["logits"].reshape(-1).softmax(-1)
            order = probabilities.argsort(descending=True).tolist()[: top_k or len(id2label)]
            x0, y0, x1, y1 = output["face_box"].reshape(-1).tolist()
            face = {
                "box": {"xmin": int(round(x0)), "ymin": int(round(y0)), "xmax": int(round(x1)), "ymax": int(round(y1))},
                "face_score": float(output["face_score"].reshape(-1)[0]),
                "label": id2label[order[0]],
                "score": float(probabilities[order[0]]),
                "scores": [{"label": id2label[i], "score": float(probabilities[i])} for i in order],
                "occlusion_ratio": float(output["occlusion_ratio"].reshape(-1)[0]),
                "occlusion_mask": output["occlusion_mask"].reshape(output["occlusion_mask"].shape[-2:]).cpu().numpy(),
            }
            if return_reconstruction and "reconstruction" in output:
                face["reconstruction"] = self.image_processor.to_image(
                    output["reconstruction"].reshape(3, *output["reconstruction"].shape[-2:])
                )
            if return_relevant_patches:
                face["relevant_patches"] = output["relevant_patches"].reshape(-1).tolist()
            if return_face:
                face["face"] = self.image_processor.to_image(
                    output["pixel_values"].reshape(3, *output["pixel_values"].shape[-2:])
                )
            results.append(face)
        return results

    # -- Hub mode --------------------------------------------------------------------------------------------------
    def save_pretrained(self, save_directory: str | os.PathLike, **kwargs: Any) -> None:
        """Save model, processor and the pipeline's code: `pipeline(model=dir, trust_remote_code=True)` then works
        without this package. (transformers' own copier follows only same-folder imports, so the module and
        everything it imports are written here as flat files.)"""
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory must be a directory, got the file {save_directory}")
        os.makedirs(save_directory, exist_ok=True)
        config = self.model.config
        had, previous = hasattr(config, "custom_pipelines"), getattr(config, "custom_pipelines", None)
        config.custom_pipelines = {  # in the saved config only: the live model's config is left as it was
            REMOTE_CODE_TASK: {
                "impl": f"{type(self).__module__.rsplit('.', 1)[-1]}.{type(self).__name__}",
                "pt": ("AutoModel",),
                "tf": (),
                "type": "image",
                "default": {},
            },
        }
        try:
            self.model.save_pretrained(save_directory, **kwargs)
        finally:
            if had:
                config.custom_pipelines = previous
            else:
                del config.custom_pipelines
        write_flat_modules(type(self), save_directory)
        self.image_processor.save_pretrained(save_directory)


# The keyword options of a call (``fer(images, top_k=2)``): a dict input carrying one of them is refused, not ignored.
CALL_OPTIONS = frozenset(inspect.signature(OccludedFERPipeline._sanitize_options).parameters) - {"self"}

__all__ = ["OccludedFERPipeline"]
