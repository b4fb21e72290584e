"""Training data: train / validation face sets from any loader of ``latent_ofer_hf.data``, as tensors, with the
occlusion protocols applied on the fly.

Every random choice (augmentation, which protocol, where the occluder goes) is drawn from a generator seeded by
(seed, epoch, sample index, purpose), never from the global RNG, so a run is reproducible whatever the process count
or the worker count, and a resumed run draws exactly what the uninterrupted one would have.
"""

from __future__ import annotations

import collections
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import datasets
import numpy as np
import torch
from accelerate import PartialState
from PIL import Image

from ..data.loaders import load_affectnet, load_image_folder, load_kdef, load_rafdb
from ..data.occlusion import (
    IMAGENET_MEAN_RGB,
    NVIDIA_COVERAGE_BUCKETS,
    free_form_occlusion,
    paste_occluder,
    random_patch_occlusion,
)
from ..data.synthfer import SEEN_OCCLUDERS, UNSEEN_OCCLUDERS, synthfer_dataset
from ..models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from .arguments import CommonArguments, SetupError
from .cpu import cores_per_process, local_processes
from .protocols import PROTOCOLS, parse_protocols

IMAGE_SIZE = 224
GRID = IMAGE_SIZE // 16
# Decoded faces a FaceTensors keeps in memory (each epoch re-reads every face; decoding its PNG is a fifth of a demo
# teacher step on this 2-core CPU): up to 2 GiB, i.e. data sets of up to ~14 k faces (SynthFER, RAF-DB, KDEF).
FACE_CACHE_BYTES = 2 * 1024**3


@dataclass
class FaceSplits:
    """The faces a stage trains and selects its model on, and what loading skipped."""

    train: datasets.Dataset
    validation: datasets.Dataset
    report: dict[str, Any] = field(default_factory=dict)


def _holdout(dataset: datasets.Dataset, fraction: float, seed: int) -> tuple[datasets.Dataset, datasets.Dataset]:
    held_out = math.ceil(fraction * len(dataset))  # as datasets rounds the test part
    if len(dataset) < 2 or held_out < 1 or held_out >= len(dataset):
        raise SetupError(
            f"--validation_fraction {fraction} of {len(dataset)} training faces leaves no training or no validation "
            "face: use more faces or another fraction"
        )
    parts = dataset.train_test_split(test_size=fraction, seed=seed, shuffle=True)
    return parts["train"], parts["test"]


_LOADED: dict[tuple, FaceSplits] = {}


def load_face_splits(common: CommonArguments) -> FaceSplits:
    """:func:`read_face_splits`, read once per process and argument set (the stages of one run share it)."""
    key = (common.data, common.data_dir, common.synthfer_train_size, common.synthfer_validation_size, common.seed,
           common.validation_fraction)  # fmt: skip
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = read_face_splits(common)
    return _LOADED[key]


# SynthFER sets from this size on are drawn by several processes (the same faces; spawning them costs seconds)
PARALLEL_SYNTHFER_FACES = 2000


def _generate_synthfer(num_images: int, split: str, seed: int) -> datasets.Dataset:
    """One SynthFER split, drawn by the CPU cores this training process has to itself."""
    processes = local_processes(PartialState().num_processes)
    workers = cores_per_process(processes) if num_images >= PARALLEL_SYNTHFER_FACES else 1
    with warnings.catch_warnings():  # pyarrow's deprecation notice from datasets' shard merge, not ours
        warnings.simplefilter("ignore", FutureWarning)
        return synthfer_dataset(num_images, split=split, seed=seed, num_proc=workers)


def read_face_splits(common: CommonArguments) -> FaceSplits:
    """Train and validation faces for ``--data`` (labels in the RAF-DB order, the system's default).

    SynthFER: generated, clean, from its disjoint train and validation identity pools (its ``unseen`` occluders and
    its test split are left for evaluation). Other data sets: their training split, with ``--validation_fraction``
    held out for model selection; their test split is never read here. Unreadable images are skipped and counted.
    """
    if common.data == "synthfer":
        train = _generate_synthfer(common.synthfer_train_size, "train", common.seed)
        validation = _generate_synthfer(common.synthfer_validation_size, "validation", common.seed)
        return FaceSplits(train, validation, {"source": "synthfer", "skipped": 0, "skipped_files": []})
    root = common.data_dir
    try:  # a missing list file, a bad label line: one line naming the file, not a traceback
        if common.data == "rafdb":
            dataset, report = load_rafdb(root, split="train", label_order="rafdb", return_report=True)
        elif common.data == "affectnet":
            dataset, report = load_affectnet(
                root, split="train", num_classes=7, label_order="rafdb", return_report=True
            )
        elif common.data == "kdef":
            dataset, report = load_kdef(root, label_order="rafdb", split="train", return_report=True)
        else:
            dataset, report = load_image_folder(root, label_order="rafdb", return_report=True)
    except (FileNotFoundError, ValueError) as error:
        raise SetupError(f"--data {common.data}: {error}") from None
    if len(dataset) < 2:
        raise SetupError(f"--data {common.data} --data_dir {root}: {len(dataset)} readable images; need at least 2")
    train, validation = _holdout(dataset, common.validation_fraction, common.seed)
    summary = {
        "source": common.data,
        "loaded": report.loaded,
        "skipped": len(report.skipped),
        "skipped_files": [f"{path}: {reason}" for path, reason in report.skipped],
    }
    return FaceSplits(train, validation, summary)


def face_array(image: Any) -> np.ndarray:
    """A decoded data-set image → RGB uint8 ``[224, 224, 3]``."""
    if not isinstance(image, Image.Image):
        raise ValueError(f"expected a decoded image, got {type(image).__name__}")
    image = image.convert("RGB")
    if image.size != (IMAGE_SIZE, IMAGE_SIZE):
        image = image.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(image)


def augment(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mild augmentation (the patch grid positions matter): horizontal flip, a crop of 90–100 % re-sized."""
    if rng.random() < 0.5:
        array = array[:, ::-1]
    scale = rng.uniform(0.9, 1.0)
    side = int(round(IMAGE_SIZE * scale))
    top, left = (int(rng.integers(0, IMAGE_SIZE - side + 1)) for _ in range(2))
    crop = Image.fromarray(np.ascontiguousarray(array[top : top + side, left : left + side]))
    return np.asarray(crop.resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR))


def fer_augment(array: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The official recogniser's augmentation [C: main.py]: horizontal flip; with probability 0.2 a rotation of up
    to ±20° and a 224 crop of the image padded by 32; random erasing (p 0.5, 2–25 % of the area, aspect 0.3–3.3)
    filled with the ImageNet mean (the value 0 after normalisation, as torchvision's default)."""
    if rng.random() < 0.5:
        array = array[:, ::-1]
    if rng.random() < 0.2:
        image = Image.fromarray(np.ascontiguousarray(array))
        image = image.rotate(float(rng.uniform(-20, 20)), resample=Image.Resampling.BILINEAR)
        padded = Image.new("RGB", (IMAGE_SIZE + 64, IMAGE_SIZE + 64))
        padded.paste(image, (32, 32))
        top, left = (int(rng.integers(0, 65)) for _ in range(2))
        array = np.array(padded.crop((left, top, left + IMAGE_SIZE, top + IMAGE_SIZE)))
    else:
        array = np.array(array)  # the erasing below writes into its own copy, never into the shared face
    if rng.random() < 0.5:
        for _ in range(10):  # torchvision's RandomErasing tries up to 10 boxes
            area = IMAGE_SIZE * IMAGE_SIZE * rng.uniform(0.02, 0.25)
            ratio = float(np.exp(rng.uniform(np.log(0.3), np.log(3.3))))
            height, width = int(round((area * ratio) ** 0.5)), int(round((area / ratio) ** 0.5))
            if height < IMAGE_SIZE and width < IMAGE_SIZE:
                top, left = int(rng.integers(0, IMAGE_SIZE - height + 1)), int(rng.integers(0, IMAGE_SIZE - width + 1))
                array[top : top + height, left : left + width] = IMAGENET_MEAN_RGB
                break
    return array


def occlude(
    array: np.ndarray, protocol: str, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    """One occlusion protocol on an aligned face → (image, pixel mask ``[H, W]``, patch mask ``[14, 14]``, what
    occludes it: the occluder family for ``seen`` / ``unseen``, else the protocol's name)."""
    name = protocol
    if protocol in ("seen", "unseen"):  # a procedural occluder of that family set, at one of its facial anchors
        families = SEEN_OCCLUDERS if protocol == "seen" else UNSEEN_OCCLUDERS  # unseen: evaluation only
        family = families[int(rng.integers(len(families)))]
        name = family.name
        anchor = family.anchors[int(rng.integers(len(family.anchors)))]
        result = paste_occluder(array, family.draw, rng, anchor=anchor, scale=(0.3, 0.6), grid=GRID)
    elif protocol == "random_patch":
        result = random_patch_occlusion(array, float(rng.uniform(0.1, 0.5)), rng, grid=GRID)
    elif protocol == "free_form":
        coverage = NVIDIA_COVERAGE_BUCKETS[int(rng.integers(len(NVIDIA_COVERAGE_BUCKETS)))]
        result = free_form_occlusion(array, rng, coverage=coverage, grid=GRID)
    else:
        raise ValueError(f"unknown occlusion protocol {protocol!r}; choose from {(*PROTOCOLS, 'unseen')}")
    return np.asarray(result.image), result.pixel_mask, result.patch_mask, name


_DECODED: collections.OrderedDict[str, dict[int, np.ndarray]] = collections.OrderedDict()


def _decoded_faces(dataset: datasets.Dataset) -> dict[int, np.ndarray]:
    """The decoded-face store of a data set, shared by every FaceTensors over it (the stages of one run read the same
    training and validation faces); the two most recently used data sets are kept."""
    key = dataset._fingerprint
    if key not in _DECODED:
        _DECODED[key] = {}
        while len(_DECODED) > 2:
            _DECODED.popitem(last=False)
    _DECODED.move_to_end(key)
    return _DECODED[key]


class FaceTensors(torch.utils.data.Dataset):
    """A face data set as tensors: ``pixel_values`` (ImageNet-normalised, possibly occluded), ``labels``, and with
    occlusion ``patch_mask [14, 14]``, ``pixel_mask [1, 224, 224]`` and the unoccluded ``clean_pixel_values``.

    Args:
        protocols: occlusion protocol weights (see :func:`parse_protocols`); None: never occlude.
        occlusion_probability: chance that a face is occluded.
        train: augment, and draw anew every epoch (``set_epoch``); otherwise one fixed draw per face.
        augmentation: ``"mild"`` (flip and a 90–100 % crop: the patch grid positions matter) or ``"fer"`` (the
            official recogniser's, :func:`fer_augment`).
        keep_clean: with occlusion, also return ``clean_pixel_values`` (the reconstructor's target); the stages
            that never read it leave it out, saving its normalisation (the same faces otherwise).
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        *,
        seed: int,
        train: bool,
        protocols: dict[str, float] | None = None,
        occlusion_probability: float = 1.0,
        purpose: int = 0,
        augmentation: str = "mild",
        keep_clean: bool = True,
    ):
        if augmentation not in ("mild", "fer"):
            raise ValueError(f"augmentation must be 'mild' or 'fer', got {augmentation!r}")
        self.augmentation, self.keep_clean = augmentation, keep_clean
        self.dataset, self.seed, self.train, self.purpose = dataset, seed, train, purpose
        self.protocols = protocols
        self.occlusion_probability = occlusion_probability
        self.processor = LatentOferImageProcessor(size=IMAGE_SIZE)
        self.epoch = 0
        self._faces: dict[int, np.ndarray] | None = None  # decoded faces (read-only), when they fit the budget
        self._labels: list[int] | None = None
        if len(dataset) * IMAGE_SIZE * IMAGE_SIZE * 3 <= FACE_CACHE_BYTES:
            self._faces, self._labels = _decoded_faces(dataset), [int(label) for label in dataset["label"]]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return self.processor.array_to_pixel_values(array)

    def preload(self) -> None:
        """Decode every face now (when the set fits the budget), e.g. before loader workers fork, so that they share
        the decoded faces instead of each decoding them again every epoch."""
        if self._faces is not None and len(self._faces) < len(self.dataset):
            for index in range(len(self.dataset)):
                self._face(index)

    def _face(self, index: int) -> tuple[np.ndarray, int]:
        """The decoded face (read-only) and its label, from memory after the first read when the set fits."""
        if self._faces is not None and index in self._faces:
            return self._faces[index], self._labels[index]
        row = self.dataset[index]
        face = face_array(row["image"])
        if self._faces is not None:
            face = face.copy()
            face.flags.writeable = False  # shared by every epoch: the augmentations must copy, never write into it
            self._faces[index] = face
        return face, int(row["label"])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        index = int(index)
        rng = np.random.default_rng([self.seed, self.epoch if self.train else 0, index, self.purpose])
        clean, label = self._face(index)
        if self.train:
            clean = augment(clean, rng) if self.augmentation == "mild" else fer_augment(clean, rng)
        item: dict[str, torch.Tensor] = {"labels": torch.tensor(label)}
        image = clean
        if self.protocols is not None:
            pixel_mask = np.zeros(clean.shape[:2], dtype=bool)
            patch_mask = np.zeros((GRID, GRID), dtype=bool)
            if rng.random() < self.occlusion_probability:
                names = list(self.protocols)
                weights = np.asarray([self.protocols[name] for name in names], dtype=np.float64)
                protocol = names[int(rng.choice(len(names), p=weights / weights.sum()))]
                image, pixel_mask, patch_mask, _ = occlude(clean, protocol, rng)
            if self.keep_clean:
                item["clean_pixel_values"] = self._tensor(clean)
            item["pixel_mask"] = torch.from_numpy(pixel_mask.copy())[None]
            item["patch_mask"] = torch.from_numpy(patch_mask.copy())
        item["pixel_values"] = self._tensor(image)
        return item


__all__ = [
    "FaceSplits",
    "FaceTensors",
    "PROTOCOLS",
    "augment",
    "fer_augment",
    "load_face_splits",
    "occlude",
    "parse_protocols",
]
