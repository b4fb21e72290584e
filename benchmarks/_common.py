"""What every benchmark script shares: the machine line and checked command-line numbers."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from latent_ofer_hf.cli import whole_number_at_least


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


positive_int = whole_number_at_least(1)  # an argparse type: a whole number ≥ 1


def preset_names() -> list[str]:
    from latent_ofer_hf.presets import PRESETS

    return sorted(PRESETS)
