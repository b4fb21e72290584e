"""What every place that shows a SynthFER-trained model's predictions must say (the pipeline, the CLI, the Space)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from transformers.utils import logging as hf_logging

SYNTHETIC_DATA_NOTICE = (
    "This model was trained only on SynthFER, synthetic cartoon faces drawn by latent-ofer-hf (its offline data "
    "set): its predictions on real photos are not meaningful."
)


def synthetic_data_notice(config: Any) -> str | None:
    """The notice for a system trained on SynthFER (``config.training_data == "synthfer"``; a saved config.json's
    dict too), else None."""
    trained_on = config.get("training_data") if isinstance(config, dict) else getattr(config, "training_data", None)
    return SYNTHETIC_DATA_NOTICE if trained_on == "synthfer" else None


class _DropNotice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != SYNTHETIC_DATA_NOTICE


@contextlib.contextmanager
def notice_printed_by_caller() -> Iterator[None]:
    """For command lines that print the notice themselves, around building the pipeline: no second copy from the
    pipeline's log, and no "Loading weights" progress bar per component (other warnings still show)."""
    pipeline_logger = logging.getLogger("latent_ofer_hf.pipelines.pipeline_occluded_fer")
    drop, bars_were_on = _DropNotice(), hf_logging.is_progress_bar_enabled()
    pipeline_logger.addFilter(drop)
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        pipeline_logger.removeFilter(drop)
        if bars_were_on:
            hf_logging.enable_progress_bar()


__all__ = ["SYNTHETIC_DATA_NOTICE", "notice_printed_by_caller", "synthetic_data_notice"]
