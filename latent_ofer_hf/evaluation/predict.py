"""`latent-ofer predict --data …`: batch prediction over a data set, one row per face, in one process or many.

The faces are those `latent-ofer evaluate` sees (any loader of the data module, any occlusion protocol). Under
``accelerate launch`` each process predicts its share and the rows are gathered (``gather_for_metrics``), then written
once, sorted by face index, so the file equals a one-process run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator

from .evaluate import EvaluationFaces, EvaluationSpec, load_system

OUTPUT_FORMATS = (".parquet", ".jsonl")


def check_output_path(output: str | Path) -> Path:
    """The output file; a clear error for an unknown suffix or a folder."""
    path = Path(output)
    if path.suffix not in OUTPUT_FORMATS:
        raise ValueError(f"--output {output}: the file must end in one of {OUTPUT_FORMATS}")
    if path.is_dir():
        raise ValueError(f"--output {output} is a folder; give a file name")
    return path


class _Indexed(torch.utils.data.Dataset):
    def __init__(self, faces: EvaluationFaces):
        self.faces = faces

    def __len__(self) -> int:
        return len(self.faces)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"index": torch.tensor(index), **self.faces[index]}


def image_files(rows: Any, data_dir: str | None) -> list[str | None] | None:
    """Each row's image file (relative to ``data_dir`` when inside it), read without decoding; None for data sets
    whose images are not files (SynthFER draws them in memory)."""
    import datasets

    if not isinstance(getattr(rows, "features", {}).get("image"), datasets.Image):
        return None
    paths = [cell["path"] for cell in rows.cast_column("image", datasets.Image(decode=False))["image"]]
    if not any(paths):
        return None
    root = Path(data_dir).resolve() if data_dir else None

    def shown(path: str | None) -> str | None:
        if path is None or root is None:
            return path
        resolved = Path(path).resolve()
        return resolved.relative_to(root).as_posix() if resolved.is_relative_to(root) else path

    return [shown(path) for path in paths]


@torch.no_grad()
def predict_dataset(
    spec: EvaluationSpec, output: str | Path, accelerator: Accelerator | None = None
) -> dict[str, list[Any]]:
    """Predict every face of `spec`'s split; write `output` (``.parquet`` or ``.jsonl``) on the main process and
    return its columns: index, file (the image file, relative to the data folder; only for data sets read from
    files), label (the data set's), prediction, score, scores (per class, the model's label order),
    occlusion_ratio, occlusion_mask (the flagged patches, row-major)."""
    path = check_output_path(output)
    accelerator = accelerator or Accelerator()
    model = load_system(spec.model).to(accelerator.device)
    evaluation_faces = EvaluationFaces(spec)
    faces = _Indexed(evaluation_faces)
    loader = accelerator.prepare(torch.utils.data.DataLoader(faces, batch_size=spec.batch_size))
    parts: dict[str, list[torch.Tensor]] = {}
    for batch in loader:
        out = model(batch["pixel_values"], reconstruction=spec.reconstruction, return_dict=True)
        values = {
            "index": batch["index"],
            "label": batch["labels"],
            "probabilities": out.logits.float().softmax(-1),
            "occlusion_ratio": out.occlusion_ratio.float(),
            "occlusion_mask": out.patch_mask.reshape(len(batch["index"]), -1),
        }
        for key, value in accelerator.gather_for_metrics(values).items():
            parts.setdefault(key, []).append(value.cpu())
    joined = {key: torch.cat(value) for key, value in parts.items()}
    order = joined["index"].argsort()
    joined = {key: value[order] for key, value in joined.items()}
    names = [model.config.id2label[i] for i in range(len(model.config.id2label))]
    probabilities = joined["probabilities"]
    columns: dict[str, list[Any]] = {"index": joined["index"].tolist()}
    if (files := image_files(evaluation_faces.rows, spec.data_dir)) is not None:
        columns["file"] = [files[index] for index in columns["index"]]
    columns |= {
        "label": [names[i] for i in joined["label"].tolist()],
        "prediction": [names[i] for i in probabilities.argmax(-1).tolist()],
        "score": probabilities.max(-1).values.tolist(),
        "scores": [dict(zip(names, row, strict=True)) for row in probabilities.tolist()],
        "occlusion_ratio": joined["occlusion_ratio"].tolist(),
        "occlusion_mask": joined["occlusion_mask"].bool().tolist(),
    }
    if accelerator.is_main_process:
        import datasets

        path.parent.mkdir(parents=True, exist_ok=True)
        table = datasets.Dataset.from_dict(columns)
        if path.suffix == ".parquet":
            table.to_parquet(str(path))
        else:
            table.to_json(str(path), lines=True)
    accelerator.wait_for_everyone()
    return columns


__all__ = ["OUTPUT_FORMATS", "check_output_path", "image_files", "predict_dataset"]
