"""Contracts every model keeps: one component registry, sync-free forwards, `return_dict`, the image-classification
call of the recogniser, and the deprecated names of the renamed classes."""

import dataclasses
import typing
import warnings

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from transformers import AutoConfig, AutoModel, AutoModelForImageClassification

import latent_ofer_hf
from latent_ofer_hf import (
    ExpressionRecognizer,
    LatentOferConfig,
    LatentOferModel,
    ReconstructionDiscriminators,
    ReconstructionDiscriminatorsConfig,
    input_value_checks,
    preset_config,
)
from latent_ofer_hf.models.latent_ofer import COMPONENTS, SLOTS

TINY_DISCRIMINATORS = {
    "ndf": 4,
    "feature_width": 8,
    "feature_backbone_config": {"layer_type": "basic", "depths": [1, 1], "hidden_sizes": [8, 16], "embedding_size": 8},
}
TINY_UNET = {"sample_size": 32, "block_out_channels": [8, 16], "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
             "up_block_types": ["AttnUpBlock2D", "UpBlock2D"], "layers_per_block": 1, "norm_num_groups": 4,
             "attention_head_dim": 4}  # fmt: skip


def _tiny_repaint():
    from latent_ofer_hf import RePaintReconstructor, RePaintReconstructorConfig

    config = RePaintReconstructorConfig(unet_config=TINY_UNET, num_inference_steps=2, jump_length=1, jump_n_sample=1)
    return RePaintReconstructor(config).eval()


def test_the_pipeline_works_whatever_the_system_s_return_dict(system, tmp_path):
    from transformers import pipeline

    from latent_ofer_hf.data.synthfer import synthfer_sample

    system.config.return_dict = False
    try:
        result = pipeline("occluded-fer", model=system)(synthfer_sample(0).image, detector=None)
    finally:
        system.config.return_dict = True
    assert len(result) == 1 and result[0]["label"] in system.config.id2label.values()


# the ops that read a tensor on the host: a device synchronisation on an accelerator
HOST_READS = {torch.ops.aten._local_scalar_dense.default, torch.ops.aten.nonzero.default}


class CountHostReads(TorchDispatchMode):
    """Counts host reads: the dispatched ones (`.item()`, `bool(t)`, `nonzero`) and, patched for the block, the
    Python-level `Tensor.tolist` / `.numpy` / `.item` that bypass dispatch on the CPU."""

    def __init__(self):
        super().__init__()
        self.reads: list[str] = []
        self._saved: dict[str, object] = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in HOST_READS:
            self.reads.append(str(func))
        return func(*args, **(kwargs or {}))

    def __enter__(self):
        for name in ("tolist", "numpy", "item"):
            original = getattr(torch.Tensor, name)
            self._saved[name] = original

            def counted(tensor, *args, _name=name, _original=original, **kwargs):
                self.reads.append(f"Tensor.{_name}")
                return _original(tensor, *args, **kwargs)

            setattr(torch.Tensor, name, counted)
        return super().__enter__()

    def __exit__(self, *exc):
        for name, original in self._saved.items():
            setattr(torch.Tensor, name, original)
        return super().__exit__(*exc)


def test_the_host_read_counter_sees_tolist_and_item():
    with CountHostReads() as counter:
        torch.arange(3).tolist()
        torch.ones(()).item()
        bool(torch.ones(()) > 0)
    assert "Tensor.tolist" in counter.reads and "Tensor.item" in counter.reads and len(counter.reads) >= 3


@pytest.fixture(scope="module")
def system():
    torch.manual_seed(0)
    model = LatentOferModel(preset_config("tiny")).eval()
    with torch.no_grad():
        model.detector.init_center(model.vit(torch.randn(2, 3, 224, 224)).patch_latents)
    return model


# ------------------------------------------------------------------------------------------------ the registry
def test_the_config_fields_are_the_registry_slots():
    fields = {f.name: f for f in dataclasses.fields(LatentOferConfig) if f.name.endswith("_config")}
    assert sorted(fields) == sorted(f"{slot}_config" for slot in SLOTS)
    for component in COMPONENTS:
        if component.slot is not None:  # the field's declared type admits every config class of its slot
            assert component.config_class in typing.get_args(fields[component.config_field].type), component


@pytest.mark.parametrize("component", COMPONENTS, ids=lambda c: c.model_class.__name__)
def test_every_registry_model_is_registered_with_its_auto_classes(component):
    config = AutoConfig.for_model(component.model_type)
    assert type(config) is component.config_class
    for name in component.auto_classes:
        mapping = getattr(__import__("transformers"), name)._model_mapping
        assert mapping[component.config_class] is component.model_class, name
    if component.model_class.main_input_name in ("pixel_values", "images"):  # transformers' default says "text"
        assert component.model_class.input_modalities == ("image",)


def test_the_composite_saves_one_subfolder_per_component(system, tmp_path):
    system.save_pretrained(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == [
        "detector",
        "recognizer",
        "reconstructor",
        "vit",
    ]
    without = LatentOferModel(preset_config("tiny", reconstructor_config=None))
    without.save_pretrained(tmp_path / "mae-only")
    assert sorted(p.name for p in (tmp_path / "mae-only").iterdir() if p.is_dir()) == ["detector", "recognizer", "vit"]
    assert LatentOferModel.from_pretrained(tmp_path / "mae-only").reconstructor is None


# ------------------------------------------------------------------------------------------- sync-free forwards
def _forwards(system):
    x = torch.randn(2, 3, 224, 224)
    latents = system.vit(x).patch_latents
    discriminators = ReconstructionDiscriminators(ReconstructionDiscriminatorsConfig(**TINY_DISCRIMINATORS)).eval()
    labels = torch.tensor([0, 1])
    return {
        "ViT latents pass": lambda: system.vit(x),
        "occlusion detector": lambda: system.detector(latents, occlusion_mask=torch.rand(2, 196) > 0.5),
        "recognizer": lambda: system.recognizer(pixel_values=x, patch_latents=latents, labels=labels),
        "recognizer, CNN only": lambda: system.recognizer(pixel_values=x),
        "discriminators": lambda: discriminators(torch.rand(2, 3, 64, 64) * 2 - 1),
    }


def test_forwards_do_not_read_tensors_on_the_host(system):
    """No `.item()` / `bool(tensor)` / `nonzero` in these forwards: on a GPU none of them synchronises."""
    with torch.no_grad():
        for name, forward in _forwards(system).items():
            forward()  # a first call may warn once (e.g. an unset SVDD centre)
            with CountHostReads() as counter:
                forward()
            assert counter.reads == [], f"{name}: {counter.reads}"


def test_value_checks_read_the_host_only_when_asked(system):
    x = torch.randn(2, 3, 224, 224)
    latents = system.vit(x).patch_latents
    with torch.no_grad(), input_value_checks(), CountHostReads() as counter:
        system.recognizer(pixel_values=x, patch_latents=latents, labels=torch.tensor([0, 1]))
    assert len(counter.reads) >= 3  # finite pixels, finite latents, label range
    x[0, 0, 0, 0] = float("nan")
    with torch.no_grad():
        system.recognizer(pixel_values=x, patch_latents=latents)  # no check, no error
        with input_value_checks(), pytest.raises(ValueError, match="pixel_values contains NaN"):
            system.recognizer(pixel_values=x, patch_latents=latents)


# -------------------------------------------------------------------------------------------------- return_dict
def test_every_model_honours_return_dict(system):
    x = torch.randn(2, 3, 224, 224)
    mask = torch.zeros(2, 196, dtype=torch.bool)
    mask[:, 150:] = True
    latents = system.vit(x).patch_latents
    coarse = system.vit.fill(x, mask)
    discriminators = ReconstructionDiscriminators(ReconstructionDiscriminatorsConfig(**TINY_DISCRIMINATORS)).eval()
    images = torch.rand(2, 3, 64, 64) * 2 - 1
    calls = {
        "composite": (system, (x,), {}),
        "vit": (system.vit, (x,), {"patch_mask": mask}),
        "detector": (system.detector, (latents,), {}),
        "reconstructor": (system.reconstructor, (x,), {"coarse_pixel_values": coarse, "patch_mask": mask}),
        "recognizer": (system.recognizer, (), {"pixel_values": x, "patch_latents": latents}),
        "discriminators": (discriminators, (images,), {}),
        "repaint": (_tiny_repaint(), (x,), {"patch_mask": mask, "generator": None}),
    }
    with torch.no_grad():
        for name, (model, args, kwargs) in calls.items():
            if "generator" in kwargs:  # a sampler: the same seed for both calls
                kwargs = {**kwargs, "generator": torch.Generator().manual_seed(0)}
                as_dict = model(*args, **kwargs, return_dict=True)
                kwargs = {**kwargs, "generator": torch.Generator().manual_seed(0)}
            else:
                as_dict = model(*args, **kwargs, return_dict=True)
            as_tuple = model(*args, **kwargs, return_dict=False)
            assert isinstance(as_tuple, tuple) and not hasattr(as_tuple, "keys"), name
            expected = as_dict.to_tuple()
            assert len(as_tuple) == len(expected), name
            for got, want in zip(as_tuple, expected, strict=True):
                assert torch.equal(got, want), name


# ------------------------------------------------------------------------------- the image-classification call
def test_the_recognizer_classifies_from_pixel_values_alone(system, tmp_path):
    """`AutoModelForImageClassification` contract: pixel_values → logits from the CNN features, latent vector 0."""
    recognizer = system.recognizer
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        out = recognizer(pixel_values=x)
        assert out.relevant_patches is None and out.latent_features is None
        zeros = torch.zeros(3, recognizer.config.latent_out_dim)
        expected = recognizer.fusion_head(torch.cat([out.cnn_features, zeros], dim=1))
        torch.testing.assert_close(out.logits, expected, rtol=0, atol=0)
        with_latents = recognizer(pixel_values=x, patch_latents=system.vit(x).patch_latents).logits
        assert not torch.allclose(with_latents, out.logits)  # the latents do change the prediction
    recognizer.save_pretrained(tmp_path)
    loaded = AutoModelForImageClassification.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(loaded(pixel_values=x).logits, out.logits)


def test_the_without_latents_ablation_has_no_latent_branch():
    config = preset_config("tiny").recognizer_config.to_dict()
    config["use_latents"] = False
    ablation = ExpressionRecognizer(type(preset_config("tiny").recognizer_config)(**config)).eval()
    full = ExpressionRecognizer(preset_config("tiny").recognizer_config)
    assert ablation.latent_head is None
    assert ablation.fusion_head.hidden[0].in_features == full.config.cnn_hidden_size
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        alone = ablation(pixel_values=x).logits
        given = ablation(pixel_values=x, patch_latents=torch.randn(2, 196, config["latent_dim"])).logits
    assert alone.shape == (2, 7) and torch.equal(alone, given)


# ------------------------------------------------------------------------------------------- deprecated names
@pytest.mark.parametrize(
    ("module", "old", "new"),
    [
        ("latent_ofer_hf", "OcclusionDetectorConfig", "OcclusionPatchDetectorConfig"),
        ("latent_ofer_hf", "ViTLatentsConfig", "ViTLatentBackboneConfig"),
        ("latent_ofer_hf", "RePaintReconstructionConfig", "RePaintReconstructorConfig"),
        ("latent_ofer_hf.models.occlusion_detector", "OcclusionDetectorOutput", "OcclusionPatchDetectorOutput"),
        ("latent_ofer_hf.models.vit_latents", "ViTLatentsPreTrainedModel", "ViTLatentBackbonePreTrainedModel"),
        ("latent_ofer_hf.models.hybrid_reconstruction", "HybridReconstructionOutput", "ReconstructionOutput"),
        ("latent_ofer_hf.models.vit_latents.configuration_vit_latents", "ViTLatentsConfig", "ViTLatentBackboneConfig"),
        (
            "latent_ofer_hf.models.occlusion_detector.modeling_occlusion_detector",
            "OcclusionDetectorOutput",
            "OcclusionPatchDetectorOutput",
        ),
        ("latent_ofer_hf.models.common.pixel_range", "normalised_to_unit_range", "normalized_to_unit_range"),
        ("latent_ofer_hf.pipelines", "visualise", "visualize"),
    ],
)
def test_old_names_still_import_with_a_warning(module, old, new):
    import importlib

    namespace = importlib.import_module(module)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = getattr(namespace, old)
    assert value is getattr(latent_ofer_hf, new, None) or value.__name__ == new
    assert any(issubclass(w.category, FutureWarning) and new in str(w.message) for w in caught)
    with pytest.raises(AttributeError):
        namespace.NoSuchName  # noqa: B018


def test_a_folder_saved_before_the_renames_still_loads(tmp_path):
    """model_type strings are unchanged, so a folder saved by 0.1.0.dev0 loads: AutoModel finds the classes."""
    model = LatentOferModel(preset_config("tiny"))
    model.save_pretrained(tmp_path)
    assert AutoConfig.from_pretrained(tmp_path / "detector").model_type == "latent-ofer-occlusion-detector"
    assert AutoConfig.from_pretrained(tmp_path / "vit").model_type == "latent-ofer-vit-latents"
    assert type(AutoModel.from_pretrained(tmp_path)).__name__ == "LatentOferModel"


# ---------------------------------------------------------------------------------------- declarative configs
def test_a_config_mutated_into_a_bad_state_is_refused_by_validate_and_save(tmp_path):
    from huggingface_hub.errors import StrictDataclassClassValidationError, StrictDataclassFieldValidationError

    config = preset_config("tiny").reconstructor_config
    with pytest.raises(ValueError, match="ngf must be a positive integer"):
        type(config)(**{**config.to_dict(), "ngf": 0})  # construction: a plain ValueError naming the field
    with pytest.raises(StrictDataclassFieldValidationError):
        config.ngf = "64"  # typed field: checked on assignment
    config.num_downs = 2  # a valid int, but assembly_level 3 must stay below it
    with pytest.raises(StrictDataclassClassValidationError, match="validate_unet_shape"):
        config.validate()
    with pytest.raises(StrictDataclassClassValidationError):
        config.save_pretrained(tmp_path)
    assert not (tmp_path / "config.json").exists()


def test_the_deprecated_module_name_and_keyword_still_work():
    import importlib

    from PIL import Image

    with pytest.warns(FutureWarning, match="pipelines.visualize"):
        module = importlib.reload(importlib.import_module("latent_ofer_hf.pipelines.visualise"))
    face = Image.new("RGB", (224, 224))
    mask = torch.zeros(14, 14, dtype=torch.bool).numpy()
    mask[0, 0] = True
    with pytest.warns(FutureWarning, match="color="):
        old = module.shade_patches(face, mask, **{"colour": (0, 255, 0)})  # the old British keyword
    assert old.tobytes() == module.shade_patches(face, mask, color=(0, 255, 0)).tobytes()
    with pytest.raises(TypeError, match="unexpected keyword"):
        module.shade_patches(face, mask, hue=3)


def test_shaded_patches_can_carry_an_outline_on_their_edge_only():
    import numpy as np
    from PIL import Image

    from latent_ofer_hf.pipelines.visualize import shade_patches

    face = Image.new("RGB", (224, 224), (200, 30, 30))  # a red face: red shading alone hardly shows
    mask = np.zeros((14, 14), dtype=bool)
    mask[2:5, 3:6] = True  # a 3 × 3 block of patches: pixels 32..79 down, 48..95 across
    pixels = np.asarray(shade_patches(face, mask, outline=(255, 230, 0)))
    yellow = (pixels == (255, 230, 0)).all(-1)
    assert yellow[32, 48:96].all() and yellow[79, 48:96].all() and yellow[32:80, 48].all() and yellow[32:80, 95].all()
    assert not yellow[33:79, 49:95].any() and yellow.sum() == 2 * 48 + 2 * 46  # inside and outside untouched
    assert not (np.asarray(shade_patches(face, mask)) == (255, 230, 0)).all(-1).any()  # no outline by default


def test_inputs_of_another_float_dtype_are_cast_to_the_model_s():
    from latent_ofer_hf import LatentOferModel, preset_config

    model = LatentOferModel(preset_config("tiny")).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        reference = model(x).logits
        assert torch.equal(model(x.double()).logits, reference)  # float64 in, the float32 model's own result
        assert model.recognizer(x.double()).logits.dtype == torch.float32
        holes = torch.zeros(2, 14, 14, dtype=torch.bool)
        holes[:, 4:7, 4:7] = True
        assert model.reconstruct(x.double(), holes, "hybrid").reconstruction.dtype == torch.float32  # U-Net too
        half = model.to(torch.bfloat16)
        assert half(x).logits.dtype == torch.bfloat16  # a float32 batch for a bfloat16 model
        assert half.reconstruct(x, holes, "hybrid").reconstruction.dtype == torch.bfloat16


def test_a_component_folder_is_refused_by_every_other_class_in_words(tmp_path):
    import shutil

    from latent_ofer_hf import (
        ExpressionRecognizer,
        LatentOferModel,
        OcclusionPatchDetector,
        ViTLatentBackbone,
        preset_config,
    )

    LatentOferModel(preset_config("tiny")).save_pretrained(tmp_path / "system")
    for cls, folder in (
        (ExpressionRecognizer, "vit"),
        (OcclusionPatchDetector, "recognizer"),
        (ViTLatentBackbone, "detector"),
    ):
        with pytest.raises(ValueError, match=f"cannot be loaded as {cls.__name__}Config"):
            cls.from_pretrained(tmp_path / "system" / folder)  # was: a model with random weights, or deep errors
    with pytest.raises(ValueError, match="not a whole Latent-OFER system"):
        LatentOferModel.from_pretrained(tmp_path / "system" / "vit")
    shutil.rmtree(tmp_path / "system" / "detector")
    with pytest.raises(ValueError, match=r"not a complete saved system: missing detector/"):
        LatentOferModel.from_pretrained(tmp_path / "system")


def test_save_pretrained_with_push_to_hub_keeps_the_local_copy_too(tmp_path, monkeypatch):
    from huggingface_hub import HfApi

    from latent_ofer_hf import LatentOferModel, preset_config

    sent = {}

    def fake_create_commit(self, repo_id, operations, **kwargs):
        sent[repo_id] = sorted(op.path_in_repo for op in operations)
        return type("Info", (), {"commit_url": f"https://huggingface.co/{repo_id}/commit/0", "oid": "0"})()

    monkeypatch.setattr(HfApi, "create_repo", lambda self, repo_id, **kwargs: type("Url", (), {"repo_id": repo_id})())
    monkeypatch.setattr(HfApi, "create_commit", fake_create_commit)
    LatentOferModel(preset_config("tiny")).save_pretrained(
        tmp_path / "local", push_to_hub=True, repo_id="someone/tiny", token="hf_fake"
    )
    assert (tmp_path / "local" / "recognizer" / "model.safetensors").is_file()  # as transformers' models do
    assert "recognizer/model.safetensors" in sent["someone/tiny"]


def test_the_image_processor_loads_through_auto_and_takes_arrays(tmp_path):
    import numpy as np
    from transformers import AutoImageProcessor, pipeline

    from latent_ofer_hf import LatentOferImageProcessor, LatentOferModel, preset_config

    pipeline("occluded-fer", model=LatentOferModel(preset_config("tiny")).eval()).save_pretrained(tmp_path)
    processor = AutoImageProcessor.from_pretrained(tmp_path)
    assert isinstance(processor, LatentOferImageProcessor)
    face = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    from PIL import Image

    as_tensor = processor(face)["pixel_values"]
    assert torch.equal(as_tensor, processor(Image.fromarray(face))["pixel_values"]) and as_tensor.shape == (
        1,
        3,
        224,
        224,
    )
    assert isinstance(processor(face, return_tensors="np")["pixel_values"], np.ndarray)
    with pytest.raises(ValueError, match="takes PIL images or uint8"):
        processor(face.astype(np.float32))


def test_processor_normalizes_every_uint8_value_as_the_float_formula_to_the_bit(tmp_path):
    import json

    import numpy as np
    from PIL import Image

    from latent_ofer_hf import LatentOferImageProcessor

    rng = np.random.default_rng(0)
    # every value 0..255 in every channel, in a different order per channel
    face = np.stack([rng.permutation(256) for _ in range(3)], -1).astype(np.uint8).reshape(16, 16, 3)
    for mean, std in (([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]), ([0.5, 0.25, 0.1], [0.3, 0.7, 0.11])):
        processor = LatentOferImageProcessor(size=16, image_mean=mean, image_std=std)
        expected = (np.asarray(face, dtype=np.float32) / 255.0 - np.asarray(mean, dtype=np.float32)) / np.asarray(
            std, dtype=np.float32
        )
        got = processor.to_pixel_values(Image.fromarray(face))
        assert got.dtype == torch.float32 and got.shape == (3, 16, 16)
        assert torch.equal(got, torch.from_numpy(expected.transpose(2, 0, 1).copy()))
    processor.image_mean = [0.0, 0.0, 0.0]  # a changed attribute is honoured, not a stale table
    assert float(processor.to_pixel_values(Image.fromarray(face))[0].max()) == np.float32(1.0) / np.float32(0.3)
    processor.save_pretrained(tmp_path)  # nothing of the lookup table leaks into the saved config
    assert set(json.loads((tmp_path / "preprocessor_config.json").read_text())) >= {"size", "image_mean", "image_std"}
    assert "table" not in (tmp_path / "preprocessor_config.json").read_text()


def test_processor_reads_arrays_without_pil_as_it_reads_their_images():
    import numpy as np
    from PIL import Image

    from latent_ofer_hf import LatentOferImageProcessor

    processor = LatentOferImageProcessor(size=32)
    face = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    for array in (face, face[:, ::-1], face[::-1, :, ::-1]):  # strided views too, as the flips of training give
        expected = processor.to_pixel_values(Image.fromarray(np.ascontiguousarray(array)))
        assert torch.equal(processor.array_to_pixel_values(array), expected)
    larger = np.random.default_rng(2).integers(0, 256, (48, 40, 3), dtype=np.uint8)  # resized, as its image is
    got = processor.array_to_pixel_values(larger)
    assert got.shape == (3, 32, 32) and torch.equal(got, processor.to_pixel_values(Image.fromarray(larger)))
    for bad in (face.astype(np.float32), face[..., 0], face[..., :2]):
        with pytest.raises(ValueError, match=r"RGB uint8 \[H, W, 3\]"):
            processor.array_to_pixel_values(bad)


def test_load_options_reach_the_same_parts_through_automodel_and_the_class(tmp_path):
    from transformers import AutoModel

    from latent_ofer_hf import LatentOferModel, preset_config

    LatentOferModel(preset_config("tiny")).save_pretrained(tmp_path)
    names = {index: name for index, name in enumerate("abcdefg")}
    for load in (AutoModel.from_pretrained, LatentOferModel.from_pretrained):
        model = load(tmp_path, attn_implementation="eager", id2label=names, reconstruction="none")
        assert model.vit.config._attn_implementation == "eager", load
        assert model.recognizer.config.id2label[0] == model.config.id2label[0] == "a", load
        assert model.config.reconstruction == "none", load
    plain = AutoModel.from_pretrained(tmp_path)
    assert plain.config.id2label[0] == "surprise" and plain.config.reconstruction == "hybrid"


def test_a_system_saved_again_without_its_reconstructor_leaves_no_old_one_behind(tmp_path):
    from latent_ofer_hf import LatentOferModel, preset_config

    full = LatentOferModel(preset_config("tiny"))
    full.save_pretrained(tmp_path)
    assert (tmp_path / "reconstructor" / "model.safetensors").is_file()
    (tmp_path / "reconstructor" / "mine.txt").write_text("a file of the user's")
    without = LatentOferModel.from_components(full.vit, full.detector, full.recognizer)
    without.save_pretrained(tmp_path)
    assert (tmp_path / "reconstructor" / "mine.txt").is_file()  # only a component's own files are ever removed
    (tmp_path / "reconstructor" / "mine.txt").unlink()
    without.save_pretrained(tmp_path)
    assert not (tmp_path / "reconstructor").exists()
    assert LatentOferModel.from_pretrained(tmp_path).reconstructor is None


def test_the_system_and_its_image_components_declare_image_inputs():
    """The pipeline's repr (and transformers' modality checks) read `input_modalities`, whose default is "text"."""
    assert LatentOferModel.input_modalities == ("image",)
    assert all(c.model_class.input_modalities == ("image",) for c in COMPONENTS if c.slot != "detector")
