"""`latent-ofer evaluate`: one protocol of the paper on one data split, in one process or many.

Recognition on the (occluded) faces, occlusion detection against the ground-truth patch masks where they are known,
and reconstruction quality (PSNR / SSIM over the occluded region and the whole face) where the unoccluded face is
known. Under ``accelerate launch`` the data is split across processes and the per-face values are gathered
(``gather_for_metrics``), so the results equal a one-process run.
"""

from __future__ import annotations

import contextlib
import functools
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from PIL import Image

from ..data.synthfer import SEEN_OCCLUDERS, UNSEEN_OCCLUDERS, synthfer_dataset, synthfer_sample
from ..models.latent_ofer import LatentOferModel
from ..models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from ..training.data import face_array, occlude
from .metrics import confusion_matrix, detection_metrics, finite_mean, psnr, recognition_metrics, ssim, ssim_map
from .oracle_masks import oracle_patch_mask
from .peers import Peer, load_peer
from .plots import confusion_matrix_image, curve_image, image_grid

SYNTHFER_FAMILIES = ("seen", "unseen")
PROTOCOLS = ("none", "seen", "unseen", "random_patch", "grad_occlusion", "free_form")
RATIO_PROTOCOLS = ("random_patch", "grad_occlusion")
# what occludes a face: nothing, a protocol without families, or one of SynthFER's occluder families
OCCLUDERS = ("none", "random_patch", "grad_occlusion", "free_form",
             *(family.name for family in (*SEEN_OCCLUDERS, *UNSEEN_OCCLUDERS)))  # fmt: skip
LATENT_CHOICES = ("selected", "all")
MASK_CHOICES = ("detected", "ground_truth", "ground_truth_any")


@dataclass
class EvaluationSpec:
    """What to evaluate: a saved system on a split of a data set under one occlusion protocol."""

    model: str
    data: str = "synthfer"
    data_dir: str | None = None
    split: str = "test"
    occlusion: str = "none"  # none | seen | unseen | random_patch:<ratio> | grad_occlusion:<ratio> | free_form
    num_images: int | None = 700  # SynthFER faces to generate (None with other data: every face of the split)
    batch_size: int = 16
    seed: int = 0
    output_dir: str | None = None
    reconstruction: str | None = None  # hybrid | mae | diffusion | none (default: the system's own)
    cam_model: str | None = None  # grad_occlusion: the classifier whose Grad-CAM picks the patches (a baseline folder)
    peers: tuple[str, ...] = ()  # real FER models on the same faces: "fer" or transformers folders / Hub ids
    latents: str = "selected"  # Table 10: the recogniser's selected latents (its config) or all N of them
    mask: str = "detected"  # which patches are reconstructed: the detector's, or the ground truth (oracles, below)


def parse_occlusion(text: str) -> tuple[str, float | None]:
    """``"random_patch:0.3"`` → ``("random_patch", 0.3)``; a clear error for an unknown protocol."""
    name, _, value = text.partition(":")
    if name not in PROTOCOLS:
        raise ValueError(f"unknown occlusion protocol {text!r}; choose one of {PROTOCOLS} (random_patch:<ratio>)")
    if name in RATIO_PROTOCOLS:
        try:
            ratio = float(value) if value else 0.3
        except ValueError:
            raise ValueError(f"{name} needs a ratio in (0, 1), e.g. {name}:0.3, got {text!r}") from None
        if not 0 < ratio < 1:
            raise ValueError(f"{name} ratio must be in (0, 1), got {ratio}")
        if round(ratio * 196) == 0:  # the 14×14 patches: round(ratio·196) of them are hidden
            raise ValueError(f"{name}:{value} hides no patch of the 196 (round({ratio}·196) = 0)")
        return name, ratio
    if value:
        raise ValueError(f"{name} takes no value, got {text!r}")
    return name, None


@functools.lru_cache(maxsize=4)
def _synthfer_rows(num_images: int, split: str, seed: int, occlusion: str):
    """SynthFER faces, generated once per argument set (a robustness curve reuses them for every point)."""
    return synthfer_dataset(num_images, split=split, seed=seed, occlusion=occlusion)


class EvaluationFaces(torch.utils.data.Dataset):
    """Faces of the split with the protocol applied: ``pixel_values``, ``labels``, and where known the ground-truth
    ``patch_mask`` / ``pixel_mask`` and the unoccluded ``clean_pixel_values``."""

    def __init__(self, spec: EvaluationSpec):
        if spec.split not in ("train", "validation", "test"):
            raise ValueError(f"split must be train, validation or test, got {spec.split!r}")
        self.spec = spec
        self.protocol, self.ratio = parse_occlusion(spec.occlusion)
        if self.protocol == "grad_occlusion" and spec.cam_model is None:
            raise ValueError("grad_occlusion needs --cam_model: the classifier whose Grad-CAM picks the patches")
        self.processor = LatentOferImageProcessor()
        self.native = spec.data == "synthfer" and self.protocol in SYNTHFER_FAMILIES
        if spec.data == "synthfer":
            mode = self.protocol if self.native else "none"
            self.rows = _synthfer_rows(spec.num_images, spec.split, spec.seed, mode)
        else:
            from ..training.arguments import CommonArguments
            from ..training.data import read_face_splits

            if spec.data_dir is None or not Path(spec.data_dir).is_dir():
                raise ValueError(f"--data {spec.data}: --data_dir {spec.data_dir!r} is not a folder")
            common = CommonArguments(data=spec.data, data_dir=spec.data_dir, seed=spec.seed)
            if spec.split == "test":
                self.rows = self._test_split()
            else:  # the training run's own split of the data (its validation part held out as train.py holds it)
                self.rows = getattr(read_face_splits(common), spec.split)

    def _test_split(self):
        from ..data.loaders import load_affectnet, load_image_folder, load_kdef, load_rafdb

        spec = self.spec
        check = {"check_images": "decode"}  # every pixel decoded once here: a truncated file is skipped and named
        if spec.data == "rafdb":
            return load_rafdb(spec.data_dir, split="test", label_order="rafdb", **check)
        if spec.data == "affectnet":
            return load_affectnet(spec.data_dir, split="validation", num_classes=7, label_order="rafdb", **check)
        if spec.data == "kdef":
            return load_kdef(spec.data_dir, label_order="rafdb", split="test", **check)
        return load_image_folder(spec.data_dir, label_order="rafdb", **check)

    def __len__(self) -> int:
        return len(self.rows)

    def _tensor(self, image: np.ndarray | Image.Image) -> torch.Tensor:
        return self.processor.array_to_pixel_values(np.asarray(image))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        row = self.rows[int(index)]
        item = {"labels": torch.tensor(int(row["label"]))}
        image = face_array(row["image"])
        clean = pixel_mask = patch_mask = None
        occluder = self.protocol
        if self.native:  # SynthFER's own occluders (landmark-anchored), its masks, and the same face unoccluded
            occluder = row["occluder"]
            patch_mask = np.asarray(row["occlusion_mask"], dtype=bool)
            pixel_mask = np.asarray(row["pixel_mask"].convert("L")) > 127
            clean = synthfer_sample(int(row["index"]), split=self.spec.split, seed=self.spec.seed).image
        elif self.protocol != "none":
            rng = np.random.default_rng([self.spec.seed, int(index), PROTOCOLS.index(self.protocol)])
            clean = image
            if self.protocol == "random_patch":
                from ..data.occlusion import random_patch_occlusion

                result = random_patch_occlusion(image, self.ratio, rng, grid=14)
                image, pixel_mask, patch_mask = np.asarray(result.image), result.pixel_mask, result.patch_mask
            elif self.protocol == "grad_occlusion":
                from ..data.occlusion import grad_occlusion

                cam = _grad_cam(self.spec.cam_model)(Image.fromarray(image))  # predicted class, as in Fig. 1
                result = grad_occlusion(image, cam, self.ratio, grid=14)
                image, pixel_mask, patch_mask = np.asarray(result.image), result.pixel_mask, result.patch_mask
            else:
                image, pixel_mask, patch_mask, occluder = occlude(image, self.protocol, rng)
        item["pixel_values"] = self._tensor(image)
        item["occluder"] = torch.tensor(OCCLUDERS.index(occluder))
        if patch_mask is not None:
            item["patch_mask"] = torch.from_numpy(np.ascontiguousarray(patch_mask))
            item["pixel_mask"] = torch.from_numpy(np.ascontiguousarray(pixel_mask))[None]
            item["clean_pixel_values"] = self._tensor(clean)
        return item


@functools.lru_cache(maxsize=2)
def _grad_cam(path: str):
    """Grad-CAM on the last CNN stage of a saved image classifier (the paper: on DAN, the previous state of the art;
    here the plain CNN baseline, a DAN-style ResNet; docs/method.md#open-questions Q6), CAMs cached per image."""
    from transformers import AutoModelForImageClassification

    from ..data.occlusion import GradCAM

    model = AutoModelForImageClassification.from_pretrained(path).eval()
    cam = GradCAM(model, model.resnet.encoder.stages[-1])
    cache: dict[bytes, np.ndarray] = {}

    def cam_of(image: Image.Image) -> np.ndarray:
        key = image.tobytes()
        if key not in cache:
            with torch.enable_grad():
                cache[key] = cam(image)
        return cache[key]

    return cam_of


def is_system(path: str) -> bool:
    """True for a saved Latent-OFER system, False for a plain image classifier folder (e.g. the CNN baseline)."""
    config = Path(path) / "config.json"
    if not config.is_file():
        return True  # a Hub id: loaded as a system, which names the problem if it is not one
    return json.loads(config.read_text(encoding="utf-8")).get("model_type") == "latent-ofer"


def check_system_folder(path: str) -> None:
    """A clear error when a local ``path`` is not a saved system folder (a Hub id is checked when it loads)."""
    folder = Path(path)
    if folder.exists():
        missing = [part for part in ("config.json", "vit", "detector", "recognizer") if not (folder / part).exists()]
        if missing:
            raise ValueError(f"--model {path} is not a saved Latent-OFER system (missing {', '.join(missing)})")


def load_system(path: str) -> LatentOferModel:
    """A saved system folder (or Hub id); a clear error when it is not one."""
    check_system_folder(path)
    return LatentOferModel.from_pretrained(path).eval()


def _unit(pixel_values: torch.Tensor, processor: LatentOferImageProcessor) -> torch.Tensor:
    mean = torch.tensor(processor.image_mean, dtype=pixel_values.dtype, device=pixel_values.device)[None, :, None, None]
    std = torch.tensor(processor.image_std, dtype=pixel_values.dtype, device=pixel_values.device)[None, :, None, None]
    return (pixel_values * std + mean).clamp(0, 1)


@contextlib.contextmanager
def latent_choice(model: LatentOferModel, latents: str):
    """Table 10's "all vs selected latents" at evaluation time: ``"all"`` hands the recogniser every patch latent
    (ratio 1) for the duration; the attention and grid latent heads take any number of latents, the paper's MLP
    does not."""
    if latents not in LATENT_CHOICES:
        raise ValueError(f"--latents {latents!r}: choose one of {LATENT_CHOICES}")
    config = model.recognizer.config
    if latents == "selected":
        yield model
        return
    if not config.use_latents:
        raise ValueError("--latents all: this system's recogniser was trained without latents (use_latents=False)")
    if config.latent_selection != "cam" or config.latent_head == "paper":
        raise ValueError(
            "--latents all needs the attention or grid latent head with CAM selection; this recogniser has "
            f"latent_head={config.latent_head!r}, latent_selection={config.latent_selection!r} (fixed K latents)"
        )
    ratio = config.latent_selection_ratio
    config.latent_selection_ratio = 1.0
    try:
        yield model
    finally:
        config.latent_selection_ratio = ratio


def load_peers(spec: EvaluationSpec, names: list[str] | None = None) -> list[Peer]:
    """The spec's peers, each checked to score every class of ``names`` (default: the labels of ``spec.model``'s
    config, read without its weights) — a clear error otherwise, before any model weights load."""
    if not spec.peers:
        return []
    if names is None:
        from transformers import AutoConfig

        id2label = AutoConfig.from_pretrained(spec.model).id2label
        names = [id2label[i] for i in range(len(id2label))]
    return [load_peer(name, target=names) for name in spec.peers]


def _by_occluder(joined: dict[str, torch.Tensor]) -> dict[str, dict]:
    """Detection metrics per occluder family (or protocol) present among the faces (paper Table 1, split)."""
    result = {}
    for index in joined["occluder"].unique().tolist():
        chosen = joined["occluder"] == index
        metrics = detection_metrics(joined["predicted_mask"][chosen], joined["true_mask"][chosen])
        result[OCCLUDERS[index]] = {"faces": int(chosen.sum()), **metrics}
    return result


@torch.no_grad()
def evaluate(
    spec: EvaluationSpec,
    accelerator: Accelerator | None = None,
    model: LatentOferModel | None = None,
    peers: list[Peer] | None = None,
) -> dict[str, Any]:
    """Run the protocol (and the spec's peers on the same faces); write ``results.json`` and
    ``confusion_matrix.png`` into ``spec.output_dir`` (main process) and return the results."""
    accelerator = accelerator or Accelerator()
    if model is None and not is_system(spec.model):
        return evaluate_classifier(spec, accelerator, peers=peers)
    if spec.mask not in MASK_CHOICES:
        raise ValueError(f"--mask {spec.mask!r}: choose one of {MASK_CHOICES}")
    if spec.mask != "detected" and parse_occlusion(spec.occlusion)[0] == "none":
        raise ValueError(f"--mask {spec.mask} needs occluded faces with known masks (--occlusion seen, unseen, ...)")
    if model is None:
        check_system_folder(spec.model)
    names = None if model is None else [model.config.id2label[i] for i in range(len(model.config.id2label))]
    peers = [peer.to(accelerator.device) for peer in (load_peers(spec, names) if peers is None else peers)]
    model = (model or load_system(spec.model)).to(accelerator.device)  # not prepared: nothing is trained
    names = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    faces = EvaluationFaces(spec)
    loader = accelerator.prepare(torch.utils.data.DataLoader(faces, batch_size=spec.batch_size))
    gathered: dict[str, list[torch.Tensor]] = {}

    def keep(**values: torch.Tensor) -> None:
        for key, value in accelerator.gather_for_metrics(values).items():
            gathered.setdefault(key, []).append(value.cpu())

    shown = None  # the first batch, for the reconstruction grid
    for batch in loader:
        shown = batch if shown is None else shown
        oracle = oracle_patch_mask(batch, spec.mask)
        with latent_choice(model, spec.latents):
            output = model(
                batch["pixel_values"], reconstruction=spec.reconstruction, patch_mask=oracle, return_dict=True
            )
        values = {"predictions": output.logits.argmax(-1), "labels": batch["labels"]}
        for number, peer in enumerate(peers):
            values[f"peer{number}"] = _peer_predictions(peer, batch["pixel_values"], faces.processor, names)
        if "patch_mask" in batch:
            values.update(predicted_mask=output.patch_mask.reshape(len(batch["labels"]), -1),
                          true_mask=batch["patch_mask"].reshape(len(batch["labels"]), -1),
                          occluder=batch["occluder"])  # fmt: skip
            if output.reconstruction is not None:
                reconstructed = _unit(output.reconstruction, faces.processor)
                clean, hole = _unit(batch["clean_pixel_values"], faces.processor), batch["pixel_mask"]
                values["psnr_hole"], values["psnr_face"] = psnr(reconstructed, clean, hole), psnr(reconstructed, clean)
                similarity = ssim_map(reconstructed, clean)
                values["ssim_hole"] = ssim(reconstructed, clean, hole, values=similarity)
                values["ssim_face"] = ssim(reconstructed, clean, values=similarity)
        keep(**values)
    joined = {key: torch.cat(parts) for key, parts in gathered.items()}
    results: dict[str, Any] = {
        "spec": {**asdict(spec), "num_processes": accelerator.num_processes, "cpu_threads": torch.get_num_threads()},
        "reconstruction_mode": spec.reconstruction or model.config.reconstruction,
        "recognition": recognition_metrics(
            confusion_matrix(joined["predictions"], joined["labels"], len(names)), names
        ),
    }
    if "true_mask" in joined and spec.mask == "detected":  # with the ground truth as the mask there is none
        results["detection"] = detection_metrics(joined["predicted_mask"], joined["true_mask"])
        results["detection_per_occluder"] = _by_occluder(joined)
    if "psnr_hole" in joined:
        results["reconstruction"] = {
            key: finite_mean(joined[key]) for key in ("psnr_hole", "psnr_face", "ssim_hole", "ssim_face")
        }
        results["reconstruction"]["perfect_fills"] = int(torch.isinf(joined["psnr_hole"]).sum())
    if peers:
        results["peers"] = _peer_results(peers, joined, names)
    if spec.output_dir is not None and accelerator.is_main_process:
        _write(results, spec, names)
        if shown is not None and "clean_pixel_values" in shown:
            oracle = oracle_patch_mask(shown, spec.mask)
            grid = _reconstruction_grid(model, shown, faces.processor, patch_mask=oracle)
            grid.save(Path(spec.output_dir) / "reconstructions.png")
    return results


def _reconstruction_grid(
    model: LatentOferModel,
    batch: dict,
    processor: LatentOferImageProcessor,
    count: int = 6,
    patch_mask: torch.Tensor | None = None,
):
    """occluded | MAE fill | hybrid (when the system has its U-Net) | ground truth, for the first faces, each filled
    where the system's detector flagged patches (or where ``patch_mask`` says)."""
    pixels = batch["pixel_values"][:count]
    patch_mask = None if patch_mask is None else patch_mask[:count]

    def pictures(values: torch.Tensor) -> list[Image.Image]:
        arrays = (_unit(values, processor).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
        return [Image.fromarray(array) for array in arrays]

    columns = {"occluded": pictures(pixels)}
    for mode in ("mae", "hybrid"):
        if mode == "hybrid" and model.config.reconstruction != "hybrid":
            continue
        columns[mode] = pictures(
            model(pixels, reconstruction=mode, patch_mask=patch_mask, return_dict=True).reconstruction
        )
    columns["ground truth"] = pictures(batch["clean_pixel_values"][:count])
    rows = [list(faces) for faces in zip(*columns.values(), strict=True)]
    return image_grid(rows, list(columns))


def _peer_predictions(peer: Peer, pixel_values: torch.Tensor, processor, names: list[str]) -> torch.Tensor:
    """A peer's class ids (in ``names`` order) for the batch's faces, handed to it as the RGB images they are."""
    arrays = (_unit(pixel_values, processor).permute(0, 2, 3, 1).cpu().numpy() * 255).round().astype(np.uint8)
    logits = peer.logits([Image.fromarray(array) for array in arrays], names)
    return logits.argmax(-1).to(pixel_values.device)


def _peer_results(peers: list[Peer], joined: dict[str, torch.Tensor], names: list[str]) -> dict[str, dict]:
    return {
        peer.name: recognition_metrics(confusion_matrix(joined[f"peer{n}"], joined["labels"], len(names)), names)
        for n, peer in enumerate(peers)
    }


def check_plain_classifier(path: str, name: str) -> None:
    """A classifier that reads the image alone, checked on its config before it loads; a system's recogniser trained
    with ViT latents is refused (on its own it would see none, and its accuracy would mean nothing)."""
    from transformers import AutoConfig

    if getattr(AutoConfig.from_pretrained(path), "use_latents", False):
        raise ValueError(
            f"{name} is a recogniser that reads ViT latents (use_latents=True): alone it would get none; evaluate "
            "the system's folder (the one above it), or a plain classifier such as stages/baseline/baseline"
        )


@torch.no_grad()
def evaluate_classifier(
    spec: EvaluationSpec,
    accelerator: Accelerator,
    model: torch.nn.Module | None = None,
    peers: list[Peer] | None = None,
):
    """Recognition metrics of a plain image classifier (the CNN baseline) on the same faces as a system, and of
    the spec's peers."""
    if spec.reconstruction not in (None, "none"):
        raise ValueError(f"--reconstruction {spec.reconstruction}: {spec.model} is a plain classifier, not a system")
    if spec.latents != "selected" or spec.mask != "detected":
        raise ValueError(f"--latents / --mask: {spec.model} is a plain classifier, it has no latents or detector")
    if peers is None:
        names = None if model is None else [model.config.id2label[i] for i in range(len(model.config.id2label))]
        peers = load_peers(spec, names)
    peers = [peer.to(accelerator.device) for peer in peers]
    if model is None:
        from transformers import AutoModelForImageClassification

        check_plain_classifier(spec.model, spec.model)
        model = AutoModelForImageClassification.from_pretrained(spec.model).eval()
    model = model.to(accelerator.device)
    names = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    faces = EvaluationFaces(spec)
    loader = accelerator.prepare(torch.utils.data.DataLoader(faces, batch_size=spec.batch_size))
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in loader:
        values = {"predictions": model(pixel_values=batch["pixel_values"]).logits.argmax(-1), "labels": batch["labels"]}
        for number, peer in enumerate(peers):
            values[f"peer{number}"] = _peer_predictions(peer, batch["pixel_values"], faces.processor, names)
        for key, value in accelerator.gather_for_metrics(values).items():
            parts.setdefault(key, []).append(value.cpu())
    joined = {key: torch.cat(value) for key, value in parts.items()}
    matrix = confusion_matrix(joined["predictions"], joined["labels"], len(names))
    results: dict[str, Any] = {
        "spec": {**asdict(spec), "num_processes": accelerator.num_processes, "cpu_threads": torch.get_num_threads()},
        "reconstruction_mode": "none (plain classifier)",
        "recognition": recognition_metrics(matrix, names),
    }
    if peers:
        results["peers"] = _peer_results(peers, joined, names)
    if spec.output_dir is not None and accelerator.is_main_process:
        _write(results, spec, names)
    return results


def _write(results: dict[str, Any], spec: EvaluationSpec, names: list[str]) -> None:
    out = Path(spec.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    title = f"{spec.data} {spec.split}, occlusion {spec.occlusion}"
    normalized = results["recognition"]["normalized_confusion_matrix"]
    confusion_matrix_image(normalized, names, title).save(out / "confusion_matrix.png")


ROBUSTNESS_RATIOS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)


def robustness(
    spec: EvaluationSpec,
    *,
    baseline: str | None = None,
    accelerator: Accelerator | None = None,
    kind: str = "random_patch",
) -> dict[str, Any]:
    """Accuracy vs occlusion ratio (0–60 %, paper Fig. 1) of random patches or Grad-occlusion (``kind``; its CAM from
    ``spec.cam_model``, by default the baseline): Latent-OFER, its recogniser without reconstruction
    (``reconstruction="none"``), given a folder a plain CNN baseline, and the spec's peers;
    ``robustness_<kind>.json`` and ``.png`` in ``spec.output_dir``."""
    if kind not in RATIO_PROTOCOLS:
        raise ValueError(f"kind must be one of {RATIO_PROTOCOLS}, got {kind!r}")
    if kind == "grad_occlusion" and spec.cam_model is None:
        if baseline is None:
            raise ValueError("grad_occlusion needs --cam_model (or --baseline, whose Grad-CAM is then used)")
        spec = replace(spec, cam_model=baseline)
    accelerator = accelerator or Accelerator()
    curves: dict[str, list[float | None]] = {"latent-ofer": [], "recognizer alone (no reconstruction)": []}
    if baseline is not None:
        curves["plain CNN baseline"] = []
        check_plain_classifier(baseline, f"--baseline {baseline}")  # before anything loads
    system = load_system(spec.model)
    peers = load_peers(spec, [system.config.id2label[i] for i in range(len(system.config.id2label))])
    for peer in peers:
        curves[f"peer: {peer.name}"] = []
    plain = None
    if baseline is not None:
        from transformers import AutoModelForImageClassification

        plain = AutoModelForImageClassification.from_pretrained(baseline).eval().to(accelerator.device)
    for ratio in ROBUSTNESS_RATIOS:
        occlusion = "none" if ratio == 0 else f"{kind}:{ratio}"
        point = replace(spec, occlusion=occlusion, output_dir=None, mask=spec.mask if ratio else "detected")
        full = evaluate(point, accelerator, system, peers)  # the peers see the same faces
        curves["latent-ofer"].append(full["recognition"]["accuracy"])
        for peer in peers:
            curves[f"peer: {peer.name}"].append(full["peers"][peer.name]["accuracy"])
        alone = replace(point, reconstruction="none")
        accuracy = evaluate(alone, accelerator, system, [])["recognition"]["accuracy"]
        curves["recognizer alone (no reconstruction)"].append(accuracy)
        if plain is not None:
            same_faces = replace(point, reconstruction=None)  # a plain CNN has no reconstruction to choose
            accuracy = evaluate_classifier(same_faces, accelerator, plain, [])["recognition"]["accuracy"]
            curves["plain CNN baseline"].append(accuracy)
    results = {"spec": asdict(spec), "kind": kind, "ratios": list(ROBUSTNESS_RATIOS), "accuracy": curves}
    if spec.output_dir is not None and accelerator.is_main_process:
        out = Path(spec.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"robustness_{kind}.json").write_text(json.dumps(results, indent=2))
        title = f"{spec.data} {spec.split}: {kind.replace('_', '-')} occlusion"
        label = f"{kind.replace('_', '-')} ratio"
        curve_image(list(ROBUSTNESS_RATIOS), curves, title, x_label=label).save(out / f"robustness_{kind}.png")
    return results


__all__ = [
    "EvaluationFaces",
    "EvaluationSpec",
    "evaluate",
    "evaluate_classifier",
    "is_system",
    "latent_choice",
    "load_peers",
    "load_system",
    "parse_occlusion",
    "robustness",
]
