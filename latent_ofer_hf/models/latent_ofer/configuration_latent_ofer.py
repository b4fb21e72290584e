"""Configuration of the whole Latent-OFER system: one shared ViT, the detector, the recogniser (spec §1)."""

from __future__ import annotations

from transformers import PreTrainedConfig

from ..diffusion_reconstruction.configuration_repaint_reconstruction import RePaintReconstructionConfig
from ..expression_recognizer.configuration_expression_recognizer import ExpressionRecognizerConfig
from ..hybrid_reconstruction.configuration_hybrid_reconstruction import HybridReconstructionConfig
from ..occlusion_detector.configuration_occlusion_detector import OcclusionDetectorConfig
from ..vit_latents.configuration_vit_latents import ViTLatentsConfig

RECONSTRUCTION_MODES = ("hybrid", "mae", "diffusion", "none")
COMPONENT_SUBFOLDERS = {
    "vit_config": "vit",
    "detector_config": "detector",
    "reconstructor_config": "reconstructor",  # optional
    "recognizer_config": "recognizer",
}
RECONSTRUCTOR_CONFIGS = {
    HybridReconstructionConfig.model_type: HybridReconstructionConfig,
    RePaintReconstructionConfig.model_type: RePaintReconstructionConfig,
}
# which reconstructor each mode needs (None: the mode needs none)
MODE_RECONSTRUCTOR = {"hybrid": HybridReconstructionConfig, "diffusion": RePaintReconstructionConfig,
                      "mae": None, "none": None}


class LatentOferConfig(PreTrainedConfig):
    r"""
    Configuration of [`LatentOferModel`]: detect → mask and reconstruct → recognise, with one shared ViT.

    Each component keeps its own config (and, when saved, its own subfolder with `config.json` + `model.safetensors`);
    this config gathers them and checks that they fit together.

    vit_config (`dict` or `ViTLatentsConfig`, *optional*):
        The shared MAE ViT (spec §2.1): patch latents for the detector and the recogniser, MAE fill for step 2.
    detector_config (`dict` or `OcclusionDetectorConfig`, *optional*):
        The ViT-SVDD occlusion patch detector (spec §2.2).
    reconstructor_config (`dict`, `HybridReconstructionConfig` or `RePaintReconstructionConfig`, *optional*):
        Step 2's refinement network: the hybrid U-Net with the self-assembly layer (spec §2.3.2) or, for comparison,
        the RePaint diffusion backend. A dict picks its class by `model_type` (default: hybrid). None: no
        refinement network (modes `"mae"` and `"none"` only).
    recognizer_config (`dict` or `ExpressionRecognizerConfig`, *optional*):
        The ResNet-18 + attention heads + expression-relevant latent recogniser (spec §2.4). Its `id2label` is the
        system's label schema.
    reconstruction (`str`, *optional*, defaults by the reconstructor: `"hybrid"` (U-Net), `"diffusion"` (RePaint), or
        `"mae"` when there is none):
        What fills the detected patches before recognition. `"hybrid"`: MAE fill then the U-Net refinement (the
        paper, spec §2.3). `"mae"`: the MAE fill alone (the coarse stage, spec §2.3.1; Table 2's "MAE" row).
        `"diffusion"`: the RePaint backend (beyond the paper). `"none"`: recognise the input as it is (ablation,
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
    reconstructor_config: dict | HybridReconstructionConfig | RePaintReconstructionConfig | None = None
    reconstruction: str | None = None

    def __post_init__(self, **kwargs):
        if isinstance(self.reconstructor_config, dict):
            fields = dict(self.reconstructor_config)
            model_type = fields.pop("model_type", HybridReconstructionConfig.model_type)
            if model_type not in RECONSTRUCTOR_CONFIGS:
                raise ValueError(f"reconstructor_config has unknown model_type {model_type!r}; choose one of "
                                 f"{sorted(RECONSTRUCTOR_CONFIGS)}")
            self.reconstructor_config = RECONSTRUCTOR_CONFIGS[model_type](**fields)
        elif self.reconstructor_config is not None and not isinstance(
            self.reconstructor_config, tuple(RECONSTRUCTOR_CONFIGS.values())
        ):
            raise ValueError(f"reconstructor_config must be a dict, HybridReconstructionConfig or "
                             f"RePaintReconstructionConfig, got {type(self.reconstructor_config).__name__}")
        if self.reconstruction is None:
            self.reconstruction = "mae"
            for mode, config_class in MODE_RECONSTRUCTOR.items():
                if config_class is not None and isinstance(self.reconstructor_config, config_class):
                    self.reconstruction = mode
        super().__post_init__(**kwargs)
        check_reconstruction_mode(self.reconstruction, self.reconstructor_config)
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


def check_reconstruction_mode(mode: str, reconstructor_config: object) -> None:
    """Raise a clear error when `mode` is unknown or needs a reconstructor the system does not have."""
    if mode not in RECONSTRUCTION_MODES:
        raise ValueError(f"reconstruction must be one of {RECONSTRUCTION_MODES}, got {mode!r}")
    needed = MODE_RECONSTRUCTOR[mode]
    if needed is not None and not isinstance(reconstructor_config, needed):
        have = type(reconstructor_config).__name__ if reconstructor_config is not None else "none"
        raise ValueError(f"reconstruction={mode!r} needs a {needed.__name__} reconstructor, this system has {have}")


__all__ = ["COMPONENT_SUBFOLDERS", "LatentOferConfig", "RECONSTRUCTION_MODES", "check_reconstruction_mode"]
