"""The occluded-fer pipeline: inputs, faces, batching, output schema, bad inputs, Hub mode, CLI."""

import importlib.util
import io
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import datasets
import numpy as np
import pytest
import torch
from conftest import feat_photo_path
from PIL import Image
from safetensors.torch import load_file, save_file
from transformers import pipeline

from latent_ofer_hf import LatentOferModel, OccludedFERPipeline, preset_config
from latent_ofer_hf.cli import main as cli_main
from latent_ofer_hf.data.synthfer import synthfer_sample
from latent_ofer_hf.pipelines import InvalidImageError

SCHEMA = {
    "box",
    "face_score",
    "label",
    "score",
    "scores",
    "occlusion_ratio",
    "occlusion_mask",
    "reconstruction",
    "relevant_patches",
}


def _photo(name: str) -> Path:
    return feat_photo_path(name)


def _needs_mtcnn() -> None:
    spec = importlib.util.find_spec("facenet_pytorch")
    if spec is None or not (Path(spec.submodule_search_locations[0]) / "data" / "pnet.pt").is_file():
        pytest.skip("MTCNN weights not installed (pip install --no-deps facenet-pytorch)")


def _face(index: int = 0) -> Image.Image:
    return Image.fromarray(synthfer_sample(index, split="test").image)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    torch.manual_seed(0)
    model = LatentOferModel(preset_config("tiny"))
    faces = torch.stack([torch.from_numpy(synthfer_sample(i).image).permute(2, 0, 1).float() / 255 for i in range(8)])
    pixel_values = (faces - torch.tensor([0.485, 0.456, 0.406])[:, None, None]) / torch.tensor([0.229, 0.224, 0.225])[
        :, None, None
    ]
    with torch.no_grad():  # a fitted SVDD, so the masks are not trivially all-occluded
        latents = model.vit(pixel_values).patch_latents
        model.detector.init_center(latents)
        model.detector.update_radius(model.detector(patch_latents=latents).distances)
    directory = tmp_path_factory.mktemp("system")
    model.eval().save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def fer(model_dir):
    return pipeline("occluded-fer", model=str(model_dir))


def _scores(faces: list[dict]) -> list[list[float]]:
    return [[entry["score"] for entry in sorted(face["scores"], key=lambda e: e["label"])] for face in faces]


# ---------------------------------------------------------------------------------------------- schema and flags
def test_output_schema_and_flags(fer):
    assert isinstance(fer, OccludedFERPipeline)
    (face,) = fer(_face(), detector=None)
    assert set(face) == SCHEMA
    assert face["box"] == {"xmin": 0, "ymin": 0, "xmax": 224, "ymax": 224}
    assert [e["score"] for e in face["scores"]] == sorted((e["score"] for e in face["scores"]), reverse=True)
    assert face["label"] == face["scores"][0]["label"] and face["score"] == face["scores"][0]["score"]
    assert abs(sum(e["score"] for e in face["scores"]) - 1) < 1e-5 and len(face["scores"]) == 7
    assert face["occlusion_mask"].shape == (14, 14) and face["occlusion_mask"].dtype == bool
    assert face["occlusion_ratio"] == pytest.approx(face["occlusion_mask"].mean())
    assert face["reconstruction"].size == (224, 224) and face["reconstruction"].mode == "RGB"
    assert all(isinstance(i, int) for i in face["relevant_patches"]) and len(face["relevant_patches"]) == 98
    (light,) = fer(
        _face(), detector=None, top_k=2, return_reconstruction=False, return_relevant_patches=False, return_face=True
    )
    assert set(light) == SCHEMA - {"reconstruction", "relevant_patches"} | {"face"} and len(light["scores"]) == 2
    (raw,) = fer(_face(), detector=None, reconstruct=False)
    assert "reconstruction" not in raw
    with pytest.raises(ValueError, match="top_k"):
        fer(_face(), detector=None, top_k=0)


def test_construction_options_are_defaults_that_calls_override(model_dir):
    """Options given to `pipeline(...)` hold for every call (detector=None included) until a call says otherwise."""
    crops_only = pipeline("occluded-fer", model=str(model_dir), detector=None, reconstruct=False)
    image = _face(3).resize((300, 300))
    (face,) = crops_only(image)  # no detection: the whole image is the face
    assert face["box"] == {"xmin": 0, "ymin": 0, "xmax": 300, "ymax": 300} and "reconstruction" not in face
    (again,) = crops_only(image, reconstruct=True)  # a call turns reconstruction back on, and gets it
    assert "reconstruction" in again
    assert "reconstruction" not in crops_only(image)[0]  # and the construction default is back


def test_flags_must_be_booleans_and_top_k_an_integer(fer):
    for name in ("reconstruct", "return_reconstruction", "bgr", "return_face", "return_relevant_patches"):
        with pytest.raises(ValueError, match=f"{name} must be True or False"):
            fer(_face(), detector=None, **{name: "none"})  # a string is not silently truthy
    (face,) = fer(_face(), detector=None, top_k=np.int64(2), reconstruct=np.bool_(False))
    assert len(face["scores"]) == 2 and "reconstruction" not in face


def test_the_decompression_bomb_limit_is_a_call_option(fer, tmp_path):
    path = tmp_path / "face.png"
    _face(2).resize((300, 300)).save(path)  # 90,000 pixels
    with pytest.raises(InvalidImageError, match="more than max_pixels=50000.*pass a larger max_pixels"):
        fer(str(path), detector=None, max_pixels=50_000)
    assert len(fer(str(path), detector=None, max_pixels=100_000)) == 1
    assert len(fer(str(path), detector=None, max_pixels=None)) == 1
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError, match="max_pixels must be a positive int or None"):
            fer(str(path), detector=None, max_pixels=bad)


def test_the_url_timeout_must_be_a_positive_number(fer):
    for bad in (0, -1, "x", True, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout must be a positive number of seconds"):
            fer(_face(), detector=None, timeout=bad)
    assert len(fer(_face(), detector=None, timeout=2)) == 1


# ------------------------------------------------------------------------------------------------- input kinds
def test_every_input_kind_gives_the_same_result(fer, tmp_path):
    image = _face(1)
    path = tmp_path / "face.png"
    image.save(path)
    array = np.asarray(image)
    expected = _scores(fer(image, detector=None))
    kinds = {
        "str path": (str(path), {}),
        "Path": (path, {}),
        "numpy": (array, {}),
        "numpy BGR": (np.ascontiguousarray(array[..., ::-1]), {"bgr": True}),
        "bytes": (path.read_bytes(), {}),
        "file object": (io.BytesIO(path.read_bytes()), {}),
        "dict": ({"image": image}, {}),
    }
    for name, (value, extra) in kinds.items():
        np.testing.assert_allclose(_scores(fer(value, detector=None, **extra)), expected, atol=1e-6, err_msg=name)
    gray = fer(image.convert("L"), detector=None)
    assert len(gray) == 1 and gray[0]["box"]["xmax"] == 224


def test_batch_of_mixed_sizes_equals_one_by_one(fer):
    images = [_face(i).resize((size, size)) for i, size in enumerate((150, 224, 300, 97, 410))]
    one_by_one = [fer(image, detector=None) for image in images]
    batched = fer(images, detector=None, batch_size=2)
    assert len(batched) == 5
    for single, together in zip(one_by_one, batched, strict=True):
        np.testing.assert_allclose(_scores(together), _scores(single), atol=1e-5)
        assert [f["label"] for f in together] == [f["label"] for f in single]
        masks = zip((f["occlusion_mask"] for f in together), (f["occlusion_mask"] for f in single), strict=True)
        assert all(np.array_equal(a, b) for a, b in masks)
        assert together[0]["box"] == single[0]["box"]


def test_dataset_and_generator_inputs(fer):
    images = [_face(i) for i in range(3)]
    dataset = datasets.Dataset.from_dict(
        {"image": images, "label": [0, 1, 2]},
        features=datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")}),
    )
    from_dataset = list(fer(dataset, detector=None, batch_size=2))
    from_generator = list(fer((image for image in images), detector=None))
    from_column = fer(dataset["image"], detector=None)  # a datasets Column, not a list
    expected = [fer(image, detector=None) for image in images]
    for results in (from_dataset, from_generator, from_column):
        assert len(results) == 3
        for got, want in zip(results, expected, strict=True):
            np.testing.assert_allclose(_scores(got), _scores(want), atol=1e-5)


# -------------------------------------------------------------------------------------------------------- faces
def test_real_photos_faces_found_by_the_offline_detector(fer):
    _needs_mtcnn()
    multi = fer(str(_photo("multi_face.jpg")))
    assert len(multi) == 5
    width, height = Image.open(_photo("multi_face.jpg")).size
    for face in multi:
        box = face["box"]
        assert 0 <= box["xmin"] < box["xmax"] <= width and 0 <= box["ymin"] < box["ymax"] <= height
        assert face["face_score"] > 0.9 and set(face) == SCHEMA
    assert fer(str(_photo("free-mountain-vector-01.jpg"))) == []
    batched = fer(
        [str(_photo("single_face.jpg")), str(_photo("free-mountain-vector-01.jpg")), str(_photo("multi_face.jpg"))],
        batch_size=4,
    )
    assert [len(faces) for faces in batched] == [1, 0, 5]


def test_caller_boxes_single_and_per_image(fer):
    image = _face(2).resize((400, 300))
    boxes = [(10, 20, 150, 200), (200, 50, 390, 280)]
    faces = fer(image, boxes=boxes)
    assert [tuple(f["box"].values()) for f in faces] == [tuple(b) for b in boxes]
    per_image = fer([{"image": image, "boxes": boxes[:1]}, {"image": image, "boxes": boxes}])
    assert [len(f) for f in per_image] == [1, 2]
    with pytest.raises(ValueError, match="empty"):
        fer(image, boxes=[(50, 50, 40, 60)])
    with pytest.raises(ValueError, match="outside"):
        fer(image, boxes=[(500, 500, 600, 600)])
    as_array = fer(image, boxes=np.array(boxes))  # another detector's [N, 4] output
    assert np.allclose(_scores(as_array), _scores(faces), atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        fer(image, boxes=np.array(boxes[0]))
    with pytest.raises(ValueError, match="list of boxes"):  # per-image lists were once read as one box each
        fer(image, boxes=[[boxes[0]], [boxes[1]]])
    with pytest.raises(ValueError, match="single image"):  # which image would they belong to?
        fer([image, image], boxes=boxes)
    with pytest.raises(ValueError, match="smaller than a face crop"):
        fer(image, boxes=[(10, 10, 11, 11)])
    with pytest.raises(ValueError, match=r"\['top_k'\] in a dict input: only 'image' and 'boxes'"):
        fer([{"image": image, "top_k": 2}])  # a call option, once silently dropped
    assert len(fer({"image": image, "boxes": boxes[:1], "label": 3})) == 1  # a data set row's other columns
    for size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            fer(image, batch_size=size)


# --------------------------------------------------------------------------------------------------- bad inputs
def _bomb_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def test_bad_inputs_give_clear_errors(fer, tmp_path):
    jpeg = io.BytesIO()
    _face().save(jpeg, format="JPEG")
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "truncated.jpg").write_bytes(jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    cases = {
        "corrupt bytes": (b"definitely not an image", "not an image|cannot identify|unidentified|decode"),
        "truncated JPEG": (str(tmp_path / "truncated.jpg"), "truncated"),
        "0-byte file": (str(tmp_path / "empty.jpg"), "empty|0 bytes"),
        "missing path": (str(tmp_path / "nope.jpg"), "no such file"),
        "directory": (str(tmp_path), "directory"),
        "wrong array shape": (np.zeros((3, 224, 224), dtype=np.uint8), "channels-first|shape"),
        "NaN array": (np.full((32, 32, 3), np.nan, dtype=np.float32), "NaN"),
        "decompression bomb": (_bomb_png(), "pixels|bomb|too large"),
    }
    for name, (value, message) in cases.items():
        try:
            with pytest.raises(InvalidImageError, match=message):
                fer(value, detector=None)
        except (AssertionError, pytest.fail.Exception) as error:  # say which bad input failed
            raise AssertionError(f"bad input {name!r}: {error}") from error
    with pytest.raises(InvalidImageError, match="None"):
        fer(None)
    assert fer([]) == []
    with pytest.raises(InvalidImageError, match="too small"):
        fer(Image.new("RGB", (1, 1)), detector=None)


def test_a_bad_item_of_several_is_named_and_a_missing_one_stops_the_call_before_any_compute(fer, tmp_path):
    faces = [_face(0), _face(1)]
    calls = []
    forward = fer._forward
    fer._forward = lambda *args, **kwargs: calls.append(1) or forward(*args, **kwargs)
    try:
        for bad, message in ((str(tmp_path / "nope.jpg"), "no such file"), (None, "None"), ("", "empty string")):
            for inputs in (faces + [bad], faces + [{"image": bad}]):
                with pytest.raises(InvalidImageError, match=rf"^inputs\[2\]: .*{message}"):
                    fer(inputs, detector=None, batch_size=2)
        assert not calls  # refused before the first face was computed
        with pytest.raises(InvalidImageError, match=r"^inputs\[1\]: a dict input needs an 'image' key"):
            fer([faces[0], {"picture": faces[1]}], detector=None)
        float_array = np.full((32, 32, 3), 2.0, dtype=np.float32)  # found only when read: still named
        with pytest.raises(InvalidImageError, match=r"^inputs\[1\]: .*float"):
            fer([faces[0], float_array, faces[1]], detector=None)
        with pytest.raises(InvalidImageError, match=r"^inputs\[1\]: .*float"):
            list(fer((face for face in [faces[0], float_array]), detector=None))  # lazy, as transformers
        with pytest.raises(ValueError, match=r"^inputs\[0\]: boxes\[0\]"):
            fer([{"image": faces[0], "boxes": [(500, 500, 600, 600)]}, faces[1]])
        faces[0].save(tmp_path / "face.png")
        rows = datasets.Dataset.from_dict({"image": [str(tmp_path / "face.png"), str(tmp_path / "nope.jpg")]})
        with pytest.raises(InvalidImageError, match=r"^dataset row 1: no such file"):
            list(fer(rows, detector=None))
    finally:
        fer._forward = forward
    (single,) = fer(faces[0], detector=None)  # one input: its own message, no index
    with pytest.raises(InvalidImageError, match=r"^no such file"):
        fer(str(tmp_path / "nope.jpg"), detector=None)
    assert set(single) == SCHEMA


def test_an_unknown_option_is_named_with_the_closest_known_one(fer, model_dir):
    with pytest.raises(ValueError, match=r"unknown option 'topk' of the occluded-fer pipeline; did you mean 'top_k'"):
        fer(_face(), topk=3, detector=None)
    with pytest.raises(ValueError, match=r"unknown option 'return_reconstructions'.*'return_reconstruction'"):
        pipeline("occluded-fer", model=str(model_dir), return_reconstructions=False)
    assert len(fer(_face(), top_k=2, detector=None)[0]["scores"]) == 2  # the known spelling still works


def test_unusual_but_valid_images_are_normalized(fer, tmp_path):
    face = _face(3)
    cmyk = io.BytesIO()
    face.convert("CMYK").save(cmyk, format="JPEG")
    sixteen = tmp_path / "sixteen.png"
    Image.fromarray(np.asarray(face.convert("L"), dtype=np.uint16) * 257).save(sixteen)
    gif = tmp_path / "animated.gif"
    face.save(gif, save_all=True, append_images=[Image.new("RGB", face.size, "red")], duration=100, loop=0)
    for value in (cmyk.getvalue(), str(sixteen), str(gif), face.convert("RGBA"), face.convert("P")):
        (result,) = fer(value, detector=None)
        assert set(result) == SCHEMA


def test_tiny_image_with_the_detector_has_no_face(fer):
    _needs_mtcnn()
    assert fer(Image.new("RGB", (1, 1))) == []


# ------------------------------------------------------------------------------------------------------ Hub mode
_CHILD = textwrap.dedent(
    """
    import importlib.abc, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "latent_ofer_hf":
                raise ImportError("latent_ofer_hf is deliberately not importable here")
    sys.meta_path.insert(0, _Block())
    from PIL import Image
    from safetensors.torch import load_file
    from transformers import pipeline
    pipe_dir, image_file, expected_file = sys.argv[1:4]
    fer = pipeline(model=pipe_dir, trust_remote_code=True)
    assert type(fer).__name__ == "OccludedFERPipeline", type(fer)
    assert type(fer).__module__.startswith("transformers_modules"), type(fer).__module__
    faces = fer(Image.open(image_file), detector=None)
    expected = load_file(expected_file)["scores"].tolist()
    got = [e["score"] for e in sorted(faces[0]["scores"], key=lambda e: e["label"])]
    assert max(abs(a - b) for a, b in zip(got, expected)) < 1e-5, (got, expected)
    assert "latent_ofer_hf" not in sys.modules
    print("REMOTE-PIPELINE-OK")
    """
)


def test_saved_pipeline_runs_as_remote_code_without_the_package(fer, tmp_path):
    pipe_dir = tmp_path / "pipe"
    fer.save_pretrained(pipe_dir)
    config = json.loads((pipe_dir / "config.json").read_text())
    assert config["custom_pipelines"] == {
        "occluded-fer-remote-code": {
            "impl": "pipeline_occluded_fer.OccludedFERPipeline",
            "pt": ["AutoModel"],
            "tf": [],
            "type": "image",
            "default": {},
        }
    }
    assert not hasattr(fer.model.config, "custom_pipelines")  # the live model's config is left alone
    for name in ("pipeline_occluded_fer.py", "image_inputs.py", "mtcnn.py", "alignment.py"):
        assert (pipe_dir / name).is_file(), name
    image_file = tmp_path / "face.png"
    _face(4).save(image_file)
    expected = _scores(fer(Image.open(image_file), detector=None))[0]
    save_file({"scores": torch.tensor(expected)}, tmp_path / "expected.safetensors")
    env = {
        **os.environ,
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": "",
        "PYTHONNOUSERSITE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(pipe_dir), str(image_file), str(tmp_path / "expected.safetensors")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0 and "REMOTE-PIPELINE-OK" in result.stdout, result.stdout + result.stderr
    assert load_file(tmp_path / "expected.safetensors")["scores"].shape == (7,)
    # with the package installed, the saved folder loads by the task name, without trust_remote_code
    reloaded = pipeline("occluded-fer", model=str(pipe_dir))
    assert type(reloaded) is type(fer)
    assert (
        max(
            abs(a - b)
            for a, b in zip(_scores(reloaded(Image.open(image_file), detector=None))[0], expected, strict=True)
        )
        < 1e-5
    )


def test_push_to_hub_sends_code_config_and_safetensors_only(fer, monkeypatch):
    from huggingface_hub import HfApi

    sent = {}

    def fake_create_commit(self, repo_id, operations, **kwargs):
        sent["repo_id"] = repo_id
        sent["paths"] = sorted(op.path_in_repo for op in operations)

        class Info:
            commit_url = f"https://huggingface.co/{repo_id}/commit/0"
            oid = "0"

        return Info()

    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kwargs: type("Url", (), {"repo_id": repo_id})())
    monkeypatch.setattr(HfApi, "create_commit", fake_create_commit)
    fer.push_to_hub("someone/latent-ofer-tiny", token="hf_fake")
    paths = sent["paths"]
    assert sent["repo_id"] == "someone/latent-ofer-tiny"
    assert {
        "config.json",
        "pipeline_occluded_fer.py",
        "recognizer/model.safetensors",
        "vit/model.safetensors",
        "detector/model.safetensors",
        "reconstructor/model.safetensors",
    } <= set(paths)
    assert not any(path.endswith((".bin", ".pt", ".pth", ".pkl")) for path in paths)


# ----------------------------------------------------------------------------------------------------------- CLI
def test_cli_predict_table_json_and_pictures(model_dir, tmp_path, capsys):
    image = tmp_path / "face.png"
    _face(5).save(image)
    (tmp_path / "broken.jpg").write_bytes(b"nope")
    assert cli_main(["predict", str(image), "--model", str(model_dir), "--no-detector", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[0]["image"] == str(image) and report[0]["error"] is None
    assert len(report[0]["faces"]) == 1 and len(report[0]["faces"][0]["occlusion_mask"]) == 14
    code = cli_main(  # images before and after the options
        [
            "predict",
            str(image),
            "--model",
            str(model_dir),
            "--no-detector",
            "--save-vis",
            str(tmp_path / "vis"),
            str(tmp_path / "broken.jpg"),
        ]
    )
    table = capsys.readouterr().out
    assert code == 1 and "error:" in table and "face.png" in table and "broken.jpg" in table
    pictures = sorted((tmp_path / "vis").glob("*.png"))
    assert len(pictures) == 1 and Image.open(pictures[0]).width >= 3 * 224


def test_cli_predict_reads_each_image_once_and_lists_top_k_in_its_table(model_dir, tmp_path, capsys, monkeypatch):
    """With --save-vis the picture is drawn on the image the pipeline read (a second read of a URL or a pipe could
    fail, or differ); the table lists the --top-k labels after the best one."""
    from latent_ofer_hf.pipelines import image_inputs, pipeline_occluded_fer

    image = tmp_path / "face.png"
    _face(7).save(image)
    reads = []

    def counting(source, **kwargs):
        if isinstance(source, (str, os.PathLike)):
            reads.append(str(source))
        return image_inputs.load_image_input.__wrapped__(source, **kwargs)

    counting.__wrapped__ = image_inputs.load_image_input
    monkeypatch.setattr(image_inputs, "load_image_input", counting)
    monkeypatch.setattr(pipeline_occluded_fer, "load_image_input", counting)
    options = ["--model", str(model_dir), "--no-detector", "--top-k", "3", "--save-vis", str(tmp_path / "vis")]
    assert cli_main(["predict", str(image), *options]) == 0
    assert reads == [str(image)] and len(list((tmp_path / "vis").glob("*.png"))) == 1
    row = capsys.readouterr().out.splitlines()[1]
    assert re.search(r"\d/196\) +[a-z]+ \d\.\d\d, [a-z]+ \d\.\d\d$", row), row  # the 2nd and 3rd labels


def test_another_library_s_model_is_refused_without_the_component_hint(model_dir, tmp_path):
    from transformers import BertConfig, BertModel

    BertModel(BertConfig(vocab_size=10, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=8)).save_pretrained(tmp_path / "bert")  # fmt: skip
    with pytest.raises(ValueError, match="got a BertModel \\('bert'\\); pass a saved system's folder") as refused:
        pipeline("occluded-fer", model=str(tmp_path / "bert"))
    assert "component" not in str(refused.value)
    with pytest.raises(ValueError, match="a component's folder .*the one above it"):
        pipeline("occluded-fer", model=str(model_dir / "recognizer"))


def test_cli_a_picture_that_cannot_be_written_loses_no_result(model_dir, tmp_path, capsys):
    """A --save-vis write that fails is an error line; the results of every image are still printed, exit status 1."""
    images = [tmp_path / "a.png", tmp_path / "b.png"]
    for index, image in enumerate(images):
        _face(index).save(image)
    (tmp_path / "vis" / "000_a.png").mkdir(parents=True)  # where a's picture would go: a folder, not writable as a file
    options = ["--model", str(model_dir), "--no-detector", "--save-vis", str(tmp_path / "vis")]
    assert cli_main(["predict", *map(str, images), *options]) == 1
    captured = capsys.readouterr()
    assert "--save-vis: cannot write" in captured.err and "000_a.png" in captured.err, captured.err
    rows = captured.out.splitlines()[1:]
    assert len(rows) == 2 and all("error" not in row for row in rows), captured.out  # both faces' results
    assert (tmp_path / "vis" / "001_b.png").is_file()


def test_cli_max_pixels_lifts_or_lowers_the_decompression_bomb_limit(model_dir, tmp_path, capsys):
    image = tmp_path / "face.png"
    _face(1).resize((300, 300)).save(image)  # 90,000 pixels
    options = ["--model", str(model_dir), "--no-detector"]
    assert cli_main(["predict", str(image), *options, "--max-pixels", "50000"]) == 1
    out = capsys.readouterr().out
    assert "more than max_pixels=50000" in out and "--max-pixels to latent-ofer predict" in out, out
    for limit in ("90000", "0"):  # 0: no limit
        assert cli_main(["predict", str(image), *options, "--max-pixels", limit]) == 0
        assert "error" not in capsys.readouterr().out
    assert cli_main(["predict", "--data", "synthfer", "--output", str(tmp_path / "p.jsonl"), "--max-pixels", "9"]) == 2
    assert "--max-pixels is for images" in capsys.readouterr().err


def test_cli_setup_errors_are_one_line_messages(model_dir, tmp_path, capsys):
    image = tmp_path / "face.png"
    _face(6).save(image)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text('{"model_type": "bert", "hidden_size": 8}')  # and no weights
    cases = {
        "missing model folder": (["--model", str(tmp_path / "nope")], "no such folder"),
        "empty model folder": (["--model", str(tmp_path / "empty")], "empty: no config.json in it"),
        "a file as the model": (["--model", str(tmp_path / "a_file")], "a_file is a file; give a saved system's"),
        "another library's model": (["--model", str(tmp_path / "bert")], "holds a 'bert' model, not a Latent-OFER"),
        "neither a folder nor a Hub id": (["--model", "no-such-model-here"], "no local folder of that name"),
        "--save-vis is a file": (["--model", str(model_dir), "--save-vis", str(tmp_path / "a_file")], "is a file"),
        "bad device": (["--model", str(model_dir), "--device", "gpu9"], "not a device"),
        "a component's folder": (["--model", str(model_dir / "recognizer")], "give the system's folder, the one above"),
        "--save-vis cannot be made": (
            ["--model", str(model_dir), "--save-vis", str(tmp_path / "a_file" / "v")],
            "cannot",
        ),
        "data-set options with images": (
            ["--model", str(model_dir), "--occlusion", "seen", "--output", str(tmp_path / "rows.jsonl")],
            "--occlusion and --output are for --data (a whole data set)",
        ),
    }
    if not torch.cuda.is_available():
        cases["no CUDA"] = (["--model", str(model_dir), "--device", "cuda"], "no CUDA")
    for name, (options, message) in cases.items():
        assert cli_main(["predict", str(image), *options]) == 2, name
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (name, err)
    for options, message in (
        (["--top-k", "0"], "argument --top-k: must be at least 1"),
        (["--unknown-flag"], "unrecognized arguments: --unknown-flag"),
    ):  # argparse's own errors, before any model loads
        with pytest.raises(SystemExit) as exit_info:
            cli_main(["predict", str(image), "--model", str(model_dir), *options])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err


# ------------------------------------------------------------------------------------ bounded detection, face scores
class _RecordingDetector:
    """Finds one face at a fixed place of whatever image it sees (its centre quarter) with the given scores."""

    def __init__(self, scores=(0.99,)):
        self.scores, self.seen = scores, []

    def detect(self, image):
        from latent_ofer_hf.faces import DetectedFace

        self.seen.append(image.size)
        w, h = image.size
        box = (w / 4, h / 4, 3 * w / 4, 3 * h / 4)
        points = np.array([[0.4 * w, 0.4 * h], [0.6 * w, 0.4 * h], [0.5 * w, 0.5 * h], [0.42 * w, 0.6 * h],
                           [0.58 * w, 0.6 * h]], dtype=np.float32)  # fmt: skip
        return [DetectedFace(box=box, score=s, landmarks=points) for s in self.scores]


def test_detection_runs_on_a_bounded_copy_and_boxes_map_back(model_dir):
    from latent_ofer_hf.faces.bounded_detection import DETECTION_MAX_SIDE, detect_bounded

    detector = _RecordingDetector()
    big = Image.new("RGB", (6000, 3000), (120, 110, 100))
    (face,) = detect_bounded(detector, big)
    assert max(detector.seen[-1]) == DETECTION_MAX_SIDE  # the detector saw the downscaled copy only
    np.testing.assert_allclose(face.box, (1500, 750, 4500, 2250), atol=3)  # in the original's pixels
    np.testing.assert_allclose(face.landmarks[2], (3000, 1500), atol=3)
    detect_bounded(detector, big, max_side=None)
    assert detector.seen[-1] == (6000, 3000)  # None: as it is
    small = Image.new("RGB", (640, 480))
    detect_bounded(detector, small)
    assert detector.seen[-1] == (640, 480)  # already within the bound: untouched
    with pytest.raises(ValueError, match="max_side"):
        detect_bounded(detector, small, max_side=0)

    fer = pipeline("occluded-fer", model=str(model_dir), face_detector=detector)
    (result,) = fer(big)
    assert max(detector.seen[-1]) == DETECTION_MAX_SIDE
    assert abs(result["box"]["xmin"] - 1500) <= 3 and abs(result["box"]["ymax"] - 2250) <= 3
    fer(big, detection_max_side=512)
    assert max(detector.seen[-1]) == 512
    with pytest.raises(ValueError, match="detection_max_side"):
        fer(big, detection_max_side=4)


def test_faces_below_the_score_threshold_are_not_reported(model_dir):
    from latent_ofer_hf.pipelines.pipeline_occluded_fer import FACE_SCORE_THRESHOLD

    detector = _RecordingDetector(scores=(0.9999, 0.86))  # MTCNN's scores on the astronaut photo: face, suit
    fer = pipeline("occluded-fer", model=str(model_dir), face_detector=detector)
    image = Image.new("RGB", (400, 400), (120, 110, 100))
    assert FACE_SCORE_THRESHOLD > 0.86
    assert [face["face_score"] for face in fer(image)] == [pytest.approx(0.9999)]
    assert len(fer(image, face_score_threshold=0.5)) == 2
    for bad in (1.5, -0.1, "high", True):
        with pytest.raises(ValueError, match="face_score_threshold"):
            fer(image, face_score_threshold=bad)
