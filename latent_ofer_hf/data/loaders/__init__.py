"""Loaders for the facial-expression data sets Latent-OFER trains and evaluates on, each returning a
``datasets.Dataset`` with ``image`` (``datasets.Image``) and ``label`` (``datasets.ClassLabel`` in the label order the
caller asks for, converted by name) plus per-data-set metadata columns.

Unreadable or missing images are skipped and counted (``return_report=True`` → ``(dataset, LoadReport)``); a
missing root or list file raises FileNotFoundError; a bad label or malformed line raises ValueError naming
``file:line``.
"""

from __future__ import annotations

from .affectnet import AFFECTNET_CODES, load_affectnet
from .common import IMAGE_EXTENSIONS, LoadReport, image_problem
from .fedro import load_fedro
from .imagefolder import load_image_folder
from .kdef import KDEF_EXPRESSIONS, KDEF_VIEWS, default_test_subjects, load_kdef
from .occlusion_lists import load_occlusion_affectnet, load_occlusion_rafdb
from .rafdb import RAFDB_CODES, load_rafdb

__all__ = [
    "AFFECTNET_CODES",
    "IMAGE_EXTENSIONS",
    "KDEF_EXPRESSIONS",
    "KDEF_VIEWS",
    "RAFDB_CODES",
    "LoadReport",
    "default_test_subjects",
    "image_problem",
    "load_affectnet",
    "load_fedro",
    "load_image_folder",
    "load_kdef",
    "load_occlusion_affectnet",
    "load_occlusion_rafdb",
    "load_rafdb",
]
