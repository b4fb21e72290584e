"""Training throughput per stage: faces per second of `train.py`, one process and two (gloo on the CPU).

    python benchmarks/train_throughput.py [--presets tiny] [--steps 8] [--batch 4] [--processes 1 2]
                                          [--cpu_threads 0] [--workers 0] [--stages mae ...]

Each stage runs `--steps` optimizer steps from the same prerequisites (the earlier stages trained for one step
first) and reports the `train_samples_per_second` its run measured itself: faces over every process per second of
its training loop (data loading and steps; the first batch, start-up and validation excluded). The machine is
printed; compare the figures of one run with each other, not with other days. ``--cpu_threads 1 2`` runs every stage
with each thread count per process (0, the default: train.py's own, the process's share of the cores) and prints
the ratios of the last count to the first; ``--workers 0 1`` does the same with data loading worker processes
(`--dataloader_num_workers`).
Last line: `train_faces_per_s <preset>:<processes>:<stage>=<float> ...` (`<processes>x<threads>` for a count given,
`...w<workers>` for several worker counts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from itertools import product
from pathlib import Path

from _common import machine, positive_int, preset_names

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("mae", "teacher", "detector", "reconstructor", "recognizer")


def _port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _run(processes: int, args: list[str]) -> float:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCELERATE_")}
    env.update({"HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "PYTHONPATH": str(ROOT)})
    command = [sys.executable, str(ROOT / "train.py"), *args]
    if processes > 1:
        env["ACCELERATE_USE_CPU"] = "1"
        command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                   str(processes), "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                   "--main_process_port", str(_port()), str(ROOT / "train.py"), *args]  # fmt: skip
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if result.returncode:
        raise SystemExit(f"train.py failed:\n{result.stderr[-4000:]}")
    return time.perf_counter() - started


def _label(processes: int, threads: int, workers: int | None = None) -> str:
    """``2``, ``2x1`` for two processes of one thread each (a thread count given), ``2x1w1`` with one data loading
    worker each (several worker counts compared)."""
    label = f"{processes}x{threads}" if threads else str(processes)
    return label if workers is None else f"{label}w{workers}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["tiny"], choices=preset_names())
    parser.add_argument("--steps", type=positive_int, default=8, help="optimizer steps per stage")
    parser.add_argument("--batch", type=positive_int, default=4, help="per-process batch size")
    parser.add_argument("--processes", nargs="+", type=positive_int, default=[1, 2])
    parser.add_argument("--cpu_threads", nargs="+", type=int, default=[0], help="threads per process, 0: train.py's")
    parser.add_argument("--workers", nargs="+", type=int, default=[0], help="data loading workers per process")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES, help="the stages measured")
    args = parser.parse_args(argv)
    print(machine())
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        for preset in args.presets:
            faces = args.batch * max(args.processes) * (args.steps + 2)
            batch = str(args.batch)
            common = ["--preset", preset, "--data", "synthfer", "--synthfer_train_size", str(faces),
                      "--synthfer_validation_size", str(2 * args.batch), "--per_device_train_batch_size", batch,
                      "--per_device_eval_batch_size", batch, "--num_train_epochs", "1"]  # fmt: skip
            base = Path(scratch) / preset
            _run(1, [*common, "--stage", "all", "--max_train_steps", "1", "--output_dir", str(base)])
            several = len(args.workers) > 1
            stages = [stage for stage in STAGES if stage in args.stages]
            # the counts compared run side by side, stage by stage, so that a machine slowing down shows in both
            for processes, stage, threads, workers in product(args.processes, stages, args.cpu_threads, args.workers):
                run = _label(processes, threads, workers if several else None)
                folder = Path(scratch) / f"{preset}-{run}-{stage}"
                shutil.copytree(base / "stages", folder / "stages")
                for later in STAGES[STAGES.index(stage) :]:
                    shutil.rmtree(folder / "stages" / later)
                _run(processes, [*common, "--stage", stage, "--max_train_steps", str(args.steps),
                                 "--cpu_threads", str(threads), "--dataloader_num_workers", str(workers),
                                 "--output_dir", str(folder)])  # fmt: skip
                done = json.loads((folder / "stages" / stage / "stage_done.json").read_text())
                rate = done["train_samples_per_second"]
                if rate is None:  # nothing trained (a detector with the identity projector is only fitted)
                    print(f"{preset:<6} {run} process(es)  {stage:<14} trains nothing (fitted in passes)")
                    continue
                results[f"{preset}:{run}:{stage}"] = rate
                print(
                    f"{preset:<6} {processes} process(es), {done['cpu_threads']} thread(s), {workers} worker(s) each  "
                    f"{stage:<14} "
                    f"{rate:8.2f} faces/s  (batch {args.batch} per process, {args.steps} steps)"
                )
            first, last = args.cpu_threads[0], args.cpu_threads[-1]
            for processes, workers, stage in product(args.processes if first != last else [], args.workers, STAGES):
                keys = [f"{preset}:{_label(processes, t, workers if several else None)}:{stage}" for t in (first, last)]
                if all(key in results for key in keys):
                    ratio = results[keys[1]] / results[keys[0]]
                    print(f"{preset:<6} {processes} process(es)  {stage:<14} {last} vs {first} threads: {ratio:.2f}x")
            first, last = args.workers[0], args.workers[-1]
            for processes, threads, stage in product(args.processes if several else [], args.cpu_threads, STAGES):
                keys = [f"{preset}:{_label(processes, threads, w)}:{stage}" for w in (first, last)]
                if all(key in results for key in keys):
                    ratio = results[keys[1]] / results[keys[0]]
                    print(f"{preset:<6} {processes} process(es)  {stage:<14} {last} vs {first} workers: {ratio:.2f}x")
    print("train_faces_per_s " + " ".join(f"{key}={value:.3f}" for key, value in results.items()))


if __name__ == "__main__":
    main()
