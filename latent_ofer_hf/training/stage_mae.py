"""Stage `mae`: masked-autoencoder training of the shared ViT on faces — our addition (docs/method.md#training): the
paper uses an ImageNet MAE as it is [P §4.2], and published face MAEs do markedly better on FER.

The MAE recipe: 75 % of the patches hidden (random per face and step), AdamW with β2 = 0.95 and weight decay 0.05
(none on biases and norms), absolute lr = base lr × total batch / 256, linear warm-up then cosine, mild
augmentation. From scratch offline, or from a Hub / local `ViTMAEForPreTraining` (`--init_from`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator

from ..models.vit_latents import ViTLatentBackbone
from ..presets import preset_config
from .arguments import SetupError, TrainingArguments
from .data import FaceTensors
from .runtime import (
    StageRun,
    StageSettings,
    cosine_with_warmup,
    epoch_means,
    make_loader,
    save_component,
    set_learning_rate,
)


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Weight decay on matrices only (not on biases, norms, tokens), as MAE does."""
    decay, no_decay = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (no_decay if parameter.ndim < 2 or "token" in name else decay).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def validation_loss(accelerator: Accelerator, mae: torch.nn.Module, loader, seed: int) -> float:
    """Mean MAE loss over the validation faces with fixed masks (the same every epoch)."""
    mae.eval()
    losses = []
    for index, batch in enumerate(loader):
        pixel_values = batch["pixel_values"]
        generator = torch.Generator().manual_seed(seed * 1_000_003 + index * 7919 + accelerator.process_index)
        noise = torch.rand(pixel_values.shape[0], mae_patches(mae), generator=generator).to(pixel_values.device)
        output = mae(pixel_values=pixel_values, noise=noise)
        per_face = ((output.logits - target_patches(mae, pixel_values)).pow(2).mean(-1) * output.mask).sum(1)
        losses.append(accelerator.gather_for_metrics(per_face / output.mask.sum(1)))
    return float(torch.cat(losses).mean())


def mae_patches(mae: torch.nn.Module) -> int:
    config = getattr(mae, "module", mae).config
    return (config.image_size // config.patch_size) ** 2


def target_patches(mae: torch.nn.Module, pixel_values: torch.Tensor) -> torch.Tensor:
    model = getattr(mae, "module", mae)
    target = model.patchify(pixel_values)
    if model.config.norm_pix_loss:
        mean, var = target.mean(-1, keepdim=True), target.var(-1, keepdim=True)
        target = (target - mean) / (var + 1e-6) ** 0.5
    return target


def run_mae(accelerator: Accelerator, arguments: TrainingArguments) -> Path:
    """Train the ViT as an MAE on the training faces; returns its folder (``stages/mae/vit``)."""
    common, own = arguments.common, arguments.mae
    run = StageRun(accelerator, common, "mae", arguments.to_dict())
    if run.skip_if_done():
        return run.dir / "vit"
    total_batch = (common.per_device_train_batch_size or own.mae_batch_size) * accelerator.num_processes
    total_batch *= common.gradient_accumulation_steps
    settings = StageSettings.resolve(
        common, own.mae_batch_size, own.mae_base_learning_rate * total_batch / 256, own.mae_epochs
    )
    vit_config = preset_config(common.preset).vit_config
    if own.init_from is not None:  # before the faces are read: an unreachable id or a wrong folder fails at once
        try:
            backbone = ViTLatentBackbone.from_mae_pretrained(own.init_from, latent_source=vit_config.latent_source)
        except (OSError, ValueError) as error:
            raise SetupError(f"--init_from {own.init_from}: {' '.join(str(error).split())}") from None
    else:
        backbone = ViTLatentBackbone(vit_config)
    splits = run.faces()
    backbone.mae.config.mask_ratio = own.mae_mask_ratio
    train_set = FaceTensors(splits.train, seed=common.seed, train=True)
    val_set = FaceTensors(splits.validation, seed=common.seed, train=False)
    train_loader = make_loader(train_set, settings.batch_size, train=True, workers=settings.workers)
    val_loader = make_loader(val_set, common.per_device_eval_batch_size, train=False, workers=settings.workers)
    optimizer = torch.optim.AdamW(
        parameter_groups(backbone.mae, own.mae_weight_decay), lr=settings.learning_rate, betas=(0.9, 0.95)
    )
    # the trained module is the wrapped ViTMAEForPreTraining (its forward is the MAE objective)
    mae, optimizer, train_loader, val_loader = accelerator.prepare(backbone.mae, optimizer, train_loader, val_loader)
    run.require_batches(train_loader, len(train_set), settings.batch_size)
    run.resume()
    per_epoch = max(1, len(train_loader) // common.gradient_accumulation_steps)
    total_steps = settings.total_steps(len(train_loader), common.gradient_accumulation_steps)
    warmup = min(own.mae_warmup_epochs * per_epoch, total_steps // 2)
    for epoch in run.epochs(settings.epochs_needed(len(train_loader), common.gradient_accumulation_steps)):
        mae.train()
        total, count, stop = torch.zeros((), device=accelerator.device), 0, False
        for batch in run.batches(train_loader, epoch):
            with accelerator.accumulate(mae):
                set_learning_rate(
                    optimizer, settings.learning_rate * cosine_with_warmup(run.state.global_step, total_steps, warmup)
                )
                pixel_values = batch["pixel_values"]
                noise = torch.rand(pixel_values.shape[0], mae_patches(mae), generator=run.step_generator())
                loss = mae(pixel_values=pixel_values, noise=noise.to(pixel_values.device)).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            total, count = total + loss.detach(), count + 1
            if accelerator.sync_gradients and run.after_optimizer_step():
                stop = True
                break
        score = validation_loss(accelerator, mae, val_loader, common.seed)
        train_loss = (epoch_means(accelerator, total, count) or [None])[0]
        run.log({"train_loss": train_loss, "val_loss": score}, epoch_end=True)
        if run.is_better(score, higher_is_better=False):
            save_component(accelerator, backbone, run.dir / "vit")
        if stop:
            break
    return run.finish({"vit": backbone})


__all__ = ["parameter_groups", "run_mae", "validation_loss"]
