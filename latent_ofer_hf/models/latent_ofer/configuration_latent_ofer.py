"""Configuration of the whole Latent-OFER system: one shared ViT, the detector, the recogniser (spec §1)."""

from __future__ import annotations

from transformers import PreTrainedConfig

from ..expression_recognizer.configuration_expression_recognizer import ExpressionRecognizerConfig
from ..occlusion_detector.configuration_occlusion_detector import OcclusionDetectorConfig
from ..vit_latents.configuration_vit_latents import ViTLatentsConfig

RECONSTRUCTION_MODES = ("mae", "none")
COMPONENT_SUBFOLDERS = {"vit_config": "vit", "detector_config": "detector", "recognizer_config": "recognizer"}


class LatentOferConfig(PreTrainedConfig):
    r"""
    Configuration of [`LatentOferModel`]: detect → mask and reconstruct → recognise, with one shared ViT.

    Each component keeps its own config (and, when saved, its own subfolder with `config.json` + `model.safetensors`);
    this config gathers them and checks that they fit together.

    vit_config (`dict` or `ViTLatentsConfig`, *optional*):
        The shared MAE ViT (spec §2.1): patch latents for the detector and the recogniser, MAE fill for step 2.
    detector_config (`dict` or `OcclusionDetectorConfig`, *optional*):
        The ViT-SVDD occlusion patch detector (spec §2.2).
    recognizer_config (`dict` or `ExpressionRecognizerConfig`, *optional*):
        The ResNet-18 + attention heads + expression-relevant latent recogniser (spec §2.4). Its `id2label` is the
        system's label schema.
    reconstruction (`str`, *optional*, defaults to `"mae"`):
        What fills the detected patches before recognition. `"mae"`: the MAE fill (the hybrid network's first,
        coarse stage, spec §2.3.1); the U-Net refinement with the self-assembly layer (spec §2.3.2) plugs in here as
        its own component (not yet part of this release). `"none"`: recognise the input as it is (ablation,
        Table 10 rows without "image recon").
    """

    model_type = "latent-ofer"
    sub_configs_defaults = {
        "vit_config": ViTLatentsConfig,
        "detector_config": OcclusionDetectorConfig,
        "recognizer_config": ExpressionRecognizerConfig,
    }

    vit_config: dict | ViTLatentsConfig | None = None
    detector_config: dict | OcclusionDetectorConfig | None = None
    recognizer_config: dict | ExpressionRecognizerConfig | None = None
    reconstruction: str = "mae"

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.reconstruction not in RECONSTRUCTION_MODES:
            raise ValueError(f"reconstruction must be one of {RECONSTRUCTION_MODES}, got {self.reconstruction!r}")
        vit, detector, recognizer = self.vit_config, self.detector_config, self.recognizer_config
        for name, component in (("detector_config", detector), ("recognizer_config", recognizer)):
            if component.latent_dim != vit.latent_dim:
                raise ValueError(f"{name}.latent_dim={component.latent_dim} does not match the ViT's latent width "
                                 f"{vit.latent_dim} (latent_source={vit.latent_source!r})")
            if component.num_patches != vit.num_patches:
                raise ValueError(f"{name}.num_patches={component.num_patches} does not match the ViT's "
                                 f"{vit.num_patches} patches")
        if detector.patch_size != vit.patch_size:
            raise ValueError(f"detector_config.patch_size={detector.patch_size} != ViT patch size {vit.patch_size}")
        if recognizer.image_size != vit.image_size:
            raise ValueError(f"recognizer_config.image_size={recognizer.image_size} != ViT image size {vit.image_size}")
        # the recogniser's label schema is the system's
        self.id2label = dict(recognizer.id2label)
        self.label2id = {label: index for index, label in self.id2label.items()}


__all__ = ["COMPONENT_SUBFOLDERS", "LatentOferConfig", "RECONSTRUCTION_MODES"]
