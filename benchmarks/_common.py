"""What every benchmark script shares: the machine line and checked command-line numbers."""

from __future__ import annotations

import argparse
import os
import platform
from pathlib import Path


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux, where ``platform.processor()`` is empty)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine() -> str:
    """``machine: <CPU model> (<arch>, N cores), <OS>, Python …, torch … (T threads)``, one line."""
    text = f"machine: {cpu_model()} ({platform.machine()}, {os.cpu_count()} cores), {platform.system()}, "
    text += f"Python {platform.python_version()}"
    try:
        import torch
    except ImportError:
        return text
    return f"{text}, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def positive_int(text: str) -> int:
    """An argparse type: a whole number ≥ 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def preset_names() -> list[str]:
    from latent_ofer_hf.presets import PRESETS

    return sorted(PRESETS)
