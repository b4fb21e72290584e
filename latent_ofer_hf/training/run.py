"""``train.py``'s body: parse the arguments, make one Accelerator, run the asked stages in order, assemble the system.

Stages communicate only through ``--output_dir``: each writes its best-validation component into
``stages/<stage>/`` and marks itself done, the next one loads what it needs from there; a finished stage is not run
again (resume a killed run with the same command plus ``--resume_from_checkpoint latest``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from accelerate import Accelerator
from transformers.utils import logging as transformers_logging

from ..evaluation.cards import card_results
from .arguments import STAGES, SetupError, TrainingArguments, parse_args
from .cpu import set_cpu_threads
from .output_folder import DONE_FILE, check_output_folder
from .runtime import make_accelerator
from .stage_detector import run_detector
from .stage_mae import run_mae
from .stage_recognizer import assemble_system, run_recognizer
from .stage_reconstructor import run_reconstructor
from .stage_teacher import run_teacher

STAGE_FUNCTIONS: dict[str, Callable[[Accelerator, TrainingArguments], Path]] = {
    "mae": run_mae,
    "teacher": run_teacher,
    "detector": run_detector,
    "reconstructor": run_reconstructor,
    "recognizer": run_recognizer,
}


def check_distributed_setup(accelerator: Accelerator) -> None:
    """DDP covers every stage (each model is at most ~90 M parameters); FSDP / DeepSpeed are refused clearly."""
    kind = accelerator.distributed_type.value if hasattr(accelerator.distributed_type, "value") else ""
    if kind in ("FSDP", "DEEPSPEED", "MEGATRON_LM", "XLA"):
        raise SetupError(
            f"train.py supports DDP (multi-GPU, multi-node, multi-CPU) and single-device runs, not {kind}: the "
            f"reconstructor stage trains two models at once, and every model here fits on one device; run "
            f"`accelerate config` and choose multi-GPU"
        )


def check_mixed_precision(accelerator: Accelerator) -> None:
    """fp16 needs a GPU: on the CPU accelerate keeps no GradScaler and no autocast, so `--mixed_precision fp16` would
    train in float32 without a word; refuse it there (bf16 autocasts on the CPU)."""
    if accelerator.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        raise SetupError(
            "--mixed_precision fp16 needs a GPU: on the CPU accelerate would silently train in float32; launch with "
            "--mixed_precision bf16 (CPU autocast) or no"
        )


def train(arguments: TrainingArguments) -> Path:
    """Run the stages ``--stage`` asks for; returns the output folder."""
    common = arguments.common
    stages = STAGES if common.stage == "all" else (common.stage,)
    done, warnings = check_output_folder(common, stages)
    output, own = Path(common.output_dir), arguments.recognizer
    # the system this run assembles (an --ablation variant's in ablations/NAME), and whether it trains anything
    system = output if own.ablation is None else output / "ablations" / own.ablation
    system_stage = "recognizer" if own.ablation is None else f"ablation-{own.ablation}"
    trains_nothing = (
        all(stage in done for stage in stages if stage != "recognizer")
        and (output / "stages" / system_stage / DONE_FILE).is_file()
    )
    assembles = "recognizer" in stages and not own.baseline
    kept = trains_nothing and (system / "config.json").is_file()
    accelerator = make_accelerator(common)
    for warning in warnings:
        accelerator.print(warning)
    check_distributed_setup(accelerator)
    check_mixed_precision(accelerator)
    threads = set_cpu_threads(common.cpu_threads, accelerator.num_processes)
    accelerator.print(
        f"latent-ofer train: stage {common.stage}, preset {common.preset}, data {common.data}, "
        f"num_processes {accelerator.num_processes}, cpu_threads {threads} per process, "
        f"mixed_precision {accelerator.mixed_precision}, device {accelerator.device}"
    )
    for stage in stages:
        if stage == "recognizer" and arguments.recognizer.baseline and common.stage == "all":
            continue  # --stage all trains the system; the baseline is its own run (--stage recognizer --baseline)
        STAGE_FUNCTIONS[stage](accelerator, arguments)
        accelerator.free_memory()
    if assembles and kept:  # nothing trained: its card keeps its results
        accelerator.print(f"nothing trained: the system in {system} is kept as it is, its card too")
        output = system
    elif assembles:
        measured = card_results(system)
        if measured:
            accelerator.print(
                f"the results in {system / 'README.md'} were measured on the earlier system: the new card has none "
                "(latent-ofer evaluate --write_card measures this one)"
            )
        output = assemble_system(accelerator, common, own)
        accelerator.print(f"the trained system is in {output} (pipeline('occluded-fer', model='{output}'))")
    if assembles and common.push_to_hub and accelerator.is_main_process:
        from ..models.latent_ofer import LatentOferModel

        LatentOferModel.from_pretrained(output).push_to_hub(common.hub_model_id or output.name)
    accelerator.end_training()
    return output


def main(argv: list[str] | None = None) -> Path:
    # transformers' per-load and per-save bars ("Loading weights", "Writing model shards") would fill the log
    bars = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:  # a bad flag, config file, data folder or output folder: one line, as argparse says it, not a traceback
        return train(parse_args(argv))
    except SetupError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    finally:
        if bars:
            transformers_logging.enable_progress_bar()


__all__ = ["STAGE_FUNCTIONS", "check_distributed_setup", "check_mixed_precision", "main", "train"]
