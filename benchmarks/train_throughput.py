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


def _key(preset: str, several: bool, processes: int, threads: int, workers: int, stage: str) -> str:
    """``<preset>:<label>:<stage>``, the name of a measured figure."""
    return f"{preset}:{_label(processes, threads, workers if several else None)}:{stage}"


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
    several = len(args.workers) > 1
    with tempfile.TemporaryDirectory() as scratch:
        for preset in args.presets:
            faces = args.batch * max(args.processes) * (args.steps + 2)
            batch = str(args.batch)
            common = ["--preset", preset, "--data", "synthfer", "--synthfer_train_size", str(faces),
                      "--synthfer_validation_size", str(2 * args.batch), "--per_device_train_batch_size", batch,
                      "--per_device_eval_batch_size", batch, "--num_train_epochs", "1"]  # fmt: skip
            base = Path(scratch) / preset
            _run(1, [*common, "--stage", "all", "--max_train_steps", "1", "--output_dir", str(base)])
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
                results[_key(preset, several, processes, threads, workers, stage)] = rate
                print(
                    f"{preset:<6} {processes} process(es), {done['cpu_threads']} thread(s), {workers} worker(s) each  "
                    f"{stage:<14} {rate:8.2f} faces/s  (batch {args.batch} per process, {args.steps} steps)"
                )
            # the last count of each compared dimension against its first, everything else equal
            for what, dimension, counts in (("threads", 1, args.cpu_threads), ("workers", 2, args.workers)):
                for point in product(args.processes, args.cpu_threads, args.workers, stages):
                    if counts[0] == counts[-1] or point[dimension] != counts[0]:
                        continue
                    pair = (
                        _key(preset, several, *point),
                        _key(preset, several, *point[:dimension], counts[-1], *point[dimension + 1 :]),
                    )
                    if all(name in results for name in pair):
                        ratio = results[pair[1]] / results[pair[0]]
                        print(f"{preset:<6} {point[0]} process(es)  {point[3]:<14} {counts[-1]} vs {counts[0]} "
                              f"{what}: {ratio:.2f}x")  # fmt: skip
    print("train_faces_per_s " + " ".join(f"{key}={value:.3f}" for key, value in results.items()))


if __name__ == "__main__":
    main()
