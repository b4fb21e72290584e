"""What every place that shows a SynthFER-trained model's predictions must say (the pipeline, the CLI, the Space)."""

from __future__ import annotations

from typing import Any

SYNTHETIC_DATA_NOTICE = (
    "This model was trained only on SynthFER, synthetic cartoon faces drawn by latent-ofer-hf (its offline data "
    "set): its predictions on real photos are not meaningful."
)


def synthetic_data_notice(config: Any) -> str | None:
    """The notice for a system trained on SynthFER (``config.training_data == "synthfer"``), else None."""
    return SYNTHETIC_DATA_NOTICE if getattr(config, "training_data", None) == "synthfer" else None


__all__ = ["SYNTHETIC_DATA_NOTICE", "synthetic_data_notice"]
