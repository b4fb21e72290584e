"""Stage `reconstructor`: the hybrid U-Net and its discriminators [P §3.2, §4.2; docs/method.md#training].

Per batch, in ONE ``accelerator.accumulate(G, D)`` (entering it twice would advance the step counter twice):
the frozen MAE fills the hole (stage 1), G refines it, then one D step (RaLSGAN on real faces and the detached
output) and one G step (L_re + L_c + L_sc with the frozen teacher + the adversarial terms) with D's trainable
parameters frozen, so G's adversarial gradients never pile up in D. Adam 2e-4, β = (0.5, 0.999) for both
[C: hybrid_recon/train.ipynb]; the learning rate follows the official 'lambda' policy (constant for the first
sixth of the epochs, then linear to 0).
Holes come from the occlusion protocols over clean ground truth (seen occluders, random patches, free-form masks).
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator

from ..models.expression_recognizer import ExpressionRecognizer
from ..models.hybrid_reconstruction import (
    HybridReconstructionNetwork,
    ReconstructionDiscriminators,
    ReconstructionDiscriminatorsConfig,
    discriminator_loss,
    generator_losses,
)
from ..models.vit_latents import ViTLatentBackbone
from ..presets import preset_config
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

# the discriminators' own widths per preset (the paper's: ndf 64, feature width 512)
DISCRIMINATOR_WIDTHS = {"tiny": {"ndf": 4, "feature_width": 8}}


def lambda_policy(epoch: int, epochs: int) -> float:
    """The official 'lambda' schedule factor of epoch ``epoch`` (0-based) of ``epochs``: niter = epochs / 6 epochs at
    the full rate, then a linear decay over the rest, toward 0 after the last epoch.

    Official: niter 20 + niter_decay 100, factor 1 − max(0, e + 2 − niter) / (niter_decay + 1), which gives the
    *last* epoch a factor of exactly 0 — one wasted epoch of 120 there, but every epoch of a 1-epoch run (our first
    demo checkpoint's reconstructor got no update at all). Fixed here: 1 − max(0, e + 1 − niter) / (decay + 1), so
    the first niter epochs run at the full rate and the last at 1 / (decay + 1) of it.
    """
    niter = max(1, round(epochs / 6))
    return 1.0 - max(0, epoch + 1 - niter) / (max(0, epochs - niter) + 1)


def discriminators_for(preset: str, teacher: ExpressionRecognizer | None) -> ReconstructionDiscriminators:
    """D and F, F's frozen feature network = the teacher's trunk (the recogniser's ResNet family)."""
    backbone = preset_config(preset).recognizer_config.backbone_config
    config = ReconstructionDiscriminatorsConfig(
        feature_backbone_config=backbone.to_dict(), **DISCRIMINATOR_WIDTHS.get(preset, {})
    )
    discriminators = ReconstructionDiscriminators(config)
    if teacher is not None:
        discriminators.load_feature_backbone(teacher.resnet)
    return discriminators


def fill_mask(pixel_mask: torch.Tensor, grid: int) -> torch.Tensor:
    """Patches the MAE fills: every patch that a hole pixel touches, ``[B, grid, grid]``."""
    size = pixel_mask.shape[-1]
    return torch.nn.functional.max_pool2d(pixel_mask.float(), size // grid).squeeze(1).bool()


@torch.no_grad()
def hole_l1(accelerator: Accelerator, vit, generator, loader) -> float:
    """Validation: mean absolute error inside the hole (normalised pixels), per face, gathered."""
    generator.eval()
    errors = []
    for batch in loader:
        pixel_values, hole = batch["pixel_values"], batch["pixel_mask"]
        coarse = vit.fill(pixel_values, fill_mask(hole, vit.config.grid_size))
        output = generator(pixel_values, coarse_pixel_values=coarse, pixel_mask=hole)
        weight = hole.expand_as(pixel_values).float()
        error = ((output.reconstruction - batch["clean_pixel_values"]).abs() * weight).sum((1, 2, 3))
        errors.append(accelerator.gather_for_metrics(error / weight.sum((1, 2, 3)).clamp_min(1)))
    return float(torch.cat(errors).mean())


def run_reconstructor(accelerator: Accelerator, arguments: TrainingArguments) -> Path:
    """Train G with D (and the frozen teacher); returns G's folder (``stages/reconstructor/reconstructor``)."""
    common, own = arguments.common, arguments.reconstructor
    run = StageRun(accelerator, common, "reconstructor", arguments.to_dict())
    if run.skip_if_done():
        return run.dir / "reconstructor"
    settings = StageSettings.resolve(
        common,
        own.reconstructor_batch_size,
        own.reconstructor_learning_rate,
        own.reconstructor_epochs,
        workers=1,  # pasting occluders overlaps with the small kernels of its GAN step (docs/training.md)
    )
    splits = run.faces()
    device = accelerator.device
    vit = frozen(ViTLatentBackbone.from_pretrained(previous_output(common, "mae", "vit")), device)
    teacher = None
    if own.reconstructor_use_teacher:
        teacher = frozen(ExpressionRecognizer.from_pretrained(previous_output(common, "teacher", "teacher")), device)
    overrides = {} if own.reconstructor_lambda_sc is None else {"lambda_sc": own.reconstructor_lambda_sc}
    network = HybridReconstructionNetwork(
        preset_config(common.preset, reconstructor_config=overrides).reconstructor_config
    )
    discriminators = discriminators_for(common.preset, teacher)
    protocols = parse_protocols(own.reconstructor_masks)
    train_set = FaceTensors(splits.train, seed=common.seed, train=True, protocols=protocols)
    val_set = FaceTensors(splits.validation, seed=common.seed, train=False, protocols=protocols, purpose=3)
    train_loader = make_loader(train_set, settings.batch_size, train=True, workers=settings.workers)
    val_loader = make_loader(val_set, common.per_device_eval_batch_size, train=False, workers=settings.workers)
    betas = (own.reconstructor_beta1, 0.999)
    g_optimizer = torch.optim.Adam(network.parameters(), lr=settings.learning_rate, betas=betas)
    d_optimizer = torch.optim.Adam(discriminators.trainable_parameters(), lr=settings.learning_rate, betas=betas)
    network, discriminators, g_optimizer, d_optimizer, train_loader, val_loader = accelerator.prepare(
        network, discriminators, g_optimizer, d_optimizer, train_loader, val_loader
    )
    g_model, d_model = accelerator.unwrap_model(network), accelerator.unwrap_model(discriminators)
    teach = None if teacher is None else (lambda pixel_values: teacher(pixel_values=pixel_values).logits)
    run.require_batches(train_loader, len(train_set), settings.batch_size)
    run.resume()
    epochs = settings.epochs_needed(len(train_loader), common.gradient_accumulation_steps)
    for epoch in run.epochs(epochs):
        network.train()
        discriminators.train()
        lr = settings.learning_rate * lambda_policy(epoch, epochs)
        set_learning_rate(g_optimizer, lr)
        set_learning_rate(d_optimizer, lr)
        sums = torch.zeros(3, device=device)  # D loss, G total, L_re
        count, stop = 0, False
        for batch in run.batches(train_loader, epoch):
            pixel_values, target, hole = batch["pixel_values"], batch["clean_pixel_values"], batch["pixel_mask"]
            with accelerator.accumulate(network, discriminators), accelerator.autocast():
                with torch.no_grad():  # stage 1: the frozen MAE fills every patch the hole touches
                    coarse = vit.fill(pixel_values, fill_mask(hole, vit.config.grid_size))
                output = network(pixel_values, coarse_pixel_values=coarse, pixel_mask=hole, target_pixel_values=target)
                # D step
                d_loss = discriminator_loss(g_model, discriminators, output, target)
                accelerator.backward(d_loss)
                d_optimizer.step()
                d_optimizer.zero_grad()
                # G step, D's trainable parameters frozen (its frozen feature network stays frozen)
                for parameter in d_model.trainable_parameters():
                    parameter.requires_grad_(False)
                losses = generator_losses(g_model, output, target, teacher=teach, discriminators=d_model)
                accelerator.backward(losses.total)
                g_optimizer.step()
                g_optimizer.zero_grad()
                for parameter in d_model.trainable_parameters():
                    parameter.requires_grad_(True)
            sums += torch.stack([d_loss.detach(), losses.total.detach(), losses.reconstruction.detach()]).float()
            count += 1
            if accelerator.sync_gradients and run.after_optimizer_step():
                stop = True
                break
        score = hole_l1(accelerator, vit, network, val_loader)
        d_mean, g_mean, re_mean = epoch_means(accelerator, sums, count) or [None] * 3
        run.log(
            {"d_loss": d_mean, "g_loss": g_mean, "reconstruction_loss": re_mean, "val_hole_l1": score}, epoch_end=True
        )
        if run.is_better(score, higher_is_better=False):
            save_component(accelerator, network, run.dir / "reconstructor")
            save_component(accelerator, discriminators, run.dir / "discriminators")
        if stop:
            break
    return run.finish({"reconstructor": network, "discriminators": discriminators})


__all__ = ["discriminators_for", "fill_mask", "hole_l1", "lambda_policy", "run_reconstructor"]
