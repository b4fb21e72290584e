"""The shipped demo checkpoint and what every place that shows its predictions must say about it.

``DEMO_CHECKPOINT`` is the folder of the whole system trained by ``train.py --preset demo --data synthfer``
(docs/RESULTS.md), installed with the package: ``pipeline("occluded-fer", model=latent_ofer_hf.DEMO_CHECKPOINT)``.
"""

from __future__ import annotations

from pathlib import Path

from .synthetic_notice import SYNTHETIC_DATA_NOTICE, synthetic_data_notice

#: the demo system's folder (config.json + vit/ detector/ reconstructor/ recognizer/, safetensors)
DEMO_CHECKPOINT = str(Path(__file__).resolve().parent / "demo")


def demo_checkpoint_available() -> bool:
    """True when the demo system's weights are installed (a source checkout before its first export has none)."""
    return (Path(DEMO_CHECKPOINT) / "config.json").is_file()


__all__ = ["DEMO_CHECKPOINT", "SYNTHETIC_DATA_NOTICE", "demo_checkpoint_available", "synthetic_data_notice"]
