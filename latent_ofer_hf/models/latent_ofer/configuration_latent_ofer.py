"""Configuration of the whole Latent-OFER system: one shared ViT, the detector, the recogniser
(docs/method.md#overview)."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig

from ..common.config_checks import ModelTypeChecked, run_validators
from ..diffusion_reconstruction.configuration_repaint_reconstruction import RePaintReconstructorConfig
from ..expression_recognizer.configuration_expression_recognizer import ExpressionRecognizerConfig
from ..hybrid_reconstruction.configuration_hybrid_reconstruction import HybridReconstructionConfig
from ..occlusion_detector.configuration_occlusion_detector import OcclusionPatchDetectorConfig
from ..vit_latents.configuration_vit_latents import ViTLatentBackboneConfig
from .components import (
    OPTIONAL_SLOTS,
    RECONSTRUCTION_MODES,
    SLOTS,
    check_reconstruction_mode,
    component_for_config,
    component_for_model_type,
)

#: subfolder of each component in a saved system (the slot names)
COMPONENT_SUBFOLDERS = {f"{slot}_config": slot for slot in SLOTS}


@strict
class LatentOferConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`LatentOferModel`]: detect → mask and reconstruct → recognise, with one shared ViT.

    Each component keeps its own config (and, when saved, its own subfolder with `config.json` + `model.safetensors`);
    this config gathers them and checks that they fit together.

    vit_config (`dict` or `ViTLatentBackboneConfig`, *optional*):
        The shared MAE ViT (docs/method.md#vit-latents): patch latents for the detector and the recogniser, MAE fill
        for step 2.
    detector_config (`dict` or `OcclusionPatchDetectorConfig`, *optional*):
        The ViT-SVDD occlusion patch detector (docs/method.md#occlusion-detector).
    reconstructor_config (`dict`, `HybridReconstructionConfig` or `RePaintReconstructorConfig`, *optional*):
        Step 2's refinement network: the hybrid U-Net with the self-assembly layer (docs/method.md#refinement-u-net)
        or, for comparison, the RePaint diffusion backend. A dict picks its class by `model_type` (default: hybrid).
        None: no refinement network (modes `"mae"` and `"none"` only).
    recognizer_config (`dict` or `ExpressionRecognizerConfig`, *optional*):
        The ResNet-18 + attention heads + expression-relevant latent recogniser (docs/method.md#expression-recognizer).
        Its `id2label` is the system's label schema.
    reconstruction (`str`, *optional*, defaults by the reconstructor: `"hybrid"` (U-Net), `"diffusion"` (RePaint), or
        `"mae"` when there is none):
        What fills the detected patches before recognition. `"hybrid"`: MAE fill then the U-Net refinement (the
        paper, docs/method.md#hybrid-reconstruction). `"mae"`: the MAE fill alone (the coarse stage,
        docs/method.md#mae-fill; Table 2's "MAE" row). `"diffusion"`: the RePaint backend (beyond the paper).
        `"none"`: recognise the input as it is (ablation, Table 10 rows without "image recon").
    training_data (`str`, *optional*):
        Not from the paper: where the weights were trained (`train.py` writes its `--data`, e.g. `"synthfer"`,
        `"rafdb"`). For `"synthfer"` (the shipped demo checkpoint) the pipeline, the CLI and the Space say that the
        model saw only synthetic cartoon faces and that its predictions on real photos are not meaningful.
    """

    model_type = "latent-ofer"
    sub_configs_defaults = {
        f"{slot}_config": component_for_model_type(slot, None).config_class
        for slot in SLOTS
        if slot not in OPTIONAL_SLOTS
    }

    vit_config: dict | ViTLatentBackboneConfig | None = None
    detector_config: dict | OcclusionPatchDetectorConfig | None = None
    recognizer_config: dict | ExpressionRecognizerConfig | None = None
    reconstructor_config: dict | HybridReconstructionConfig | RePaintReconstructorConfig | None = None
    reconstruction: str | None = None
    training_data: str | None = None

    def __post_init__(self, **kwargs):
        for slot in OPTIONAL_SLOTS:  # alternatives: a dict picks its class by model_type (default: the first)
            field = f"{slot}_config"
            value = getattr(self, field)
            if isinstance(value, dict):
                fields = dict(value)
                component = component_for_model_type(slot, fields.pop("model_type", None))
                setattr(self, field, component.config_class(**fields))
            elif value is not None:
                component_for_config(slot, value)
        if self.reconstruction is None:
            reconstructor = self.reconstructor_config
            self.reconstruction = (
                "mae"
                if reconstructor is None
                else (component_for_config("reconstructor", reconstructor).reconstruction)
            )
        super().__post_init__(**kwargs)
        # the recogniser's label schema is the system's
        self.id2label = dict(self.recognizer_config.id2label)
        self.label2id = {label: index for index, label in self.id2label.items()}
        run_validators(self)

    def to_dict(self) -> dict:
        """As transformers', less each component's `_name_or_path` (the folder it was loaded from, e.g. a local
        training stage: transformers drops it only at the top level)."""
        output = super().to_dict()
        for field in COMPONENT_SUBFOLDERS:
            if isinstance(output.get(field), dict):
                output[field].pop("_name_or_path", None)
        return output

    def to_diff_dict(self) -> dict:
        """As transformers', with the optional reconstructor's config also written as its own `config.json` is (only
        what differs from the defaults: transformers diffs only the sub-configs with a class default, and would
        write a U-Net's config with `id2label`, `problem_type` and the like)."""
        output = super().to_diff_dict()
        if isinstance(self.reconstructor_config, PreTrainedConfig):
            nested = self.reconstructor_config.to_diff_dict()
            nested.pop("transformers_version", None)
            output["reconstructor_config"] = {**nested, "model_type": self.reconstructor_config.model_type}
        return output

    def validate_reconstruction(self) -> None:
        check_reconstruction_mode(self.reconstruction, self.reconstructor_config)

    def validate_components_fit(self) -> None:
        vit, detector, recognizer = self.vit_config, self.detector_config, self.recognizer_config
        for name, component in (("detector_config", detector), ("recognizer_config", recognizer)):
            if component.latent_dim != vit.latent_dim:
                raise ValueError(
                    f"{name}.latent_dim={component.latent_dim} does not match the ViT's latent width "
                    f"{vit.latent_dim} (latent_source={vit.latent_source!r})"
                )
            if component.num_patches != vit.num_patches:
                raise ValueError(
                    f"{name}.num_patches={component.num_patches} does not match the ViT's {vit.num_patches} patches"
                )
        if detector.patch_size != vit.patch_size:
            raise ValueError(f"detector_config.patch_size={detector.patch_size} != ViT patch size {vit.patch_size}")
        if recognizer.image_size != vit.image_size:
            raise ValueError(f"recognizer_config.image_size={recognizer.image_size} != ViT image size {vit.image_size}")
        if vit.mae_config.num_channels != 3:  # the recogniser's ResNet and the pipeline read RGB faces
            raise ValueError(
                f"vit_config.mae_config.num_channels must be 3 (RGB faces), got {vit.mae_config.num_channels}"
            )


__all__ = ["COMPONENT_SUBFOLDERS", "LatentOferConfig", "RECONSTRUCTION_MODES", "check_reconstruction_mode"]
