"""Stage `recognizer`: Latent-OFER's recogniser trained on reconstructed faces with the selected ViT latents
[P §3.3, §4.2; docs/method.md#expression-recognizer], the ViT, detector and reconstructor frozen; the official
code's SGD 0.1 / momentum 0.9 / weight decay 1e-4 / StepLR(10, 0.1) [C: main.py]. Training faces are occluded
with the seen protocols with `--recognizer_occlusion_probability`. Ends by writing the whole system into `--output_dir`.

`--baseline` trains the plain CNN every comparison needs instead: the same trunk and heads (no latent branch), the
same data, augmentation and occlusion, on the faces as they are (no detection, no reconstruction).

`--ablation NAME` trains a module-ablation variant (paper Table 10: all / no latents, no CNN features, no
reconstruction) into `stages/ablation-NAME` and assembles it, with the same frozen parts, as the system
`OUTPUT_DIR/ablations/NAME`; the main recogniser and system are left as they are.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from ..evaluation.cards import write_system_card
from ..evaluation.oracle_masks import oracle_patch_mask
from ..models.expression_recognizer import ExpressionRecognizer
from ..models.hybrid_reconstruction import HybridReconstructionNetwork
from ..models.latent_ofer import LatentOferModel
from ..models.occlusion_detector import OcclusionPatchDetector
from ..models.vit_latents import ViTLatentBackbone
from ..presets import preset_config
from .arguments import ABLATION_FLAGS, TrainingArguments
from .cards import cpu_threads_of_run, system_training_command, training_command
from .data import FaceTensors
from .runtime import StageRun, StageSettings, frozen, previous_output
from .stage_teacher import cnn_only_config, train_classifier

RECOGNIZER_PROTOCOLS = {"seen": 0.5, "random_patch": 0.5}


def load_frozen_system(accelerator: Accelerator, common, recognizer: ExpressionRecognizer) -> LatentOferModel:
    """The trained ViT, detector and reconstructor (frozen) around `recognizer` (trainable)."""
    device = accelerator.device
    vit = frozen(ViTLatentBackbone.from_pretrained(previous_output(common, "mae", "vit")), device)
    detector = frozen(OcclusionPatchDetector.from_pretrained(previous_output(common, "detector", "detector")), device)
    path = previous_output(common, "reconstructor", "reconstructor")
    reconstructor = frozen(HybridReconstructionNetwork.from_pretrained(path), device)
    return LatentOferModel.from_components(vit, detector, recognizer, reconstructor=reconstructor)


FIRST_FUSION_LAYER = "fusion_head.hidden.0."


def init_from_teacher(accelerator: Accelerator, common, model: ExpressionRecognizer) -> ExpressionRecognizer:
    """Start from the teacher's weights — offline stand-in for the paper's MS-Celeb-pretrained ResNet-18
    (docs/method.md#cnn-branch): every tensor whose name and shape match (the ResNet, the attention heads, the fusion
    head). The first fusion layer, which also reads the latent vector, takes the teacher's weights on the CNN inputs
    and zeros on the latent inputs (ours), so the recogniser starts out computing exactly the teacher's logits and
    learns from there how much the latents add; the latent head keeps its initialisation."""
    from safetensors.torch import load_file

    weights = load_file(str(previous_output(common, "teacher", "teacher") / "model.safetensors"))
    own = model.state_dict()
    matching = {
        key: value
        for key, value in weights.items()
        if key in own and own[key].shape == value.shape and not key.startswith(FIRST_FUSION_LAYER)
    }
    weight, bias = FIRST_FUSION_LAYER + "weight", FIRST_FUSION_LAYER + "bias"
    cnn_width = model.config.cnn_hidden_size
    if model.config.use_cnn_features and weights[weight].shape == (own[weight].shape[0], cnn_width):
        first = torch.zeros_like(own[weight])
        first[:, :cnn_width] = weights[weight]  # cat(CNN vector, latent vector): the CNN part comes first
        matching.update({weight: first, bias: weights[bias]})
    model.load_state_dict(matching, strict=False)
    accelerator.print(f"[recognizer] {len(matching)} of {len(own)} tensors initialised from the teacher")
    return model


def latent_ofer_forward(system: LatentOferModel, reconstruct: bool = True, mask: str = "detected"):
    """Detect → reconstruct with the frozen parts (no gradient), then the trainable recogniser (``reconstruct``
    False: the recogniser sees the face as it is, Table 10's "w/o image recon"; ``mask="ground_truth_any"``: filled
    where the occluder is, a perfect detector, see `oracle_patch_mask`)."""

    def forward(model: torch.nn.Module, batch: dict, labels: torch.Tensor | None) -> Any:
        pixel_values = batch["pixel_values"]
        with torch.no_grad():
            latents = system.vit(pixel_values).patch_latents
            face = pixel_values
            if reconstruct:
                patch_mask = oracle_patch_mask(batch, mask)
                if patch_mask is None:
                    patch_mask = system.detector(patch_latents=latents, return_loss=False).patch_mask
                face = system.reconstruct(pixel_values, patch_mask).reconstruction
        return model(pixel_values=face, patch_latents=latents, labels=labels)

    return forward


def recognizer_config(common, own):
    """The preset's recogniser, with the Table 10 variant of ``--ablation`` (latents all / none, no CNN features)."""
    overrides: dict[str, Any] = {"use_cnn_features": own.recognizer_cnn_features}
    if own.recognizer_latents == "all":
        overrides["latent_selection_ratio"] = 1.0
    elif own.recognizer_latents == "none":
        overrides["use_latents"] = False
    if own.recognizer_latent_head != "preset":
        overrides["latent_head"] = own.recognizer_latent_head
    return preset_config(common.preset, recognizer_config=overrides).recognizer_config


def _stage_name(own) -> str:
    if own.baseline:
        return "baseline"
    return "recognizer" if own.ablation is None else f"ablation-{own.ablation}"


def run_recognizer(accelerator: Accelerator, arguments: TrainingArguments) -> Path:
    """Train the recogniser (or, with `--baseline`, the plain CNN); returns the saved folder."""
    common, own = arguments.common, arguments.recognizer
    stage = _stage_name(own)
    run = StageRun(accelerator, common, stage, arguments.to_dict())
    name = "baseline" if own.baseline else "recognizer"
    if run.skip_if_done():
        return run.dir / name
    settings = StageSettings.resolve(
        common,
        own.recognizer_batch_size,
        own.recognizer_learning_rate,
        own.recognizer_epochs,
        workers=1,  # FER augmentation and occluders overlap with the frozen system's kernels (docs/training.md)
    )
    splits = run.faces()
    occlusion = {"protocols": RECOGNIZER_PROTOCOLS, "occlusion_probability": own.recognizer_occlusion_probability,
                 "keep_clean": False}  # fmt: skip
    train_set = FaceTensors(splits.train, seed=common.seed, train=True, augmentation="fer", **occlusion)
    val_set = FaceTensors(splits.validation, seed=common.seed, train=False, purpose=1, **occlusion)
    schedule = {
        "momentum": own.recognizer_momentum,
        "weight_decay": own.recognizer_weight_decay,
        "step_size": own.recognizer_step_size,
        "gamma": own.recognizer_gamma,
        "optimizer_name": own.recognizer_optimizer,
    }
    if own.baseline:
        model = ExpressionRecognizer(cnn_only_config(common.preset))
        if own.recognizer_init_from_teacher:  # the same start as the system's recogniser, for a fair comparison
            model = init_from_teacher(accelerator, common, model)
        model = train_classifier(
            accelerator, run, model, splits, settings, name=name, train_set=train_set, val_set=val_set, **schedule
        )
    else:
        model = ExpressionRecognizer(recognizer_config(common, own))
        if own.recognizer_init_from_teacher:
            model = init_from_teacher(accelerator, common, model)
        system = load_frozen_system(accelerator, common, model)
        model = train_classifier(
            accelerator,
            run,
            model,
            splits,
            settings,
            name=name,
            train_set=train_set,
            val_set=val_set,
            forward=latent_ofer_forward(system, reconstruct=own.recognizer_reconstruction, mask=own.recognizer_mask),
            **schedule,
        )
    return run.finish({name: model})


def assemble_system(accelerator: Accelerator, common, own=None) -> Path:
    """The best-validation components of every stage as one system folder in `--output_dir` (an ``--ablation``
    variant: in ``ablations/NAME``, its recogniser from ``stages/ablation-NAME``)."""
    output = Path(common.output_dir)
    stage = "recognizer"
    if own is not None and own.ablation is not None:
        output, stage = output / "ablations" / own.ablation, _stage_name(own)
    recognizer = ExpressionRecognizer.from_pretrained(previous_output(common, stage, "recognizer"))
    system = load_frozen_system(accelerator, common, recognizer)
    if own is not None and not own.recognizer_reconstruction:
        system.config.reconstruction = "none"  # trained on the faces as they are, so run that way
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        system.config.training_data = common.data  # the pipeline, CLI and Space warn about synthfer-trained weights
        system.save_pretrained(output)
        cards = {
            "vit": ("mae", "vit"),
            "detector": ("detector", "detector"),
            "reconstructor": ("reconstructor", "reconstructor"),
            "recognizer": (stage, "recognizer"),
        }
        for slot, (stage, name) in cards.items():  # each component's card goes with it
            card = output / "stages" / stage / name / "README.md"
            if card.is_file():
                shutil.copyfile(card, output / slot / "README.md")
        labels = [system.config.id2label[i] for i in range(len(system.config.id2label))]
        saved = Path(common.output_dir) / "stages" / stage / "training_args.json"
        flags = json.loads(saved.read_text()) if saved.is_file() else None
        threads = cpu_threads_of_run(accelerator)
        command = system_training_command(common, flags, threads)
        if stage != "recognizer":  # an ablation variant: its own command, after the system's
            command = training_command("recognizer", common, flags, stage, threads)
            command += "".join(
                f" --{flag} {getattr(own, flag)}" for flag in ABLATION_FLAGS if f"--{flag} " not in command
            )
        write_system_card(output, [], trained_on=common.data, labels=labels, training_command=command)
    accelerator.wait_for_everyone()
    return output


__all__ = ["assemble_system", "latent_ofer_forward", "load_frozen_system", "recognizer_config", "run_recognizer"]
