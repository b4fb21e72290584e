"""How many CPU threads a training process uses."""

from __future__ import annotations

import os

import torch


def cores_per_process(processes: int) -> int:
    """The CPU cores this process may run on, shared evenly by ``processes`` training processes on this machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores // max(1, processes))


def local_processes(num_processes: int) -> int:
    """Training processes on this machine: the launcher's ``LOCAL_WORLD_SIZE``, else every process of the run."""
    return int(os.environ.get("LOCAL_WORLD_SIZE", num_processes))


def set_cpu_threads(requested: int, num_processes: int) -> int:
    """``torch.set_num_threads``: ``requested``, or with 0 this process's share of the cores. ``OMP_NUM_THREADS`` is
    not read: ``accelerate launch`` sets it to 1 unless told otherwise, which would leave all but one core idle."""
    threads = requested or cores_per_process(local_processes(num_processes))
    torch.set_num_threads(threads)
    return threads


__all__ = ["cores_per_process", "local_processes", "set_cpu_threads"]
