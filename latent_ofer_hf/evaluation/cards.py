"""Model cards from the `hub_cards/` templates: the `model-index` filled from `results.json` (one `EvalResult` per
data set × metric), with usage, the training command, limitations and licence notes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from hub_cards import TEMPLATES

from ..pipelines.model_source import looks_like_path

# results.json key → (metric type, metric name)
METRICS = {
    ("recognition", "accuracy"): ("accuracy", "Accuracy"),
    ("recognition", "balanced_accuracy"): ("balanced_accuracy", "Balanced accuracy (mean per-class)"),
    ("detection", "patch_precision"): ("precision", "Occluded-patch precision"),
    ("detection", "patch_recall"): ("recall", "Occluded-patch recall"),
    ("detection", "patch_f1"): ("f1", "Occluded-patch F1"),
    ("reconstruction", "psnr_hole"): ("psnr", "PSNR over the occluded region (dB)"),
    ("reconstruction", "ssim_hole"): ("ssim", "SSIM over the occluded region"),
}
NON_COMMERCIAL = {
    "rafdb": "RAF-DB (non-commercial research use)",
    "affectnet": "AffectNet (non-commercial research use)",
    "kdef": "KDEF (non-commercial research use)",
}
SYNTHFER_WARNING = (
    "Trained only on **SynthFER**, synthetic cartoon faces drawn by this project: its predictions on real photos are "
    "not meaningful."
)


def dataset_name(spec: dict[str, Any]) -> str:
    return f"{spec['data']} {spec['split']} (occlusion: {spec['occlusion']})"


def _dataset_args(spec: dict[str, Any]) -> dict[str, int] | None:
    """What else picks the faces: SynthFER's count and seed (its test split is generated)."""
    if spec["data"] != "synthfer":
        return None
    return {"num_images": int(spec["num_images"]), "seed": int(spec.get("seed", 0))}


def eval_results(results: list[dict[str, Any]], task: str = "image-classification") -> list[EvalResult]:
    """One `EvalResult` per evaluated data set × metric present in the results."""
    found = []
    for result in results:
        spec = result["spec"]
        for (group, key), (metric_type, metric_name) in METRICS.items():
            value = result.get(group, {}).get(key)
            if value is None:
                continue
            found.append(EvalResult(task_type=task, task_name="Occluded facial expression recognition",
                                    dataset_type=spec["data"], dataset_name=dataset_name(spec),
                                    dataset_split=spec["split"], dataset_config=spec["occlusion"],
                                    dataset_args=_dataset_args(spec),
                                    metric_type=metric_type, metric_name=metric_name,
                                    metric_value=round(float(value), 6)))  # fmt: skip
    return found


def _condition(item: EvalResult) -> tuple[str, str | None, str | None]:
    return item.dataset_type, item.dataset_split, item.dataset_config


def merged_results(previous: list[EvalResult], new: list[EvalResult]) -> list[EvalResult]:
    """`previous` results of the conditions (data set, split, occlusion) that `new` does not measure, then `new`: a
    card evaluated under another occlusion keeps what it had."""
    measured = {_condition(item) for item in new}
    return [item for item in previous if _condition(item) not in measured] + list(new)


def evaluation_commands(items: list[EvalResult], model: str = "path/to/this/folder") -> str:
    """The ``latent-ofer evaluate`` command of every condition, as each was run, on `model` (this card's folder or
    repo id), complete: it runs as printed."""
    commands = []
    for item in items:
        data, split, occlusion = item.dataset_type, item.dataset_split, str(item.dataset_config)
        command = f"`latent-ofer evaluate --model {model} --data {data}"
        if data != "synthfer":  # the reader's own copy of the licensed data set
            command += f" --data_dir path/to/{data}"
        command += f" --split {split} --occlusion {occlusion}"
        for flag, value in (item.dataset_args or {}).items():
            command += f" --{flag} {value}"
        command += f" --output_dir results/{data}_{split}_{occlusion.replace(':', '_')}`"
        if command not in commands:
            commands.append(command)
    return "; ".join(commands) or "not run yet"


def replaced_results(previous: list[EvalResult], new: list[EvalResult]) -> list[str]:
    """One line per condition whose results in the card `new` replaces with a run on other faces (another count or
    seed), e.g. a quick 14-face check over the card's 700-face figures."""

    def faces(args: dict | None) -> str:
        return "every face" if not args else f"{args.get('num_images')} faces, seed {args.get('seed')}"

    before = {_condition(item): item.dataset_args for item in previous}
    lines = []
    for item in new:
        old = before.get(_condition(item), item.dataset_args)
        now = faces(item.dataset_args)
        line = f"{item.dataset_name}: the card's results ({faces(old)}) replaced by this run's ({now})"
        if old != item.dataset_args and line not in lines:
            lines.append(line)
    return lines


def results_table(items: list[EvalResult]) -> str:
    if not items:
        return "Not evaluated yet."
    lines = ["| data (split, occlusion) | faces | metric | value |", "|---|---:|---|---:|"]
    for item in items:
        faces = (item.dataset_args or {}).get("num_images", "all")
        lines.append(f"| {item.dataset_name} | {faces} | {item.metric_name} | {item.metric_value:.4f} |")
    return "\n".join(lines)


def licence_notes(trained_on: str | None) -> str:
    notes = ["Code: MIT (latent-ofer-hf)."]
    if trained_on in NON_COMMERCIAL:
        notes.append(f"These weights were trained on {NON_COMMERCIAL[trained_on]}: check its terms before any use.")
    notes.append("Weights started from an MAE checkpoint (facebook/vit-mae-*) carry its CC BY-NC 4.0 licence; a trunk "
                 "from DAN's MS-Celeb ResNet-18 restricts commercial use.")  # fmt: skip
    return " ".join(notes)


def _card_data(
    model_name: str, trained_on: str | None, items: list[EvalResult], base_model: str | None = None
) -> ModelCardData:
    """The card's metadata. Weights trained on SynthFER from scratch: MIT, as the code; on a licensed data set or
    from an MAE checkpoint (`base_model`, train.py's ``--init_from``): that one's terms (the `facebook/vit-mae-*`
    weights: CC BY-NC 4.0), "other" when this code cannot know them."""
    licence = "mit" if trained_on in (None, "synthfer") else "other"
    if base_model is not None:
        licence = "cc-by-nc-4.0" if base_model.startswith("facebook/vit-mae") and licence == "mit" else "other"
    kwargs: dict[str, Any] = {"eval_results": items, "model_name": model_name} if items else {}
    if base_model is not None and not looks_like_path(base_model):  # a Hub id: the Hub links the model tree
        kwargs["base_model"] = base_model
    return ModelCardData(license=licence, library_name="transformers", pipeline_tag="image-classification",
                         tags=["facial-expression-recognition", "occlusion", "latent-ofer", "image-classification"],
                         **kwargs)  # fmt: skip


def mae_start(folder: Path) -> str | None:
    """The MAE checkpoint a system's ViT started from (its mae stage's ``--init_from``), when train.py recorded it."""
    arguments = Path(folder) / "stages" / "mae" / "training_args.json"
    return json.loads(arguments.read_text(encoding="utf-8")).get("init_from") if arguments.is_file() else None


#: How the system card names its occlusion detector, by the detector's objective.
DETECTOR_PHRASES = {
    "one-class": "a one-class head fitted on clean patches only",
    "semi-supervised": "a Deep SAD head (clean patches pulled in, the training faces' known occluders pushed out)",
}


def detector_phrase(folder: str | Path) -> str:
    """How the system card names the detector saved in ``folder/detector`` (one-class when there is none)."""
    config = Path(folder) / "detector" / "config.json"
    objective = json.loads(config.read_text(encoding="utf-8")).get("objective") if config.is_file() else None
    return DETECTOR_PHRASES["semi-supervised" if objective == "semi-supervised" else "one-class"]


def system_card(
    model_name: str,
    *,
    results: list[dict[str, Any]],
    trained_on: str | None,
    training_command: str,
    labels: list[str],
    repo_id: str = "path/to/this/folder",
    previous: list[EvalResult] = (),
    detector: str = DETECTOR_PHRASES["one-class"],
    base_model: str | None = None,
) -> ModelCard:
    """The card of a whole system: these `results`, and the `previous` card's results of other conditions;
    `detector`: how it names the occlusion detector (:data:`DETECTOR_PHRASES`); `base_model`: the MAE checkpoint
    its ViT started from."""
    items = merged_results(list(previous), eval_results(results))
    return ModelCard.from_template(
        _card_data(model_name, trained_on, items, base_model),
        template_path=str(TEMPLATES / "system.md"),
        model_name=model_name,
        labels=", ".join(labels),
        trained_on=_trained_on(trained_on),
        repo_id=repo_id,
        results_table=results_table(items),
        evaluation_command=evaluation_commands(items, repo_id),
        training_command=training_command,
        limitations=_limitations(trained_on),
        licence_notes=licence_notes(trained_on),
        detector=detector,
    )


def component_card(
    model_name: str,
    *,
    what: str,
    trained_on: str | None,
    training_command: str,
    training_summary: str,
    base_model: str | None = None,
) -> ModelCard:
    """The card of one component (no results of its own: the system is what is evaluated)."""
    return ModelCard.from_template(
        _card_data(model_name, trained_on, [], base_model),
        template_path=str(TEMPLATES / "component.md"),
        model_name=model_name,
        what=what[:1].upper() + what[1:],
        trained_on=_trained_on(trained_on),
        training_command=training_command,
        training_summary=training_summary,
        limitations=_limitations(trained_on),
        licence_notes=licence_notes(trained_on),
    )


def _trained_on(trained_on: str | None) -> str:
    if trained_on == "synthfer":
        return SYNTHFER_WARNING
    return "Training data: not recorded." if trained_on is None else f"Trained on `{trained_on}`."


def _limitations(trained_on: str | None) -> str:
    text = (
        "Seven basic expressions only; faces must be found and aligned first (the pipeline does it with MTCNN). "
        "Accuracy on one data set does not carry over to others (pose, age, ethnicity and capture differ)."
    )
    if trained_on == "synthfer":
        text = SYNTHFER_WARNING + " " + text
    return text


def card_results(folder: Path) -> list[EvalResult]:
    """The results in ``folder/README.md``'s model-index (none without a card)."""
    path = Path(folder) / "README.md"
    return list(ModelCard.load(path).data.eval_results or []) if path.is_file() else []


def write_system_card(
    folder: Path, results: list[dict[str, Any]], model_name: str | None = None, **kwargs: Any
) -> Path:
    """Render and save ``folder/README.md`` (named `model_name`, default the folder's name); returns its path
    (``previous=card_results(folder)`` keeps the results of other conditions)."""
    kwargs.setdefault("detector", detector_phrase(folder))
    kwargs.setdefault("base_model", mae_start(folder))
    card = system_card(model_name or Path(folder).name, results=results, **kwargs)
    path = Path(folder) / "README.md"
    card.save(path)
    return path


__all__ = [
    "DETECTOR_PHRASES",
    "card_results",
    "component_card",
    "detector_phrase",
    "eval_results",
    "evaluation_commands",
    "mae_start",
    "merged_results",
    "replaced_results",
    "system_card",
    "write_system_card",
]
