"""Training with Accelerate: ``accelerate launch train.py --stage {mae,teacher,detector,reconstructor,recognizer,all}``.

One module per stage (``stage_*.py``), each one linear story: arguments → data → models → ``accelerator.prepare`` →
loop → validation → save. ``runtime.py`` holds what they share (checkpoints and exact resume, seeds, logging).
"""

from .arguments import STAGES, TrainingArguments, parse_args
from .run import main, train

__all__ = ["STAGES", "TrainingArguments", "main", "parse_args", "train"]
