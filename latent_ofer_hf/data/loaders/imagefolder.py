"""Class-per-folder loader (the torchvision ``ImageFolder`` layout) with expression names as folder names."""

from __future__ import annotations

from pathlib import Path

import datasets

from ...models.common.labels import LabelOrder, canonical_label
from .common import IMAGE_EXTENSIONS, LoadReport, PathLike, Sample, build_dataset, finish, require_dir


def _mask_for(image: Path, root: Path, masks_root: Path) -> Path:
    """``masks_root/<class>/<stem>.<ext>`` for the first existing image extension (.png first), else the .png path."""
    relative = image.relative_to(root).with_suffix("")
    candidates = [
        masks_root / relative.with_name(relative.name + ext)
        for ext in (".png", *(e for e in IMAGE_EXTENSIONS if e != ".png"))
    ]
    return next((c for c in candidates if c.is_file()), candidates[0])


def load_image_folder(
    root: PathLike,
    label_order: LabelOrder = "rafdb",
    *,
    masks_root: PathLike | None = None,
    check_images: str | bool = "verify",
    drop_unmapped: bool = False,
    return_report: bool = False,
) -> datasets.Dataset | tuple[datasets.Dataset, LoadReport]:
    """Load ``root/<class name>/**/*.{jpg,jpeg,png,bmp,webp}`` as a Dataset (columns image, label, class_name).

    Class folder names go through ``canonical_label`` ("Happiness", "anger", "surprised" are fine); an unknown
    folder name raises ValueError naming the folder. Hidden entries (".name") are ignored; other files are skipped
    and counted. Order: sorted by path. With ``masks_root``, each image needs a mask at
    ``masks_root/<class name>/<same relative path, any image extension>`` (255 = occluded, as SynthFER's
    ``pixel_mask``), loaded into a ``pixel_mask`` Image column; an image without a readable mask is skipped.
    """
    root = require_dir(root, "image folder root")
    masks = None if masks_root is None else require_dir(masks_root, "occlusion mask directory")
    report = LoadReport()
    samples = []
    class_dirs = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if not entry.is_dir():
            report.skip(entry, "file outside a class folder")
            continue
        try:
            class_dirs.append((entry, canonical_label(entry.name)))
        except ValueError as error:
            raise ValueError(f"class folder {entry} is not an expression name: {error}") from None
    if not class_dirs:
        raise ValueError(f"image folder root {root} has no class folders (expected root/<expression name>/<images>)")
    for folder, label in class_dirs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if any(part.startswith(".") for part in path.relative_to(root).parts):
                continue
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                report.skip(path, f"not an image file extension ({', '.join(IMAGE_EXTENSIONS)})")
                continue
            meta = {"class_name": folder.name}
            if masks is not None:
                meta["pixel_mask"] = _mask_for(path, root, masks)
            samples.append(Sample(path=path, label=label, where=str(path), meta=meta))
    features = {"class_name": datasets.Value("string")}
    if masks is not None:
        features["pixel_mask"] = datasets.Image()
    dataset = build_dataset(
        samples,
        label_order=label_order,
        meta_features=features,
        report=report,
        check_images=check_images,
        drop_unmapped=drop_unmapped,
        name=f"image folder {root}",
        mask_column=None if masks is None else "pixel_mask",
    )
    return finish(dataset, report, return_report)
