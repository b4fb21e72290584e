"""What every stage shares: the Accelerator, the stage's folders, checkpoints with exact resume, seeds, logging.

Exact resume rests on three things (measured, see docs/training.md): a seedable sampler re-seeded every epoch
(``set_epoch``), skipping the batches an interrupted epoch already used, and no draw from the global RNG inside a
step — every random choice comes from a generator seeded by (seed, epoch, sample) in the data or by
(seed, step, rank) in the loop.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from safetensors import SafetensorError
from tqdm.auto import tqdm

from .arguments import STAGES, CommonArguments, SetupError, stage_flags
from .cards import write_component_card
from .cpu import local_processes
from .data import FaceSplits, load_face_splits
from .output_folder import DONE_FILE

STATE_FILE = "train_state.json"


def make_accelerator(common: CommonArguments) -> Accelerator:
    """One Accelerator for the whole run (its state is a process-wide singleton). Mixed precision, the number of
    processes and the distributed backend come from ``accelerate launch`` / ``accelerate config``."""
    log_with = None
    if common.report_to == "tensorboard":
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise SetupError("--report_to tensorboard needs tensorboard: pip install 'latent-ofer-hf[train]'") from None
        log_with = "tensorboard"
    output = Path(common.output_dir)
    accelerator = Accelerator(
        gradient_accumulation_steps=common.gradient_accumulation_steps,
        log_with=log_with,
        project_config=ProjectConfiguration(project_dir=str(output), logging_dir=str(output / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True),
    )
    if log_with is not None:
        accelerator.init_trackers("latent-ofer")
    return accelerator


@dataclass
class StageSettings:
    """A stage's resolved schedule: its defaults, overridden by the common flags that were given."""

    batch_size: int
    learning_rate: float
    epochs: int
    max_steps: int | None
    workers: int = 0  # data loading worker processes per training process

    @classmethod
    def resolve(
        cls, common: CommonArguments, batch_size: int, learning_rate: float, epochs: int, *, workers: int = 0
    ) -> StageSettings:
        """``workers``: the stage's own loader workers when its process is the machine's only training process (with
        several, their threads already share the cores: none), unless ``--dataloader_num_workers`` is given."""
        if common.dataloader_num_workers is not None:
            workers = common.dataloader_num_workers
        elif local_processes(1) > 1:
            workers = 0
        return cls(
            batch_size=common.per_device_train_batch_size or batch_size,
            learning_rate=common.learning_rate if common.learning_rate is not None else learning_rate,
            epochs=common.num_train_epochs or epochs,
            max_steps=common.max_train_steps,
            workers=workers,
        )

    def total_steps(self, batches_per_epoch: int, accumulation: int) -> int:
        """Optimizer steps of the whole stage (the schedulers' horizon)."""
        per_epoch = max(1, math.ceil(batches_per_epoch / accumulation))
        total = per_epoch * self.epochs
        return min(total, self.max_steps) if self.max_steps is not None else total

    def epochs_needed(self, batches_per_epoch: int, accumulation: int) -> int:
        per_epoch = max(1, math.ceil(batches_per_epoch / accumulation))
        return math.ceil(self.total_steps(batches_per_epoch, accumulation) / per_epoch)


@dataclass
class TrainState:
    """Where a stage is: written as JSON beside each checkpoint (plain values, never unpickled)."""

    epoch: int = 0
    batches_done: int = 0  # batches of `epoch` already trained
    global_step: int = 0  # optimizer steps
    best_metric: float | None = None
    best_epoch: int | None = None


class StageRun:
    """One stage's folders, checkpoints, resume, logging and progress bar.

    ``stages/<stage>/``: the best-validation component(s), ``training_args.json``, ``metrics.json``,
    ``data_report.json`` and ``stage_done.json`` once finished. ``checkpoints/<stage>/step_<n>/``:
    ``accelerator.save_state`` plus ``train_state.json``.
    """

    def __init__(self, accelerator: Accelerator, common: CommonArguments, stage: str, arguments: dict[str, Any]):
        if stage not in (*STAGES, "baseline") and not stage.startswith("ablation-"):
            raise ValueError(f"unknown stage {stage!r}")
        self.accelerator, self.common, self.stage = accelerator, common, stage
        self.arguments = arguments
        root = Path(common.output_dir)
        self.dir = root / "stages" / stage
        self.checkpoint_root = root / "checkpoints" / stage
        self.state = TrainState()
        self.history: list[dict[str, Any]] = []
        self._timed_samples, self._timed_seconds = 0, 0.0
        # the same global RNG at the start of a stage whether or not the earlier stages ran in this process
        set_seed(common.seed + (STAGES.index(stage) if stage in STAGES else len(STAGES)))
        if accelerator.is_main_process and not self.is_done():  # a finished stage keeps the arguments it ran with
            self.dir.mkdir(parents=True, exist_ok=True)
            (self.dir / "training_args.json").write_text(json.dumps(arguments, indent=2, default=str))

    # ------------------------------------------------------------------------------------------------- status
    def is_done(self) -> bool:
        return (self.dir / DONE_FILE).is_file()

    def skip_if_done(self) -> bool:
        """True when the stage already finished in this folder: said so, with the flags of this command that differ
        from the run's (they are not applied)."""
        if not self.is_done():
            return False
        self.accelerator.print(
            f"[{self.stage}] already trained ({self.dir / DONE_FILE}): kept as it is; delete {self.dir} to train it "
            f"again"
        )
        saved_file = self.dir / "training_args.json"
        saved = json.loads(saved_file.read_text()) if saved_file.is_file() else {}
        differ = [
            f"--{key} {self.arguments[key]} (the run's: {saved[key]})"
            for key in stage_flags(self.stage)
            if key in saved and key in self.arguments and json.dumps(saved[key]) != json.dumps(self.arguments[key])
        ]
        if differ:
            self.accelerator.print(f"[{self.stage}] not applied to it: {', '.join(differ)}")
        record = json.loads((self.dir / DONE_FILE).read_text())
        cap = record.get("max_train_steps")
        if cap is not None and record.get("global_step", 0) >= cap:
            self.accelerator.print(
                f"[{self.stage}] it stopped at --max_train_steps {cap}; to go on, delete {self.dir} (its checkpoints "
                f"in {self.checkpoint_root} stay) and run again with --resume_from_checkpoint latest and a larger "
                "--max_train_steps, then retrain the stages after it"
            )
        return True

    def require_batches(self, loader: Any, faces: int, batch_size: int) -> None:
        """A clear error when the training faces fill no whole batch (the stage would train nothing)."""
        if len(loader) == 0:
            raise SetupError(
                f"[{self.stage}] {faces} training faces give no whole batch of {batch_size} per process "
                f"({self.accelerator.num_processes} processes): lower the batch size or use more faces"
            )

    def mark_done(self, summary: dict[str, Any]) -> None:
        self.accelerator.wait_for_everyone()
        if self.accelerator.is_main_process:
            (self.dir / "metrics.json").write_text(json.dumps(self.history, indent=2))
            # the thread count and ATen's CPU kernel set (AVX2, AVX512, ...) affect a CPU run's float rounding
            run = {"train_samples_per_second": self.samples_per_second, "max_train_steps": self.common.max_train_steps,
                   "device": self.accelerator.device.type, "cpu_threads": torch.get_num_threads(),
                   "cpu_capability": torch.backends.cpu.get_cpu_capability()}  # fmt: skip
            (self.dir / DONE_FILE).write_text(json.dumps({**summary, **asdict(self.state), **run}, indent=2))

    def finish(self, components: dict[str, torch.nn.Module]) -> Path:
        """End the stage: save each component no epoch saved (a run resumed at its very end), write its card, mark
        the stage done; returns the first component's folder."""
        for name, model in components.items():
            if not (self.dir / name / "config.json").is_file():
                save_component(self.accelerator, model, self.dir / name)
            card = {"vit": "mae"}.get(name, name)
            write_component_card(
                self.accelerator, self.dir / name, card, self.common, self.state, self.arguments, self.stage
            )
        self.mark_done({"components": list(components)})
        return self.dir / next(iter(components))

    def faces(self) -> FaceSplits:
        """The run's train / validation faces; what loading skipped goes into ``data_report.json``."""
        splits = load_face_splits(self.common)
        self.write_json("data_report.json", splits.report)
        return splits

    def write_json(self, name: str, value: Any) -> None:
        if self.accelerator.is_main_process:
            (self.dir / name).write_text(json.dumps(value, indent=2, default=str))

    # --------------------------------------------------------------------------------------------- randomness
    def step_generator(self, device: torch.device | None = None) -> torch.Generator:
        """A generator for the random draws of the current step: seeded by (seed, stage, step, rank)."""
        generator = torch.Generator(device=device or "cpu")
        stage_index = STAGES.index(self.stage) if self.stage in STAGES else len(STAGES)
        entropy = [self.common.seed, stage_index, self.state.global_step, self.accelerator.process_index]
        generator.manual_seed(int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1))
        return generator

    # ------------------------------------------------------------------------------------------- checkpoints
    def _checkpoints(self) -> list[Path]:
        if not self.checkpoint_root.is_dir():
            return []
        found = [p for p in self.checkpoint_root.glob("step_*") if (p / STATE_FILE).is_file()]
        return sorted(found, key=lambda p: int(p.name.split("_")[1]))

    def resume(self) -> bool:
        """Load the checkpoint `--resume_from_checkpoint` names (``latest``: this stage's newest); False if none."""
        request = self.common.resume_from_checkpoint
        if request is None:
            if found := self._checkpoints():  # an interrupted run's progress: said, not silently trained over
                self.accelerator.print(
                    f"[{self.stage}] starting fresh, although {self.checkpoint_root} holds checkpoints of an earlier "
                    f"run (newest: {found[-1].name}): --resume_from_checkpoint latest continues from it; this run "
                    "writes its own checkpoints over them"
                )
            return False
        if request == "latest":
            found = self._checkpoints()
            if not found:
                self.accelerator.print(f"[{self.stage}] no checkpoint in {self.checkpoint_root}: starting fresh")
                return False
            path = found[-1]
        else:
            path = Path(request)
            if not (path / STATE_FILE).is_file():
                raise SetupError(
                    f"--resume_from_checkpoint {request}: not a checkpoint of this script (no {STATE_FILE})"
                )
            if path.parent.name != self.stage:  # in --stage all, a checkpoint of another stage: this one starts fresh
                if self.common.stage != "all":
                    raise SetupError(
                        f"--resume_from_checkpoint {request}: a checkpoint of stage {path.parent.name!r}, not of "
                        f"--stage {self.common.stage}"
                    )
                self.accelerator.print(f"[{self.stage}] {path} is a checkpoint of {path.parent.name!r}: starting fresh")
                return False
        try:
            saved = json.loads((path / STATE_FILE).read_text())
            state, history = TrainState(**saved["state"]), list(saved["history"])
        except (OSError, ValueError, KeyError, TypeError) as error:  # a file cut short by a crash, or edited
            raise SetupError(
                f"--resume_from_checkpoint: {path / STATE_FILE} is damaged ({type(error).__name__}: {error}); delete "
                f"{path} to resume from an earlier checkpoint"
            ) from None
        self._check_resumable(path, saved)
        try:
            self.accelerator.load_state(str(path))
        except (OSError, RuntimeError, ValueError, KeyError, SafetensorError) as error:  # a file cut short or missing
            message = " ".join(str(error).split())[:300]
            raise SetupError(
                f"--resume_from_checkpoint: {path} cannot be loaded ({type(error).__name__}: {message}); delete it to "
                "resume from an earlier checkpoint"
            ) from None
        self.state, self.history = state, history
        self.accelerator.print(
            f"[{self.stage}] resumed from {path} (epoch {self.state.epoch}, "
            f"batch {self.state.batches_done}, step {self.state.global_step})"
        )
        return True

    def _resume_flags(self) -> dict[str, Any]:
        """The flags a resumed run must share with its checkpoint's (``--max_train_steps`` may change: stopping a run
        early and going on is what it is for)."""
        return {key: self.arguments[key] for key in stage_flags(self.stage)
                if key in self.arguments and key != "max_train_steps"}  # fmt: skip

    def _check_resumable(self, path: Path, saved: dict[str, Any]) -> None:
        """Refuse a resume the checkpoint cannot continue exactly: another process count (the batch position and the
        per-process random states are those of its run) or other flags (the rest of the stage would train with
        them, and its record would claim them for the whole run)."""
        processes = saved.get("num_processes")
        if processes is not None and processes != self.accelerator.num_processes:
            raise SetupError(
                f"--resume_from_checkpoint {path}: written by a run of {processes} process(es), resumed with "
                f"{self.accelerator.num_processes}: resume it with {processes} (its batch position and random states "
                "are per process)"
            )
        flags = saved.get("flags", {})
        differ = [
            f"--{key} {self.arguments[key]} (the run's: {flags[key]})"
            for key, value in self._resume_flags().items()
            if key in flags and json.dumps(flags[key], default=str) != json.dumps(value, default=str)
        ]
        if differ:
            raise SetupError(
                f"--resume_from_checkpoint {path}: not the flags of its run: {', '.join(differ)}; resume with the "
                "run's flags, or delete the checkpoints to train afresh with these"
            )

    def save_checkpoint(self) -> None:
        """``save_state`` on every process (random states are per process), the train state on the main one."""
        path = self.checkpoint_root / f"step_{self.state.global_step}"
        self.accelerator.wait_for_everyone()
        self.accelerator.save_state(str(path))
        if self.accelerator.is_main_process:
            record = {"state": asdict(self.state), "history": self.history, "flags": self._resume_flags(),
                      "num_processes": self.accelerator.num_processes}  # fmt: skip
            (path / STATE_FILE).write_text(json.dumps(record, default=str))
            limit = self.common.checkpoints_total_limit
            if limit is not None:
                for old in self._checkpoints()[:-limit]:
                    shutil.rmtree(old, ignore_errors=True)
        self.accelerator.wait_for_everyone()

    def after_optimizer_step(self) -> bool:
        """Count the step, checkpoint when due; True when the stage should stop (``--max_train_steps``)."""
        self.state.global_step += 1
        every = self.common.checkpointing_steps
        if every is not None and self.state.global_step % every == 0:
            self.save_checkpoint()
        return self.common.max_train_steps is not None and self.state.global_step >= self.common.max_train_steps

    # ---------------------------------------------------------------------------------------------- the loop
    def epochs(self, num_epochs: int) -> Iterator[int]:
        """The epochs still to run (from the resumed one)."""
        for epoch in range(self.state.epoch, num_epochs):
            if self.common.max_train_steps is not None and self.state.global_step >= self.common.max_train_steps:
                return
            self.state.epoch = epoch
            yield epoch
            self.state.epoch, self.state.batches_done = epoch + 1, 0

    def batches(self, dataloader: Any, epoch: int) -> Iterator[Any]:
        """The epoch's batches in a reproducible order, skipping those a resumed epoch already trained."""
        dataloader.set_epoch(epoch)
        dataset = getattr(dataloader, "dataset", None)
        if hasattr(dataset, "set_epoch"):
            dataset.set_epoch(epoch)
        loader = dataloader
        if self.state.batches_done:
            loader = self.accelerator.skip_first_batches(dataloader, self.state.batches_done)
        # the other processes draw no bar; the main one's follows tqdm's own settings (TQDM_DISABLE=1 turns it off)
        quiet = {} if self.accelerator.is_local_main_process else {"disable": True}
        bar = tqdm(total=len(dataloader), initial=self.state.batches_done, desc=f"{self.stage} epoch {epoch}",
                   leave=False, **quiet)  # fmt: skip
        started = None
        try:
            for index, batch in enumerate(loader):
                if index == 1:  # the first batch of an epoch warms up (workers, allocations): timed from the second
                    started = time.perf_counter()
                if index >= 1:
                    self._timed_samples += self._samples_in(batch)
                self.state.batches_done += 1  # counted before the step, so a checkpoint taken in it resumes after it
                yield batch
                bar.update(1)
        finally:
            if started is not None:
                self._timed_seconds += time.perf_counter() - started
            bar.close()

    def _samples_in(self, batch: Any) -> int:
        first = next(iter(batch.values())) if isinstance(batch, dict) else batch[0]
        return int(first.shape[0]) * self.accelerator.num_processes

    @property
    def samples_per_second(self) -> float | None:
        """Training faces per second over every process (data loading and steps; validation excluded)."""
        return self._timed_samples / self._timed_seconds if self._timed_seconds > 0 else None

    def log(self, values: dict[str, float | None], *, epoch_end: bool = False) -> None:
        """Log (and at an epoch's end record and print) the values; None ones are left out (e.g. a training loss of
        an epoch a resume found already trained)."""
        values = {f"{self.stage}/{key}": float(value) for key, value in values.items() if value is not None}
        self.accelerator.log(values, step=self.state.global_step)
        if epoch_end:
            self.history.append({"epoch": self.state.epoch, "step": self.state.global_step, **values})
            shown = ", ".join(f"{key.split('/', 1)[1]} {value:.4g}" for key, value in values.items())
            self.accelerator.print(f"[{self.stage}] epoch {self.state.epoch}: {shown}")

    def is_better(self, metric: float, higher_is_better: bool) -> bool:
        """Record a validation metric; True when it is the best so far (the weights to keep)."""
        best = self.state.best_metric
        better = best is None or (metric > best if higher_is_better else metric < best)
        if better:
            self.state.best_metric, self.state.best_epoch = float(metric), self.state.epoch
        return better


def epoch_means(accelerator: Accelerator, sums: torch.Tensor, count: int) -> list[float] | None:
    """The epoch's mean training losses over every process (``sums`` of ``count`` batches per process), or None when
    this run trained no batch of the epoch (resumed at its end: nothing to average, rather than a false 0)."""
    means = (accelerator.reduce(sums.reshape(-1), reduction="mean") / max(count, 1)).tolist()  # collective: always
    return means if count else None


def make_loader(
    dataset: torch.utils.data.Dataset, batch_size: int, *, train: bool, workers: int
) -> torch.utils.data.DataLoader:
    """Training: shuffled (accelerate makes the sampler seedable), whole batches only (BatchNorm); validation: in
    order, every face. With worker processes the faces are decoded first, so the workers forked every epoch share
    them; the items do not depend on who prepares them (each draws from its own seeded generator)."""
    if workers > 0 and hasattr(dataset, "preload"):
        dataset.preload()
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=train, drop_last=train,
                                       num_workers=workers)  # fmt: skip


def set_learning_rate(optimizer: torch.optim.Optimizer, learning_rate: float) -> None:
    """Schedules are pure functions of the step or epoch, applied here: nothing to checkpoint, exact on resume."""
    for group in optimizer.param_groups:
        group["lr"] = learning_rate


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """Factor of the base learning rate: linear warm-up over `warmup` steps, then a half cosine to 0 at `total`."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def previous_output(common: CommonArguments, stage: str, name: str) -> Path:
    """The component an earlier stage saved (``stages/<stage>/<name>``); a clear error when it is missing."""
    path = Path(common.output_dir) / "stages" / stage / name
    if not (path / "config.json").is_file():
        raise SetupError(
            f"stage {stage!r} has no output at {path}: run `--stage {stage}` first with the same "
            f"--output_dir (or `--stage all`)"
        )
    return path


def frozen(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """A module that is used but not trained: on the device, eval mode, no gradients, never `prepare`d (DDP
    refuses modules without trainable parameters)."""
    return model.to(device).eval().requires_grad_(False)


def maybe_sync_batchnorm(accelerator: Accelerator, model: torch.nn.Module) -> torch.nn.Module:
    """SyncBatchNorm on multi-GPU runs only (it fails on CPU/gloo)."""
    if accelerator.num_processes > 1 and accelerator.device.type == "cuda":
        return torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return model


def save_component(accelerator: Accelerator, model: torch.nn.Module, directory: Path) -> None:
    """``unwrap_model`` + ``save_pretrained`` on the main process (safetensors)."""
    accelerator.wait_for_everyone()
    unwrapped = accelerator.unwrap_model(model)
    unwrapped.save_pretrained(directory, is_main_process=accelerator.is_main_process, save_function=accelerator.save)
    accelerator.wait_for_everyone()


__all__ = [
    "cosine_with_warmup",
    "make_loader",
    "frozen",
    "maybe_sync_batchnorm",
    "previous_output",
    "set_learning_rate",
    "StageRun",
    "StageSettings",
    "TrainState",
    "make_accelerator",
    "save_component",
]
