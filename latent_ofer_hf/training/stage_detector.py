"""Stage `detector`: Deep-SVDD on clean patch latents of the frozen ViT [P §3.1, Eq. 1;
docs/method.md#occlusion-detector], as Deep-SVDD's reference recipe does it:

0. with ``input_normalization="per_position"`` (ours), first the per-position mean and std of the clean latents, from
   one gathered pass;
1. the centre c = the mean of Φ over one pass of the clean training faces, gathered from every process (|c_i| < eps
   pushed to ±eps), never moved afterwards;
2. Adam (lr 1e-3, weight decay 1e-6 = Eq. 1's λ term) on the soft-boundary objective, in float32;
3. R = 0 during the warm-up epochs, then after each epoch the (1 − ν)-quantile of the gathered clean distances;
4. validation on occluded faces (seen occluders) against their ground-truth patch masks: patch precision, recall and
   F1 (the model kept is the best F1 of the epochs after the warm-up); the embedding spread is logged as the
   collapse monitor (it falls toward 0 when Φ collapses onto c).

With ``objective="semi-supervised"`` (ours, Deep SAD) step 2 trains on faces of which a share
(``--detector_occlusion_probability``) is occluded (``--detector_masks``: by default `seen` occluders and random
patches, as the recogniser's), their ground-truth patches pushed away from c; steps 0, 1 and 3 still read clean faces
only. With ``projector="identity"`` there is nothing to train: steps 0, 1 and one pass
for R, then validation (epoch 0).
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator

from ..models.occlusion_detector import OcclusionPatchDetector
from ..models.vit_latents import ViTLatentBackbone
from .arguments import TrainingArguments
from .data import FaceTensors, parse_protocols
from .runtime import (
    StageRun,
    StageSettings,
    epoch_means,
    frozen,
    make_loader,
    previous_output,
    save_component,
    set_learning_rate,
)

# Clean latents kept in memory between the detector stage's passes over the clean training faces (2 + one per
# epoch): 0.6 GB for the demo preset's 6,000 faces of 196 × 128 floats; larger sets are recomputed every pass.
CLEAN_LATENT_CACHE_BYTES = 1024**3


class CleanLatents:
    """The frozen ViT's patch latents of the clean training faces (a fixed, in-order loader), gathered from every
    process per batch (``gather_for_metrics``: the faces an uneven last batch repeats are dropped, so every face counts
    once, as with one process). Computed on the first pass and kept when they fit ``max_bytes`` — the same values the
    ViT would give again — else recomputed on every pass."""

    def __init__(self, accelerator: Accelerator, vit, loader, max_bytes: int = CLEAN_LATENT_CACHE_BYTES):
        self.accelerator, self.vit, self.loader, self.max_bytes = accelerator, vit, loader, max_bytes
        self.kept: list[torch.Tensor] | None = None

    def __iter__(self):
        if self.kept is not None:
            yield from self.kept
            return
        kept: list[torch.Tensor] | None = []
        size = 0
        for batch in self.loader:
            with torch.no_grad():
                latents = self.accelerator.gather_for_metrics(self.vit(batch["pixel_values"]).patch_latents)
            size += latents.numel() * latents.element_size()
            if kept is not None:
                if size <= self.max_bytes:
                    kept.append(latents)
                else:
                    kept = None
            yield latents
        self.kept = kept  # only after a whole pass


@torch.no_grad()
def clean_pass(detector: OcclusionPatchDetector, latents: CleanLatents):
    """Φ-mean, every clean distance and the embedding spread over one pass of the gathered clean latents (every
    process computes Φ of every face, so each holds the same sums)."""
    total = torch.zeros(detector.config.rep_dim, dtype=torch.float64, device=detector.center.device)
    count = 0
    distances, squares = [], torch.zeros_like(total)
    for batch_latents in latents:
        embeddings = detector.embed(batch_latents.float()).double()
        faces = embeddings.shape[0]
        embeddings = embeddings.reshape(-1, detector.config.rep_dim)
        total, count = total + embeddings.sum(0), count + embeddings.shape[0]
        squares = squares + embeddings.pow(2).sum(0)
        distance = torch.linalg.vector_norm(embeddings - detector.center.double(), dim=-1)
        distances.append(distance.float().reshape(faces, -1))
    mean = total / max(count, 1)
    spread = float((squares / max(count, 1) - mean.pow(2)).clamp_min(0).sqrt().mean())
    return mean, torch.cat(distances).flatten().cpu(), spread


@torch.no_grad()
def fit_normalization(detector: OcclusionPatchDetector, latents: CleanLatents) -> None:
    """Per-position Σz, Σz² and counts over one pass of the gathered clean latents into the detector."""
    detector.set_input_normalization(*detector.input_statistics(latents))


@torch.no_grad()
def patch_scores(accelerator: Accelerator, vit, detector, loader) -> dict[str, float]:
    """Patch precision / recall / F1 / accuracy of the predicted masks against the ground truth (True = occluded)."""
    counts = torch.zeros(4, dtype=torch.float64, device=accelerator.device)  # tp, fp, fn, tn
    for batch in loader:
        latents = vit(batch["pixel_values"]).patch_latents
        predicted = detector(patch_latents=latents.float(), return_loss=False).patch_mask
        predicted, truth = accelerator.gather_for_metrics((predicted, batch["patch_mask"]))
        counts += (
            torch.stack(
                [
                    (predicted & truth).sum(),
                    (predicted & ~truth).sum(),
                    (~predicted & truth).sum(),
                    (~predicted & ~truth).sum(),
                ]
            )
            .double()
            .to(counts.device)
        )
    tp, fp, fn, tn = counts.tolist()
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "patch_precision": precision,
        "patch_recall": recall,
        "patch_f1": f1,
        "patch_accuracy": (tp + tn) / max(1.0, tp + fp + fn + tn),
    }


def run_detector(accelerator: Accelerator, arguments: TrainingArguments) -> Path:
    """Fit the SVDD head; returns its folder (``stages/detector/detector``)."""
    common, own = arguments.common, arguments.detector
    run = StageRun(accelerator, common, "detector", arguments.to_dict())
    if run.skip_if_done():
        return run.dir / "detector"
    settings = StageSettings.resolve(common, own.detector_batch_size, own.detector_learning_rate, own.detector_epochs)
    splits = run.faces()
    vit = frozen(ViTLatentBackbone.from_pretrained(previous_output(common, "mae", "vit")), accelerator.device)
    detector = OcclusionPatchDetector(own.detector_config(common.preset))
    eval_batch = common.per_device_eval_batch_size
    semi_supervised = detector.config.objective == "semi-supervised"
    occlusion = {"protocols": parse_protocols(own.detector_masks), "purpose": 4, "keep_clean": False,
                 "occlusion_probability": own.detector_occlusion_probability}  # fmt: skip
    train_set = FaceTensors(splits.train, seed=common.seed, train=True, **(occlusion if semi_supervised else {}))
    train_loader = make_loader(train_set, settings.batch_size, train=True, workers=settings.workers)
    clean_loader = make_loader(FaceTensors(splits.train, seed=common.seed, train=False), eval_batch,
                               train=False, workers=settings.workers)  # fmt: skip
    occluded = FaceTensors(splits.validation, seed=common.seed, train=False, protocols={"seen": 1.0}, purpose=2,
                           keep_clean=False)  # fmt: skip
    val_loader = make_loader(occluded, eval_batch, train=False, workers=settings.workers)
    if not any(parameter.requires_grad for parameter in detector.parameters()):
        return fit_only(accelerator, run, vit, detector, clean_loader, val_loader)
    optimizer = torch.optim.Adam(
        detector.parameters(), lr=settings.learning_rate, weight_decay=own.detector_weight_decay
    )
    detector, optimizer, train_loader, clean_loader, val_loader = accelerator.prepare(
        detector, optimizer, train_loader, clean_loader, val_loader
    )
    run.require_batches(train_loader, len(splits.train), settings.batch_size)
    model = accelerator.unwrap_model(detector)
    clean = CleanLatents(accelerator, vit, clean_loader)
    if not run.resume():  # 0. the input statistics and 1. the centre, each from one gathered pass
        if model.config.input_normalization == "per_position":
            fit_normalization(model, clean)
        center, _, _ = clean_pass(model, clean)
        model.set_center(center)
        model.radius.zero_()
    epochs = settings.epochs_needed(len(train_loader), common.gradient_accumulation_steps)
    for epoch in run.epochs(epochs):
        detector.train()
        set_learning_rate(optimizer, settings.learning_rate)
        total, count, stop = torch.zeros((), device=accelerator.device), 0, False
        for batch in run.batches(train_loader, epoch):
            with accelerator.accumulate(detector):
                with torch.no_grad():
                    latents = vit(batch["pixel_values"]).patch_latents.float()
                # Φ may run in bf16 under autocast; distances to the float32 centre are float32 (type promotion)
                known = batch["patch_mask"] if semi_supervised else None  # the occluded patches, pushed away
                loss = detector(patch_latents=latents, occlusion_mask=known, return_loss=True).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            total, count = total + loss.detach(), count + 1
            if accelerator.sync_gradients and run.after_optimizer_step():
                stop = True
                break
        # 3. the radius: 0 while warming up, then the (1 − ν)-quantile of the clean distances (set by the last epoch
        # in any case: a radius left at 0 would flag every patch)
        _, distances, spread = clean_pass(model, clean)
        radius_set = epoch >= own.detector_warmup_epochs or epoch == epochs - 1 or stop
        if radius_set:
            model.update_radius(distances)
        scores = patch_scores(accelerator, vit, detector, val_loader)
        train_loss = (epoch_means(accelerator, total, count) or [None])[0]
        run.log(
            {"train_loss": train_loss, "radius": float(model.radius), "embedding_spread": spread, **scores},
            epoch_end=True,
        )
        # a warm-up epoch is logged, never kept: with R = 0 it flags every patch, whose F1 (2p / (1 + p) for a
        # share p of occluded patches) can beat a trained detector's
        if radius_set and run.is_better(scores["patch_f1"], higher_is_better=True):
            save_component(accelerator, detector, run.dir / "detector")
        if stop:
            break
    return run.finish({"detector": detector})


def fit_only(accelerator: Accelerator, run: StageRun, vit, detector: OcclusionPatchDetector, clean_loader, val_loader):
    """A detector with nothing to train (``projector="identity"``): its statistics, centre and radius from clean
    passes, then the validation scores, logged as epoch 0."""
    detector = detector.to(accelerator.device)
    clean_loader, val_loader = accelerator.prepare(clean_loader, val_loader)
    clean = CleanLatents(accelerator, vit, clean_loader)
    if detector.config.input_normalization == "per_position":
        fit_normalization(detector, clean)
    center, _, _ = clean_pass(detector, clean)
    detector.set_center(center)
    _, distances, spread = clean_pass(detector, clean)
    detector.update_radius(distances)
    scores = patch_scores(accelerator, vit, detector.eval(), val_loader)
    for _ in run.epochs(1):
        run.log({"radius": float(detector.radius), "embedding_spread": spread, **scores}, epoch_end=True)
        run.is_better(scores["patch_f1"], higher_is_better=True)
    save_component(accelerator, detector, run.dir / "detector")
    return run.finish({"detector": detector})


__all__ = ["CleanLatents", "clean_pass", "fit_normalization", "fit_only", "patch_scores", "run_detector"]
