"""Command-line arguments of ``train.py``: one dataclass of common flags plus one per stage.

Flags use the names of Hugging Face's example scripts (``--output_dir``, ``--per_device_train_batch_size``, …).
``--config FILE.yaml`` gives defaults that the command line overrides; a key the parser does not know is an error.
A common flag left unset (``None``) means "the stage's own default" (e.g. ``--learning_rate``), so one command can
run every stage with its own settings (``--preset paper``: the official code's, see ``PRESET_TRAINING_DEFAULTS``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from transformers import HfArgumentParser
from transformers.hf_argparser import string_to_bool

from ..presets import PRESET_TRAINING_DEFAULTS, PRESETS, preset_config
from .protocols import parse_protocols

STAGES = ("mae", "teacher", "detector", "reconstructor", "recognizer")
# not FED-RO: a test set only (the paper trains on RAF-DB / AffectNet, tests on FED-RO; latent_ofer_hf.data.load_fedro)
DATA_SOURCES = ("synthfer", "rafdb", "affectnet", "kdef", "imagefolder")


class SetupError(ValueError):
    """A problem with the command, its data or its output folder (not a bug): train.py reports it in one line."""


def _help(text: str, **kwargs: Any) -> Any:
    return field(metadata={"help": text}, **kwargs)


@dataclass
class CommonArguments:
    """Flags every stage reads."""

    stage: Literal["all", "mae", "teacher", "detector", "reconstructor", "recognizer"] = _help(
        "Which stage to run; `all` runs mae → teacher → detector → reconstructor → recognizer, each consuming the "
        "previous outputs.",
        default="all",
    )
    preset: str = _help(
        "Model sizes: `paper`, `base`, `demo` or `tiny` (latent_ofer_hf.presets). A preset may also bring training "
        "defaults (`demo`: the schedule of the shipped checkpoint, PRESET_TRAINING_DEFAULTS), which --config and the "
        "command line override.",
        default="base",
    )
    data: Literal["synthfer", "rafdb", "affectnet", "kdef", "imagefolder"] = _help(
        "Training data: the offline SynthFER generator, or your copy of a FER data set in --data_dir.",
        default="synthfer",
    )
    data_dir: str | None = _help("Root of the data set (not used by synthfer).", default=None)
    synthfer_train_size: int = _help("SynthFER training faces (train identities, clean).", default=7000)
    synthfer_validation_size: int = _help("SynthFER validation faces (validation identities).", default=700)
    validation_fraction: float = _help(
        "For data sets without a validation split (RAF-DB, KDEF, image folders): the fraction of the training split "
        "held out for model selection (the test split is never used for it).",
        default=0.1,
    )
    output_dir: str = _help(
        "Where everything goes: the final system (loadable with pipeline('occluded-fer', model=output_dir)), "
        "stages/<stage>/ and checkpoints/<stage>/.",
        default="latent-ofer-trained",
    )
    seed: int = _help("Seed of every random choice (models, data order, masks, occluders, augmentation).", default=0)
    per_device_train_batch_size: int | None = _help("Batch size per process (default: the stage's).", default=None)
    per_device_eval_batch_size: int = _help("Validation batch size per process.", default=32)
    gradient_accumulation_steps: int = _help("Batches per optimizer step.", default=1)
    learning_rate: float | None = _help("Override the stage's learning rate.", default=None)
    num_train_epochs: int | None = _help("Override the stage's number of epochs.", default=None)
    max_train_steps: int | None = _help(
        "Stop each stage after at most this many optimizer steps (a cap: the stage's epochs still end it first when "
        "they are fewer steps).",
        default=None,
    )
    checkpointing_steps: int | None = _help(
        "Save the full training state every N optimizer steps into checkpoints/<stage>/step_<N>.", default=None
    )
    checkpoints_total_limit: int | None = _help("Keep at most this many checkpoints per stage.", default=None)
    resume_from_checkpoint: str | None = _help(
        "`latest` (the newest checkpoint of each stage in --output_dir) or a checkpoint folder. A checkpoint folder "
        "is trusted input: accelerate unpickles parts of it, so resume only from folders this script wrote.",
        default=None,
    )
    report_to: Literal["none", "tensorboard"] = _help(
        "Tracker for losses and metrics (tensorboard needs `pip install latent-ofer-hf[train]`).", default="none"
    )
    dataloader_num_workers: int | None = _help(
        "Data loading worker processes per training process (default: the stage's: one in the reconstructor and "
        "recognizer stages when a single training process runs on the machine, none otherwise; measured on 2 CPU "
        "cores in docs/training.md). The faces are the same whoever prepares them.",
        default=None,
    )
    cpu_threads: int = _help(
        "CPU threads per training process (torch.set_num_threads); 0: the cores this process may use, divided by the "
        "training processes on this machine. OMP_NUM_THREADS is not read: `accelerate launch` sets it to 1 unless "
        "told otherwise, leaving all but one core idle. CPU kernels round differently with another thread count, so "
        "a seed repeats a run bit for bit with the same count on the same kind of CPU (docs/training.md).",
        default=0,
    )
    push_to_hub: bool = _help("Upload the final system to the Hub (needs network and a token).", default=False)
    hub_model_id: str | None = _help(
        "Hub repository for --push_to_hub (default: the output folder's name).", default=None
    )
    config: str | None = _help("A YAML file of defaults for any of these flags; the command line wins.", default=None)


@dataclass
class MAEArguments:
    """Stage `mae`: masked-autoencoder training of the shared ViT on faces (our addition: the paper uses an
    ImageNet MAE as it is; face MAEs do markedly better on FER)."""

    init_from: str | None = _help(
        "Start from a ViTMAEForPreTraining checkpoint (Hub id such as facebook/vit-mae-base, or a folder) instead "
        "of random weights.",
        default=None,
    )
    mae_mask_ratio: float = _help("Fraction of patches hidden from the encoder (MAE: 0.75).", default=0.75)
    mae_base_learning_rate: float = _help(
        "Base learning rate; the absolute one is base × total batch / 256 (MAE's rule).", default=1.5e-4
    )
    mae_weight_decay: float = _help("AdamW weight decay (MAE: 0.05).", default=0.05)
    mae_warmup_epochs: int = _help("Linear warm-up epochs before the cosine schedule.", default=5)
    mae_epochs: int = _help("Epochs (small face sets need hundreds).", default=200)
    mae_batch_size: int = _help("Batch size per process.", default=64)


@dataclass
class TeacherArguments:
    """Stage `teacher`: the frozen FER network whose predictions L_sc matches [P §3.2.3], trained on clean faces."""

    teacher_optimizer: Literal["sgd", "adamw"] = _help(
        "SGD (momentum 0.9, weight decay 1e-4) or AdamW (weight decay 1e-4).", default="sgd"
    )
    teacher_learning_rate: float = _help("Learning rate.", default=0.01)
    teacher_epochs: int = _help("Epochs.", default=30)
    teacher_batch_size: int = _help("Batch size per process.", default=64)


@dataclass
class DetectorArguments:
    """Stage `detector`: Deep-SVDD on clean patch latents of the frozen ViT [P §3.1]."""

    detector_learning_rate: float = _help("Adam learning rate (Deep-SVDD: 1e-3).", default=1e-3)
    detector_weight_decay: float = _help("Adam weight decay, Eq. 1's λ term (Deep-SVDD: 1e-6).", default=1e-6)
    detector_epochs: int = _help("Epochs.", default=20)
    detector_warmup_epochs: int = _help(
        "Epochs with R = 0 before the radius follows the ν-quantile (the last epoch sets it in any case: a detector "
        "with R = 0 flags every patch); they are validated but never the epoch kept.",
        default=2,
    )
    detector_batch_size: int = _help("Faces per batch per process (each gives 196 patches).", default=32)
    detector_input_normalization: Literal["none", "per_position"] | None = _help(
        "The detector's input normalisation (default: the preset's): `none` as the paper, `per_position` (ours) "
        "standardises each latent by the clean statistics of its patch position. Saved in the detector's config.",
        default=None,
    )
    detector_projector: Literal["mlp", "identity"] | None = _help(
        "The detector's Φ (default: the preset's): `mlp`, Deep SVDD's learned map as the paper, or `identity` "
        "(ours: nothing trained; rep_dim is set to latent_dim). Saved in the detector's config.",
        default=None,
    )
    detector_objective: Literal["soft-boundary", "one-class", "semi-supervised"] | None = _help(
        "The detector's objective (default: the preset's): `soft-boundary` or `one-class` Deep SVDD on clean faces "
        "(Eq. 1), or `semi-supervised` (ours, Deep SAD: clean patches pulled to c, the occluded patches of the "
        "training faces pushed away; --detector_masks, --detector_occlusion_probability). Saved in the detector's "
        "config.",
        default=None,
    )
    detector_occlusion_probability: float = _help(
        "With the `semi-supervised` objective: the chance that a training face is occluded (drawn from "
        "--detector_masks; its ground-truth patches are the known-occluded ones).",
        default=0.5,
    )
    detector_masks: str = _help(
        "With the `semi-supervised` objective: the occlusion protocols of the training faces, comma-separated "
        "name:weight as --reconstructor_masks (default: the recogniser's, `seen` occluders and random patches).",
        default="seen:0.5,random_patch:0.5",
    )
    detector_nu: float | None = _help(
        "ν in (0, 1]: the fraction of clean training patches outside the radius, i.e. the false-alarm rate the "
        "radius is set for (default: the preset's: 0.1 as Deep-SVDD's, 0.01 for `demo`). Saved in the detector's "
        "config.",
        default=None,
    )

    def detector_config(self, preset: str):
        """The preset's detector config with ``--detector_input_normalization`` / ``--detector_projector`` /
        ``--detector_nu`` / ``--detector_objective`` when given (a ``ValueError`` naming the conflict otherwise)."""
        flags = {"input_normalization": self.detector_input_normalization, "projector": self.detector_projector,
                 "nu": self.detector_nu, "objective": self.detector_objective}  # fmt: skip
        overrides = {key: value for key, value in flags.items() if value is not None}
        if overrides.get("projector") == "identity":
            overrides["rep_dim"] = preset_config(preset).detector_config.latent_dim
            overrides.setdefault("objective", "soft-boundary")  # nothing trained: a preset's Deep SAD does not apply
        return preset_config(preset, detector_config=overrides).detector_config


@dataclass
class ReconstructorArguments:
    """Stage `reconstructor`: the hybrid U-Net with its discriminators [P §3.2, §4.2]."""

    reconstructor_learning_rate: float = _help("Adam learning rate of G and D (official code: 2e-4).", default=2e-4)
    reconstructor_beta1: float = _help("Adam β1 (official code: 0.5; β2 = 0.999).", default=0.5)
    reconstructor_epochs: int = _help("Epochs.", default=30)
    reconstructor_batch_size: int = _help("Batch size per process.", default=8)
    reconstructor_masks: str = _help(
        "Occlusion protocols drawn per face, comma-separated name:weight (seen = object paste with seen "
        "occluders, random_patch, free_form).",
        default="seen:0.5,random_patch:0.25,free_form:0.25",
    )
    reconstructor_use_teacher: bool = _help("Use the frozen teacher for L_sc (stage `teacher` output).", default=True)
    reconstructor_lambda_sc: float | None = _help(
        "Weight λ_sc of the semantic-consistency loss L_sc (default: the preset's, 1 as the paper; the supplement's "
        "Table 1 sweeps 0, 0.1, 1, 10). Saved in the reconstructor's config.",
        default=None,
    )


@dataclass
class RecognizerArguments:
    """Stage `recognizer`: the Latent-OFER recogniser on reconstructed faces with the selected ViT latents."""

    recognizer_optimizer: Literal["sgd", "adamw"] = _help(
        "SGD as the official code, or AdamW (ours: for short schedules such as the demo preset's, where SGD from "
        "scratch barely leaves chance level in a few hundred steps).",
        default="sgd",
    )
    recognizer_learning_rate: float = _help("Learning rate (official code: SGD 0.1).", default=0.1)
    recognizer_momentum: float = _help("SGD momentum (official code: 0.9).", default=0.9)
    recognizer_weight_decay: float = _help("SGD weight decay (official code: 1e-4).", default=1e-4)
    recognizer_step_size: int = _help("StepLR step in epochs (official code: 10).", default=10)
    recognizer_gamma: float = _help("StepLR factor (official code: 0.1).", default=0.1)
    recognizer_epochs: int = _help("Epochs.", default=40)
    recognizer_batch_size: int = _help("Batch size per process.", default=64)
    recognizer_occlusion_probability: float = _help(
        "Probability that a training face is occluded (seen occluders or random patches).", default=0.5
    )
    recognizer_init_from_teacher: bool = _help(
        "Start the recogniser's CNN (and, with --baseline, the plain CNN) from the `teacher` stage's weights: the "
        "offline stand-in for the paper's MS-Celeb-pretrained ResNet-18 (the demo preset does; default: from "
        "scratch, or load a pretrained trunk with convert_resnet_weights).",
        default=False,
    )
    baseline: bool = _help(
        "Train the plain CNN instead (the same trunk, data and augmentation; no detection, reconstruction or "
        "latents) that every comparison needs; saved as stages/baseline.",
        default=False,
    )
    ablation: str | None = _help(
        "Train a module-ablation variant of the recogniser (paper Table 10) under this name, with the flags "
        "below, beside the main one: stages/ablation-NAME, and the variant system in OUTPUT_DIR/ablations/NAME "
        "(the same ViT, detector and reconstructor). Only with --stage recognizer.",
        default=None,
    )
    recognizer_latents: Literal["selected", "all", "none"] = _help(
        "Table 10 (with --ablation): the expression-relevant latents (the paper), all N patch latents, or none.",
        default="selected",
    )
    recognizer_cnn_features: bool = _help(
        "Table 10 (with --ablation): fuse the CNN features (the paper); false: classify from the latents only.",
        default=True,
    )
    recognizer_reconstruction: bool = _help(
        "Table 10 (with --ablation): train (and then run) on reconstructed faces (the paper); false: on the faces "
        "as they are, the variant system's reconstruction set to none.",
        default=True,
    )
    recognizer_latent_head: Literal["preset", "paper", "attention", "grid"] = _help(
        "With --ablation: the latent head (`ExpressionRecognizerConfig.latent_head`) instead of the preset's.",
        default="preset",
    )
    recognizer_mask: Literal["detected", "ground_truth_any"] = _help(
        "With --ablation: where the training faces are filled — the frozen detector's patches (the paper), or every "
        "patch the occluder touches (ground_truth_any: a perfect detector during training, not the paper; it "
        "measures what the recogniser could learn from fills alone).",
        default="detected",
    )


# The flags that make a recogniser variant (only with --ablation), with the values that leave the preset's recogniser.
ABLATION_FLAGS: dict[str, Any] = {
    "recognizer_latents": "selected",
    "recognizer_cnn_features": True,
    "recognizer_reconstruction": True,
    "recognizer_mask": "detected",
    "recognizer_latent_head": "preset",
}

ARGUMENT_CLASSES = (
    CommonArguments,
    MAEArguments,
    TeacherArguments,
    DetectorArguments,
    ReconstructorArguments,
    RecognizerArguments,
)


# the common flags that change what a stage trains (cpu_threads: its float rounding; the others choose where, how
# often and how it is logged)
TRAINING_FLAGS = ("preset", "data", "data_dir", "synthfer_train_size", "synthfer_validation_size",
                  "validation_fraction", "seed", "per_device_train_batch_size", "gradient_accumulation_steps",
                  "learning_rate", "num_train_epochs", "max_train_steps", "cpu_threads")  # fmt: skip


def stage_flags(stage: str) -> tuple[str, ...]:
    """The flags a stage's result depends on: the common training flags and its own group's."""
    groups = {"mae": MAEArguments, "teacher": TeacherArguments, "detector": DetectorArguments,
              "reconstructor": ReconstructorArguments}  # fmt: skip
    own = groups.get(stage, RecognizerArguments)  # recognizer, baseline, ablation-NAME
    return (*TRAINING_FLAGS, *(item.name for item in dataclasses.fields(own)))


@dataclass
class TrainingArguments:
    """Everything parsed, one attribute per group."""

    common: CommonArguments
    mae: MAEArguments
    teacher: TeacherArguments
    detector: DetectorArguments
    reconstructor: ReconstructorArguments
    recognizer: RecognizerArguments

    def to_dict(self) -> dict[str, Any]:
        """Flat ``{flag: value}`` of every group (what the command line and the YAML file set)."""
        flat: dict[str, Any] = {}
        for group in self.groups():
            flat.update(dataclasses.asdict(group))
        return flat

    def groups(self) -> tuple[Any, ...]:
        return (self.common, self.mae, self.teacher, self.detector, self.reconstructor, self.recognizer)


def _flag_value(argv: list[str], flag: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == flag and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{flag}="):
            return arg.split("=", 1)[1]
    return None


USAGE = (
    "train.py [--stage STAGE] [--preset PRESET] [--data DATA] [--output_dir DIR] [--config YAML] [FLAG VALUE ...] "
    "(every flag: --help)"
)


def _config_file(argv: list[str]) -> str | None:
    return _flag_value(argv, "--config")


def parse_args(argv: list[str] | None = None) -> TrainingArguments:
    """Parse the command line (``sys.argv[1:]`` by default) over the YAML defaults of ``--config``; a
    :class:`SetupError` names what is wrong with it."""
    try:
        return _parse_args(argv)
    except SetupError:
        raise
    except ValueError as error:  # the checks below, HfArgumentParser's unknown flags, an unknown preset
        raise SetupError(str(error)) from None


def _flag_actions(parser: HfArgumentParser) -> dict[str, argparse.Action]:
    """Each flag's own argparse action by name (not the ``--no_X`` switch a True default adds after it)."""
    actions: dict[str, argparse.Action] = {}
    for action in parser._actions:
        actions.setdefault(action.dest, action)
    return actions


def _typed_config_values(actions: dict[str, argparse.Action], values: dict[str, Any], path: str) -> dict[str, Any]:
    """The YAML values converted and checked as the command line's would be (type, choices; `actions` from
    :func:`_flag_actions`), so that a file cannot pass what the flag refuses; ``null`` only where the flag's default
    is None."""
    typed = {}
    for key, value in values.items():
        action = actions.get(key)
        if action is None or key == "config":
            typed[key] = value
            continue
        if value is None:
            if action.default is not None:
                raise ValueError(f"--config {path}: {key} cannot be null (the flag's default: {action.default!r})")
            typed[key] = None
            continue
        if isinstance(value, (list, dict)):
            raise ValueError(f"--config {path}: {key} takes one value, got {value!r}")
        converted = value
        takes_bool = action.type is string_to_bool
        if isinstance(value, bool) != takes_bool and not (takes_bool and value in (0, 1)):
            raise ValueError(f"--config {path}: {key}: invalid value {value!r}")  # `mae_epochs: true`, `flag: 3`
        if action.type is not None and not takes_bool:
            try:
                converted = action.type(str(value))
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise ValueError(f"--config {path}: {key}: invalid value {value!r}") from None
        if action.choices is not None and converted not in action.choices:
            choices = ", ".join(map(str, action.choices))
            raise ValueError(f"--config {path}: {key}: {value!r} is not one of {choices}")
        typed[key] = converted
    return typed


def _parse_args(argv: list[str] | None) -> TrainingArguments:
    argv = list(sys.argv[1:] if argv is None else argv)
    # no abbreviated flags: `--pres` would be taken for --preset by argparse but missed by the preset's defaults and
    # the checks that read the command line (a YAML file refuses such keys too); a short usage line above an error
    parser = HfArgumentParser(ARGUMENT_CLASSES, allow_abbrev=False, usage=USAGE)
    actions = _flag_actions(parser)
    own_defaults = {name: action.default for name, action in actions.items()}  # before the preset's and the file's
    path = _config_file(argv)
    values: dict[str, Any] = {}
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise ValueError(f"--config {path}: no such file")
        try:
            values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise ValueError(f"--config {path}: not valid YAML ({' '.join(str(error).split())})") from None
        if not isinstance(values, dict):
            raise ValueError(f"--config {path}: expected a mapping of flag: value, got {type(values).__name__}")
        unknown = sorted(set(values) - set(actions) - {"config"})
        if unknown:
            raise ValueError(f"--config {path}: unknown keys {unknown}; see `python train.py --help`")
        values = _typed_config_values(actions, values, path)
    # precedence: the flags' own defaults < the preset's training defaults < the YAML file < the command line
    preset = _flag_value(argv, "--preset") or values.get("preset")
    parser.set_defaults(**{**PRESET_TRAINING_DEFAULTS.get(preset, {}), **values})
    *groups, unknown = parser.parse_args_into_dataclasses(
        args=argv, look_for_args_file=False, return_remaining_strings=True
    )
    if unknown:
        raise ValueError(f"unknown flags or values: {' '.join(unknown)}; see `python train.py --help`")
    arguments = TrainingArguments(*groups)
    _check(arguments)
    # given: on the command line (either spelling), or in the file at another value than the flag's default (a
    # stage's own training_args.json records every flag and must still work as --config)
    in_file = {key for key, value in values.items() if value != own_defaults.get(key)}
    on_line = {arg[2:].split("=")[0].replace("-", "_") for arg in argv if arg.startswith("--")}
    _check_semi_supervised_flags(arguments, given=in_file | on_line)
    return arguments


def _check_semi_supervised_flags(arguments: TrainingArguments, given: set[str]) -> None:
    """The known-occluder flags only feed Deep SAD: given for a one-class detector, they would be silently unused."""
    unused = [name for name in SEMI_SUPERVISED_FLAGS if name in given]
    objective = arguments.detector.detector_config(arguments.common.preset).objective
    if unused and objective != "semi-supervised":
        flags = " and ".join(f"--{name}" for name in unused)
        raise ValueError(
            f"{flags} only apply to the semi-supervised detector (--detector_objective semi-supervised); the "
            f"one-class detector of --preset {arguments.common.preset} (objective {objective!r}) learns from clean "
            "faces only"
        )


# Per-stage flags and the range each must lie in: (lowest, highest, whether the lowest itself is allowed).
STAGE_FLAG_RANGES: dict[str, tuple[float, float, bool]] = {
    **{f"{stage}_epochs": (1, math.inf, True) for stage in STAGES},
    **{f"{stage}_batch_size": (1, math.inf, True) for stage in STAGES},
    **{
        name: (0.0, math.inf, False)
        for name in (
            "mae_base_learning_rate",
            "teacher_learning_rate",
            "detector_learning_rate",
            "reconstructor_learning_rate",
            "recognizer_learning_rate",
            "recognizer_gamma",
        )
    },  # fmt: skip
    **{
        name: (0.0, math.inf, True)
        for name in (
            "mae_weight_decay",
            "detector_weight_decay",
            "recognizer_weight_decay",
            "mae_warmup_epochs",
            "detector_warmup_epochs",
        )
    },  # fmt: skip
    "mae_mask_ratio": (0.0, 1.0, False),
    "reconstructor_beta1": (0.0, 1.0, True),
    "recognizer_momentum": (0.0, 1.0, True),
    "recognizer_step_size": (1, math.inf, True),
    "recognizer_occlusion_probability": (0.0, 1.0, True),
    "detector_nu": (0.0, 1.0, False),
    "detector_occlusion_probability": (0.0, 1.0, False),
    "learning_rate": (0.0, math.inf, False),
    "reconstructor_lambda_sc": (0.0, math.inf, True),
    "synthfer_train_size": (1, math.inf, True),
    "synthfer_validation_size": (1, math.inf, True),
}
# The flags that only the semi-supervised (Deep SAD) detector reads.
SEMI_SUPERVISED_FLAGS = ("detector_masks", "detector_occlusion_probability")
# Upper bounds that are themselves allowed (the others, e.g. a mask ratio of 1, leave nothing to train on).
INCLUSIVE_UPPER = {"recognizer_occlusion_probability", "detector_nu", "detector_occlusion_probability"}


def _check_range(flags: dict[str, Any], name: str) -> None:
    value = flags[name]
    if value is None:
        return
    low, high, low_allowed = STAGE_FLAG_RANGES[name]
    if not math.isfinite(value):
        raise ValueError(f"--{name} must be a finite number, got {value}")
    above = value >= low if low_allowed else value > low
    below = value <= high if name in INCLUSIVE_UPPER else value < high
    if not (above and below):
        if high == math.inf:
            raise ValueError(f"--{name} must be {'>=' if low_allowed else '>'} {low:g}, got {value}")
        opening, closing = "[" if low_allowed else "(", "]" if name in INCLUSIVE_UPPER else ")"
        raise ValueError(f"--{name} must be in {opening}{low:g}, {high:g}{closing}, got {value}")


def _check(arguments: TrainingArguments) -> None:
    common = arguments.common
    flags = arguments.to_dict()
    for name in STAGE_FLAG_RANGES:
        _check_range(flags, name)
    for name in ("detector_masks", "reconstructor_masks"):
        try:
            parse_protocols(flags[name])
        except ValueError as error:
            raise ValueError(f"--{name}: {error}") from None
    if common.preset not in PRESETS:
        raise ValueError(f"--preset {common.preset!r} is unknown; choose one of {sorted(PRESETS)}")
    try:
        arguments.detector.detector_config(common.preset)
    except ValueError as error:
        raise ValueError(f"the detector flags with --preset {common.preset}: {error}") from None
    if common.per_device_eval_batch_size < 1:
        raise ValueError(
            f"--per_device_eval_batch_size must be a positive integer, got {common.per_device_eval_batch_size}"
        )
    if common.dataloader_num_workers is not None and common.dataloader_num_workers < 0:
        raise ValueError(f"--dataloader_num_workers must be >= 0, got {common.dataloader_num_workers}")
    if common.cpu_threads < 0:
        raise ValueError(f"--cpu_threads must be >= 0 (0: this process's share of the cores), got {common.cpu_threads}")
    if not 0 <= common.seed < 2**32:
        raise ValueError(f"--seed must be in [0, 2**32), got {common.seed}")
    if Path(common.output_dir).exists() and not Path(common.output_dir).is_dir():
        raise ValueError(f"--output_dir {common.output_dir} is a file, not a folder")
    output = Path(common.output_dir).absolute()
    existing = next(folder for folder in (output, *output.parents) if folder.exists())  # what the run creates it in
    if not existing.is_dir():
        raise ValueError(f"--output_dir {common.output_dir}: cannot create it ({existing} is a file)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--output_dir {common.output_dir}: cannot write into {existing} (read-only or not permitted)")
    init_from = arguments.mae.init_from
    if init_from and init_from.startswith(("/", ".", "~")) and not Path(init_from).expanduser().is_dir():
        raise ValueError(f"--init_from {init_from}: no such folder (give an MAE checkpoint folder or a Hub id)")
    if arguments.recognizer.baseline and common.stage != "recognizer":
        raise ValueError("--baseline trains the plain CNN baseline: use it with --stage recognizer")
    for name in (
        "per_device_train_batch_size",
        "num_train_epochs",
        "max_train_steps",
        "checkpointing_steps",
        "checkpoints_total_limit",
    ):
        value = getattr(common, name)
        if value is not None and value < 1:
            raise ValueError(f"--{name} must be a positive integer, got {value}")
    if common.gradient_accumulation_steps < 1:
        raise ValueError(f"--gradient_accumulation_steps must be >= 1, got {common.gradient_accumulation_steps}")
    if common.data != "synthfer" and common.data_dir is None:
        raise ValueError(f"--data {common.data} needs --data_dir (the root of your copy of the data set)")
    if common.data == "synthfer" and common.data_dir is not None:
        raise ValueError(
            f"--data_dir {common.data_dir}: --data synthfer is generated, it reads no folder (give --data rafdb, "
            "affectnet, kdef or imagefolder to train on a copy of a data set)"
        )
    if common.push_to_hub and (common.stage not in ("all", "recognizer") or arguments.recognizer.baseline):
        raise ValueError(
            "--push_to_hub uploads the assembled system, which only --stage all and --stage recognizer (without "
            "--baseline) build"
        )
    if common.push_to_hub:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise ValueError("--push_to_hub needs the Hub, and HF_HUB_OFFLINE is set: nothing would be uploaded")
    if not common.output_dir.strip():
        raise ValueError("--output_dir is empty: name the folder the stages and the system go to")
    if common.hub_model_id is not None and not common.push_to_hub:
        raise ValueError(f"--hub_model_id {common.hub_model_id} names the repository of --push_to_hub: add it")
    if not 0.0 < common.validation_fraction < 1.0:
        raise ValueError(f"--validation_fraction must be in (0, 1), got {common.validation_fraction}")
    if common.learning_rate is not None and common.learning_rate <= 0:
        raise ValueError(f"--learning_rate must be positive, got {common.learning_rate}")
    if (
        arguments.reconstructor.reconstructor_lambda_sc is not None
        and arguments.reconstructor.reconstructor_lambda_sc < 0
    ):
        raise ValueError(
            f"--reconstructor_lambda_sc must be >= 0, got {arguments.reconstructor.reconstructor_lambda_sc}"
        )
    _check_ablation(common, arguments.recognizer)


def _check_ablation(common: CommonArguments, own: RecognizerArguments) -> None:
    changed = [flag for flag, default in ABLATION_FLAGS.items() if getattr(own, flag) != default]
    if own.ablation is None:
        if changed:
            raise ValueError(f"--{changed[0]} makes a Table 10 variant: name it with --ablation NAME")
        return
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", own.ablation):
        raise ValueError(f"--ablation {own.ablation!r}: use letters, digits, '_', '-' and '.' (it names folders)")
    if own.baseline or common.stage != "recognizer":
        raise ValueError("--ablation trains a recogniser variant: use it with --stage recognizer, without --baseline")
    if own.recognizer_mask != "detected" and not own.recognizer_reconstruction:
        raise ValueError("--recognizer_mask chooses what is filled: it needs --recognizer_reconstruction true")
    if own.recognizer_latents == "none" and not own.recognizer_cnn_features:
        raise ValueError("--recognizer_latents none with --recognizer_cnn_features false leaves no features")


__all__ = [
    "ABLATION_FLAGS",
    "SetupError",
    "ARGUMENT_CLASSES",
    "CommonArguments",
    "DATA_SOURCES",
    "DetectorArguments",
    "MAEArguments",
    "RecognizerArguments",
    "ReconstructorArguments",
    "STAGES",
    "TeacherArguments",
    "TrainingArguments",
    "parse_args",
    "stage_flags",
]
