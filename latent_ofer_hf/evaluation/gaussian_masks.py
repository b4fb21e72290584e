"""What a stronger one-class head would do to the system: fill the patches a per-position Gaussian flags (on any
representation of :mod:`.separability`, diagonal or full covariance) instead of the detector's, and measure.

The Gaussian is fitted on clean training faces; its threshold is the (1 − ν)-quantile of the scores of other,
held-out clean faces (the detector's rule for its radius, [P §3.1], without the in-sample bias a full covariance
has). On the chosen test faces it reports, per ν, the share of patches flagged, the patch precision and recall where
the occluders are known, and the system's accuracy with those patches filled — beside the system with its own
detector. On clean faces it also reports where the false alarms lie, row by row of the patch grid (top to bottom).

``python -m latent_ofer_hf.evaluation.gaussian_masks --model latent_ofer_hf/checkpoints/demo --occlusion unseen
--num_images 350 [--representation "decoder output"] [--covariance full] [--nu 0.01 0.03]`` (docs/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..data.synthfer import synthfer_dataset
from ..models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from .evaluate import EvaluationFaces, EvaluationSpec, load_system, parse_occlusion
from .metrics import detection_metrics
from .separability import COVARIANCES, _pixels, gaussian_scores, representations


@torch.no_grad()
def _representation(model, pixel_values: torch.Tensor, name: str, batch_size: int = 25) -> torch.Tensor:
    parts = []
    for start in range(0, len(pixel_values), batch_size):
        found = representations(model.vit, pixel_values[start : start + batch_size])
        if name not in found:
            raise ValueError(f"--representation {name!r} is not one of {sorted(found)}")
        parts.append(found[name].float())
    return torch.cat(parts)


@torch.no_grad()
def _run(model, pixel_values: torch.Tensor, labels: torch.Tensor, mask, batch_size: int = 25):
    """The system's accuracy with ``mask`` filled (None: its detector's), and the ``[B, g, g]`` masks it filled."""
    predictions, used = [], []
    grid = model.config.vit_config.grid_size
    for start in range(0, len(pixel_values), batch_size):
        chosen = None if mask is None else mask[start : start + batch_size]
        output = model(pixel_values[start : start + batch_size], patch_mask=chosen, return_dict=True)
        predictions.append(output.logits.argmax(-1))
        used.append(output.patch_mask.reshape(-1, grid, grid).bool())
    return float((torch.cat(predictions) == labels).float().mean()), torch.cat(used)


def gaussian_mask_report(
    model,
    clean_fit: torch.Tensor,
    clean_held: torch.Tensor,
    faces: dict[str, torch.Tensor],
    *,
    representation: str = "decoder_embed",
    covariance: str = "full",
    nus: tuple[float, ...] = (0.01,),
) -> dict:
    """The report for one set of test ``faces`` (``pixel_values``, ``labels``, optional ground-truth
    ``patch_mask``): the system with its own detector, then with the Gaussian head's patches at each ν."""
    model = model.eval()
    fitted = _representation(model, clean_fit, representation)
    calibration = gaussian_scores(fitted, _representation(model, clean_held, representation), covariance)
    scores = gaussian_scores(fitted, _representation(model, faces["pixel_values"], representation), covariance)
    grid = model.config.vit_config.grid_size
    truth = faces.get("patch_mask")

    def row(mask: torch.Tensor | None) -> dict:
        accuracy, mask = _run(model, faces["pixel_values"], faces["labels"], mask)
        result = {"accuracy": accuracy}
        result["flagged"] = float(mask.float().mean())
        result["flagged_by_row"] = mask.float().mean(dim=(0, 2)).tolist()
        if truth is not None:
            metrics = detection_metrics(mask, truth)
            result.update(precision=metrics["patch_precision"], recall=metrics["patch_recall"])
        return result

    report = {"detector": row(None), "gaussian": {}}
    for nu in nus:
        threshold = torch.quantile(calibration.flatten(), 1.0 - nu)
        report["gaussian"][str(nu)] = row((scores > threshold).reshape(-1, grid, grid))
    return report


def _stack(faces: EvaluationFaces) -> dict[str, torch.Tensor]:
    items = [faces[i] for i in range(len(faces))]
    batch = {key: torch.stack([item[key] for item in items]) for key in ("pixel_values", "labels")}
    if "patch_mask" in items[0]:
        batch["patch_mask"] = torch.stack([item["patch_mask"] for item in items]).bool()
    return batch


def _format(report: dict) -> str:
    def line(name: str, result: dict) -> str:
        text = f"{name:>22}  flagged {100 * result['flagged']:5.1f} %"
        if "precision" in result:
            precision, recall = result["precision"], result["recall"]
            text += f"  P {precision if precision is not None else float('nan'):.3f}  R {recall:.3f}"
        return text + f"  accuracy {100 * result['accuracy']:.1f} %"

    lines = [line("its detector", report["detector"])]
    lines += [line(f"Gaussian, nu {nu}", result) for nu, result in report["gaussian"].items()]
    lines.append("flags by patch row, top to bottom (%):")
    for name, result in [("its detector", report["detector"]), *report["gaussian"].items()]:
        lines.append(f"{name:>22}  " + " ".join(f"{100 * v:.1f}" for v in result["flagged_by_row"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(
        prog="python -m latent_ofer_hf.evaluation.gaussian_masks",
        description=__doc__.split("\n\n")[0],
    )
    parser.add_argument("--model", required=True, help="a saved system folder (e.g. latent_ofer_hf/checkpoints/demo)")
    parser.add_argument("--occlusion", default="unseen", help="none | seen | unseen | random_patch:<ratio> (SynthFER)")
    parser.add_argument("--num_images", type=int, default=350, help="SynthFER test faces")
    parser.add_argument(
        "--representation", default="decoder_embed", help="as separability names them (default: decoder_embed)"
    )
    parser.add_argument("--covariance", choices=COVARIANCES, default="full", help="default: full")
    parser.add_argument("--nu", type=float, nargs="+", default=[0.01], help="false-alarm rates on clean faces")
    parser.add_argument("--num_clean", type=int, default=300, help="clean training faces the Gaussian is fitted on")
    parser.add_argument("--num_held_out", type=int, default=100, help="other clean training faces: the threshold")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", default=None, help="write the report as JSON here")
    args = parser.parse_args(argv)
    if args.num_clean < 2 or args.num_held_out < 1 or args.num_images < 1:
        parser.error("--num_clean needs at least 2 faces, --num_held_out and --num_images at least 1")
    if any(not 0.0 < nu < 1.0 for nu in args.nu):
        parser.error(f"--nu values must be in (0, 1), got {args.nu}")
    try:
        if parse_occlusion(args.occlusion)[0] == "grad_occlusion":
            parser.error("--occlusion grad_occlusion needs a CAM model, which this tool does not take")
    except ValueError as error:
        parser.error(str(error))
    if not (Path(args.model) / "config.json").is_file():
        parser.error(f"--model {args.model}: not a saved system folder")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        parent = Path(args.output).resolve().parent
        parser.error(f"--output {args.output}: {parent} " + ("is a file" if parent.exists() else "does not exist"))
    try:  # a component's folder, an unknown representation: one line, as argparse says it
        model = load_system(args.model)
        processor = LatentOferImageProcessor()
        clean = _pixels(synthfer_dataset(args.num_clean + args.num_held_out, split="train", seed=args.seed), processor)
        spec = EvaluationSpec(model=args.model, occlusion=args.occlusion, num_images=args.num_images, seed=args.seed)
        report = gaussian_mask_report(
            model,
            clean[: args.num_clean],
            clean[args.num_clean :],
            _stack(EvaluationFaces(spec)),
            representation=args.representation,
            covariance=args.covariance,
            nus=tuple(args.nu),
        )
    except ValueError as error:
        parser.error(str(error))
    print(_format(report))
    if args.output:
        with open(args.output, "w", encoding="utf-8") as file:
            json.dump({"spec": vars(args), **report}, file, indent=2)
    return report


if __name__ == "__main__":
    main()


__all__ = ["gaussian_mask_report", "main"]
