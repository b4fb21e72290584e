"""SynthFER: a procedural face-expression data set with ground-truth occlusion masks and held-out occluders."""

from .dataset import load_synthfer, synthfer_dataset, synthfer_features
from .expressions import ACTION_UNITS, sample_action_units
from .generate import OCCLUSION_MODES, SPLITS, SynthFERSample, synthfer_batch, synthfer_sample
from .occluders import OCCLUDER_FAMILIES, SEEN_OCCLUDERS, UNSEEN_OCCLUDERS, OccluderFamily

__all__ = [
    "ACTION_UNITS",
    "OCCLUDER_FAMILIES",
    "OCCLUSION_MODES",
    "OccluderFamily",
    "SEEN_OCCLUDERS",
    "SPLITS",
    "SynthFERSample",
    "UNSEEN_OCCLUDERS",
    "load_synthfer",
    "sample_action_units",
    "synthfer_batch",
    "synthfer_dataset",
    "synthfer_features",
    "synthfer_sample",
]
