"""How well a ViT's patch latents separate occluded patches from clean ones, layer by layer — the ceiling on what
the one-class detector [P §3.1] can reach with those latents.

For each representation (the patch pixels, the token embeddings, every encoder layer, the final normed encoder
output, its ``decoder_embed`` projection — the system's default latents — and the MAE decoder's output), a
per-position diagonal Gaussian is fitted on the patches of clean faces, and the ROC AUC of its mean squared
z-score is measured on occluded faces against their ground-truth patch masks. A representation with an AUC far from
1 cannot give a detector both high precision and high recall, whatever its head or threshold. ``--covariance full``
fits a full covariance per position instead (shrunk towards a multiple of the identity, as few clean faces fit
many dimensions) and scores the Mahalanobis distance: what correlations between a latent's dimensions add.

Two signals that are not latents are measured beside them, each fitted on the same clean faces: the MAE's own
*masked-prediction error* (every patch hidden once, in four passes of 2×2-patch blocks, predicted from the rest;
divided by the mean clean error at its position), and, given ``--recognizer``, a CNN's features (its stem and each
ResNet stage, average-pooled to the patch grid; the same Gaussian) — what a one-class head would get from the
pixels' local statistics rather than from the ViT.

``python -m latent_ofer_hf.evaluation.separability --vit runs/demo/vit [--random_weights] [--covariance full]
[--recognizer runs/demo/stages/teacher/teacher]`` (SynthFER: clean training faces, occluded validation faces of
unseen identities; ``--random_weights``: the ViT (and the recogniser) freshly initialised, what training has to
beat).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..data.synthfer import synthfer_dataset
from ..models.expression_recognizer import ExpressionRecognizer
from ..models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from ..models.vit_latents import ViTLatentBackbone
from ..training.data import face_array
from .metrics import roc_auc


def _representation_names(aucs: dict) -> list[str]:
    return [name for name in aucs if " | " not in name]


SOURCE_NAMES = {"encoder": "encoder output", "decoder_embed": "decoder_embed", "decoder": "decoder output"}


@torch.no_grad()
def representations(vit: ViTLatentBackbone, pixel_values: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{name: [B, N, width]}`` per-patch representations of every patch (all visible), cls token dropped."""
    mae = vit.mae
    embeddings = mae.vit.embeddings
    hidden = embeddings.patch_embeddings(pixel_values) + embeddings.position_embeddings[:, 1:, :]
    cls_token = (embeddings.cls_token + embeddings.position_embeddings[:, :1, :]).expand(hidden.shape[0], -1, -1)
    hidden = torch.cat([cls_token, hidden], dim=1)
    result = {"pixels": mae.patchify(pixel_values), "embeddings": hidden[:, 1:]}
    for number, layer in enumerate(mae.vit.layers, start=1):
        hidden = layer(hidden, None)
        result[f"encoder layer {number}"] = hidden[:, 1:]
    hidden = mae.vit.layernorm(hidden)
    result["encoder output"] = hidden[:, 1:]
    result["decoder_embed"] = mae.decoder.decoder_embed(hidden)[:, 1:]
    result["decoder output"] = vit.decode(hidden)[:, 1:]
    return result


MASKED_ERROR = "MAE masked-prediction error"


def block_masks(grid_size: int, block: int = 2) -> torch.Tensor:
    """``[4, g·g]`` bool: four masks of ``block``×``block`` patch squares on a ``2·block`` lattice, each patch hidden
    in exactly one of them (every hidden block has its neighbours visible)."""
    rows = torch.arange(grid_size)
    masks = []
    for row_offset in (0, block):
        for column_offset in (0, block):
            inside_rows = (rows - row_offset) % (2 * block) < block
            inside_columns = (rows - column_offset) % (2 * block) < block
            masks.append((inside_rows[:, None] & inside_columns[None, :]).flatten())
    return torch.stack(masks)


@torch.no_grad()
def masked_prediction_errors(vit: ViTLatentBackbone, pixel_values: torch.Tensor, block: int = 2) -> torch.Tensor:
    """``[B, N]``: the MAE's squared error on each patch (normalised pixels, mean over the patch) when that patch is
    hidden and predicted from the visible ones (:func:`block_masks`, one pass per mask)."""
    target = vit.mae.patchify(pixel_values)
    errors = torch.zeros(target.shape[:2], dtype=target.dtype, device=target.device)
    for mask in block_masks(vit.config.grid_size, block).to(pixel_values.device):
        masks = mask.expand(len(pixel_values), -1)
        predicted = vit.mae.patchify(vit.fill(pixel_values, masks, visible_count=int((~mask).sum())))
        errors = torch.where(masks, (predicted - target).pow(2).mean(-1), errors)
    return errors


@torch.no_grad()
def recognizer_features(recognizer: ExpressionRecognizer, pixel_values: torch.Tensor, grid_size: int) -> dict:
    """``{name: [B, N, channels]}``: the recogniser's stem and ResNet stage outputs on the images as its CNN reads
    them (``cnn_image_size``), average-pooled (or upsampled) to the patch grid."""
    states = recognizer.resnet(recognizer.cnn_input(pixel_values), output_hidden_states=True).hidden_states
    names = ["recognizer stem", *(f"recognizer stage {number}" for number in range(1, len(states)))]
    pooled = (torch.nn.functional.adaptive_avg_pool2d(state, grid_size) for state in states)
    return {name: state.flatten(2).transpose(1, 2) for name, state in zip(names, pooled, strict=True)}


COVARIANCES = ("diagonal", "full")


def gaussian_scores(
    reference: torch.Tensor, queries: torch.Tensor, covariance: str = "diagonal", shrinkage: float = 0.1
) -> torch.Tensor:
    """Distance of each query patch from the per-position Gaussian of the reference patches (``[R, N, W]``,
    ``[Q, N, W]`` → ``[Q, N]``): the mean squared z-score (``"diagonal"``), or the squared Mahalanobis distance under
    a full covariance per position, ``(1 − shrinkage)·Σ + shrinkage·mean(diag Σ)·I`` (``"full"``)."""
    if covariance not in COVARIANCES:
        raise ValueError(f"covariance must be one of {COVARIANCES}, got {covariance!r}")
    mean = reference.mean(0)
    if covariance == "diagonal":
        return ((queries - mean) / (reference.std(0) + 1e-3)).pow(2).mean(-1)
    if not 0.0 < shrinkage <= 1.0:
        raise ValueError(f"shrinkage must be in (0, 1], got {shrinkage}")
    centered = reference - mean
    sigma = torch.einsum("rnw,rnv->nwv", centered, centered) / reference.shape[0]
    scale = sigma.diagonal(dim1=1, dim2=2).mean(-1).clamp_min(1e-6)[:, None, None]
    identity = torch.eye(sigma.shape[-1], dtype=sigma.dtype, device=sigma.device)
    precision = torch.linalg.inv((1.0 - shrinkage) * sigma + shrinkage * scale * identity)
    offset = queries - mean
    return torch.einsum("qnw,nwv,qnv->qn", offset, precision, offset)


def latent_separability(
    vit: ViTLatentBackbone,
    clean: torch.Tensor,
    occluded: torch.Tensor,
    masks: torch.Tensor,
    families: list[str] | None = None,
    batch_size: int = 32,
    covariance: str = "diagonal",
    recognizer: ExpressionRecognizer | None = None,
) -> dict[str, float | None]:
    """ROC AUC per representation: fitted on the ``clean`` faces, scored on the ``occluded`` ones against their
    ``[B, 14, 14]`` (or ``[B, N]``) ground-truth ``masks``; given each occluded face's occluder family, also per
    family (keys ``"<representation> | <family>"``); ``covariance``: see :func:`gaussian_scores`. Also the MAE's
    masked-prediction error (key :data:`MASKED_ERROR`) and, given a ``recognizer``, its CNN features."""
    vit = vit.eval()
    recognizer = None if recognizer is None else recognizer.eval()

    def of_batch(pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        result = representations(vit, pixels)
        if recognizer is not None:
            result.update(recognizer_features(recognizer, pixels, vit.config.grid_size))
        result[MASKED_ERROR] = masked_prediction_errors(vit, pixels)
        return result

    def pass_over(pixels: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = [of_batch(pixels[i : i + batch_size]) for i in range(0, len(pixels), batch_size)]
        return {name: torch.cat([part[name] for part in parts]).float() for name in parts[0]}

    fitted, scored = pass_over(clean), pass_over(occluded)
    truth = masks.reshape(len(occluded), -1).bool()
    clean_error = fitted.pop(MASKED_ERROR).mean(0).clamp_min(1e-8)  # per position
    scores = {name: gaussian_scores(fitted[name], scored[name], covariance) for name in fitted}
    scores[MASKED_ERROR] = scored.pop(MASKED_ERROR) / clean_error
    result = {name: roc_auc(values, truth) for name, values in scores.items()}
    if families is not None:  # the same, on the faces of each occluder family alone
        for family in sorted(set(families)):
            chosen = torch.tensor([item == family for item in families])
            result.update({f"{name} | {family}": roc_auc(v[chosen], truth[chosen]) for name, v in scores.items()})
    return result


def _pixels(rows, processor: LatentOferImageProcessor) -> torch.Tensor:
    return torch.stack([processor.to_pixel_values(Image.fromarray(face_array(row["image"]))) for row in rows])


def _not_a_saved(folder: str, model_class: type) -> str | None:
    """Why ``folder`` is not a saved ``model_class`` (None when it is one)."""
    config = Path(folder) / "config.json"
    if not config.is_file():
        return "no such folder" if not Path(folder).is_dir() else "no config.json in it (not a saved model)"
    found = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    wanted = model_class.config_class.model_type
    if found == wanted:
        return None
    hint = " (a whole system: pass its vit/ or recognizer/ folder)" if found == "latent-ofer" else ""
    return f"holds a {found!r} model where a {wanted!r} one ({model_class.__name__}) is needed{hint}"


def main(argv: list[str] | None = None) -> dict[str, float | None]:
    parser = argparse.ArgumentParser(
        prog="python -m latent_ofer_hf.evaluation.separability", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--vit", required=True, help="a saved ViTLatentBackbone folder (e.g. runs/demo/vit)")
    parser.add_argument("--num_clean", type=int, default=300, help="clean SynthFER training faces to fit on")
    parser.add_argument("--num_occluded", type=int, default=100, help="occluded SynthFER validation faces to score")
    parser.add_argument("--occlusion", choices=["seen", "unseen"], default="unseen")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="write the AUCs as JSON here")
    parser.add_argument(
        "--covariance",
        choices=COVARIANCES,
        default="diagonal",
        help="per-position Gaussian: diagonal (z-scores, the demo detector's) or full (Mahalanobis, shrinkage 0.1)",
    )
    parser.add_argument(
        "--random_weights",
        action="store_true",
        help="the same ViT (and recogniser) freshly initialised (seed --seed): the reference",
    )
    parser.add_argument(
        "--recognizer", default=None, help="also an ExpressionRecognizer's CNN features (a saved folder)"
    )
    args = parser.parse_args(argv)
    if args.num_clean < 2 or args.num_occluded < 1:
        parser.error(f"--num_clean needs at least 2 faces, --num_occluded 1; got {args.num_clean}, {args.num_occluded}")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        parent = Path(args.output).resolve().parent
        parser.error(f"--output {args.output}: {parent} " + ("is a file" if parent.exists() else "does not exist"))
    for flag, folder, wanted in (
        ("--vit", args.vit, ViTLatentBackbone),
        ("--recognizer", args.recognizer, ExpressionRecognizer),
    ):
        if folder is not None and (problem := _not_a_saved(folder, wanted)):
            parser.error(f"{flag} {folder}: {problem}")
    vit = ViTLatentBackbone.from_pretrained(args.vit)
    recognizer = None if args.recognizer is None else ExpressionRecognizer.from_pretrained(args.recognizer)
    if args.random_weights:
        torch.manual_seed(args.seed)
        vit = ViTLatentBackbone(vit.config)
        recognizer = None if recognizer is None else ExpressionRecognizer(recognizer.config)
    processor = LatentOferImageProcessor()
    clean = _pixels(synthfer_dataset(args.num_clean, split="train", seed=args.seed), processor)
    rows = synthfer_dataset(args.num_occluded, split="validation", seed=args.seed, occlusion=args.occlusion)
    masks = torch.from_numpy(np.stack([np.asarray(row["occlusion_mask"], dtype=bool) for row in rows]))
    aucs = latent_separability(
        vit,
        clean,
        _pixels(rows, processor),
        masks,
        families=list(rows["occluder"]),
        covariance=args.covariance,
        recognizer=recognizer,
    )
    own = SOURCE_NAMES[vit.config.latent_source]
    families = sorted(set(rows["occluder"]))
    print(f"{'ROC AUC':>27}  all    " + " ".join(f"{family:>10}" for family in families))
    for name in _representation_names(aucs):
        row = " ".join(f"{aucs[f'{name} | {family}'] or float('nan'):>10.3f}" for family in families)
        print(f"{name:>27}  {aucs[name]:.3f}  {row}" + ("  ← the system's latents" if name == own else ""))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            json.dump({"spec": vars(args), "roc_auc": aucs}, file, indent=2)
    return aucs


if __name__ == "__main__":
    main()


__all__ = [
    "COVARIANCES",
    "MASKED_ERROR",
    "SOURCE_NAMES",
    "block_masks",
    "gaussian_scores",
    "latent_separability",
    "main",
    "masked_prediction_errors",
    "recognizer_features",
    "representations",
]
