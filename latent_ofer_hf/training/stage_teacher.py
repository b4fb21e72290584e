"""Stage `teacher`: the FER network whose soft predictions the semantic-consistency loss L_sc matches
[P §3.2.3, Eq. 4; docs/method.md#losses]. A CNN-only `ExpressionRecognizer` (`use_latents=False`, the recogniser's
trunk and heads) trained on clean, augmented faces; frozen afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from ..models.expression_recognizer import ExpressionRecognizer, ExpressionRecognizerConfig
from ..presets import preset_config
from .arguments import TrainingArguments
from .data import FaceTensors
from .runtime import (
    StageRun,
    StageSettings,
    epoch_means,
    make_loader,
    maybe_sync_batchnorm,
    save_component,
    set_learning_rate,
)


def cnn_only_config(preset: str) -> ExpressionRecognizerConfig:
    """The preset's recogniser without its latent branch."""
    fields = preset_config(preset).recognizer_config.to_dict()
    fields["use_latents"] = False
    return ExpressionRecognizerConfig(**{k: v for k, v in fields.items() if k not in ("transformers_version",)})


Forward = Callable[[torch.nn.Module, dict, torch.Tensor | None], Any]


def image_only(model: torch.nn.Module, batch: dict, labels: torch.Tensor | None) -> Any:
    """A classifier of the (possibly occluded) face itself."""
    return model(pixel_values=batch["pixel_values"], labels=labels)


@torch.no_grad()
def accuracy(accelerator: Accelerator, model: torch.nn.Module, loader, forward: Forward = image_only) -> float:
    """Top-1 accuracy over the whole validation set, gathered from every process."""
    model.eval()
    hits = []
    for batch in loader:
        logits = forward(model, batch, None).logits
        hits.append(accelerator.gather_for_metrics((logits.argmax(-1) == batch["labels"]).float()))
    return float(torch.cat(hits).mean()) if hits else 0.0


def train_classifier(
    accelerator: Accelerator,
    run: StageRun,
    model: torch.nn.Module,
    splits,
    settings: StageSettings,
    *,
    momentum: float,
    weight_decay: float,
    step_size: int,
    gamma: float,
    name: str,
    optimizer_name: str = "sgd",
    train_set: FaceTensors | None = None,
    val_set: FaceTensors | None = None,
    forward: Forward = image_only,
) -> torch.nn.Module:
    """SGD (the paper's recogniser recipe) or AdamW (``optimizer_name``) with a step schedule over epochs, validation
    accuracy for selection."""
    common = run.common
    train_set = train_set or FaceTensors(splits.train, seed=common.seed, train=True, augmentation="fer")
    val_set = val_set or FaceTensors(splits.validation, seed=common.seed, train=False)
    train_loader = make_loader(train_set, settings.batch_size, train=True, workers=settings.workers)
    val_loader = make_loader(val_set, common.per_device_eval_batch_size, train=False, workers=settings.workers)
    model = maybe_sync_batchnorm(accelerator, model)
    if optimizer_name == "sgd":
        optimizer = torch.optim.SGD(
            model.parameters(), lr=settings.learning_rate, momentum=momentum, weight_decay=weight_decay
        )
    elif optimizer_name == "adamw":
        optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=weight_decay)
    else:
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {optimizer_name!r}")
    model, optimizer, train_loader, val_loader = accelerator.prepare(model, optimizer, train_loader, val_loader)
    run.require_batches(train_loader, len(train_set), settings.batch_size)
    run.resume()
    epochs = settings.epochs_needed(len(train_loader), common.gradient_accumulation_steps)
    for epoch in run.epochs(epochs):
        model.train()
        total, count, stop = torch.zeros((), device=accelerator.device), 0, False
        set_learning_rate(optimizer, settings.learning_rate * gamma ** (epoch // step_size))
        for batch in run.batches(train_loader, epoch):
            with accelerator.accumulate(model):
                loss = forward(model, batch, batch["labels"]).loss
                accelerator.backward(loss)
                optimizer.step()
                optimizer.zero_grad()
            total, count = total + loss.detach(), count + 1
            if accelerator.sync_gradients and run.after_optimizer_step():
                stop = True
                break
        score = accuracy(accelerator, model, val_loader, forward)
        train_loss = (epoch_means(accelerator, total, count) or [None])[0]
        run.log({"train_loss": train_loss, "val_accuracy": score}, epoch_end=True)
        if run.is_better(score, higher_is_better=True):
            save_component(accelerator, model, run.dir / name)
        if stop:
            break
    return model


def run_teacher(accelerator: Accelerator, arguments: TrainingArguments) -> Path:
    """Train the teacher; returns its folder (``stages/teacher/teacher``)."""
    common, own = arguments.common, arguments.teacher
    run = StageRun(accelerator, common, "teacher", arguments.to_dict())
    if run.skip_if_done():
        return run.dir / "teacher"
    settings = StageSettings.resolve(common, own.teacher_batch_size, own.teacher_learning_rate, own.teacher_epochs)
    splits = run.faces()
    model = ExpressionRecognizer(cnn_only_config(common.preset))
    model = train_classifier(
        accelerator,
        run,
        model,
        splits,
        settings,
        momentum=0.9,
        weight_decay=1e-4,
        step_size=max(1, (2 * settings.epochs) // 3),  # lr ÷10 for the last third
        gamma=0.1,
        name="teacher",
        optimizer_name=own.teacher_optimizer,
    )
    return run.finish({"teacher": model})


__all__ = ["accuracy", "cnn_only_config", "image_only", "run_teacher", "train_classifier"]
