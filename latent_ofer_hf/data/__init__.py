"""Data: FER data-set loaders, the paper's occlusion protocols as transforms, and the SynthFER generator.

- ``loaders``: RAF-DB, AffectNet 7/8, KDEF, FED-RO, Occlusion-RAF-DB / -AffectNet lists, ImageFolder → ``datasets``.
- ``occlusion``: random-patch, Grad-CAM occlusion, free-form masks, object paste (image + pixel and patch masks).
- ``synthfer``: the offline procedural benchmark, with ``seen`` / ``unseen`` occluder families.
"""

from .loaders import (
    LoadReport,
    load_affectnet,
    load_fedro,
    load_image_folder,
    load_kdef,
    load_occlusion_affectnet,
    load_occlusion_rafdb,
    load_rafdb,
)
from .occlusion import (
    GradCAM,
    ObjectPaste,
    OcclusionResult,
    as_dataset_transform,
    free_form_occlusion,
    grad_occlusion,
    paste_occluder,
    random_patch_occlusion,
)
from .synthfer import load_synthfer, synthfer_dataset, synthfer_sample

__all__ = [
    "GradCAM",
    "LoadReport",
    "ObjectPaste",
    "OcclusionResult",
    "as_dataset_transform",
    "free_form_occlusion",
    "grad_occlusion",
    "load_affectnet",
    "load_fedro",
    "load_image_folder",
    "load_kdef",
    "load_occlusion_affectnet",
    "load_occlusion_rafdb",
    "load_rafdb",
    "load_synthfer",
    "paste_occluder",
    "random_patch_occlusion",
    "synthfer_dataset",
    "synthfer_sample",
]
