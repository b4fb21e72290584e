"""The composite Latent-OFER model: one shared ViT, the occlusion detector, the reconstruction, the recogniser.

Each component is a `PreTrainedModel` of its own and is saved in its own subfolder (``vit/``, ``detector/``,
``recognizer/``: a ``config.json`` and a ``model.safetensors`` each), the way diffusers keeps pipeline components,
so a component can be loaded, fine-tuned or published alone; the root ``config.json`` ties them together and is what
``AutoModel`` / ``pipeline("occluded-fer", model=...)`` load.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..common.hub_code import HubCodeMixin, auto_map_entry, write_flat_modules
from ..common.input_checks import check_pixel_values, patch_mask_to_pixel_mask
from ..expression_recognizer.modeling_expression_recognizer import ExpressionRecognizer
from ..occlusion_detector.modeling_occlusion_detector import OcclusionPatchDetector
from ..vit_latents.modeling_vit_latents import ViTLatentBackbone
from .configuration_latent_ofer import COMPONENT_SUBFOLDERS, LatentOferConfig

# from_pretrained keywords that locate files (forwarded to each component with its subfolder)
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "proxies", "subfolder")


@dataclass
class LatentOferOutput(ModelOutput):
    r"""
    loss (`torch.FloatTensor` of shape `()`, *optional*):
        Cross-entropy of the recogniser's logits when `labels` are given.
    logits (`torch.FloatTensor` of shape `[B, num_labels]`):
        Expression logits (label order: `config.id2label`).
    patch_mask (`torch.BoolTensor` of shape `[B, g, g]`):
        Patches the detector flagged as occluded (g = 14 for 224/16).
    pixel_mask (`torch.BoolTensor` of shape `[B, 1, H, W]`):
        The same mask in pixels (16×16 blocks).
    anomaly_scores (`torch.FloatTensor` of shape `[B, N]`):
        Detector scores d² − R² per patch (positive ⇒ occluded).
    occlusion_ratio (`torch.FloatTensor` of shape `[B]`):
        Fraction of patches flagged.
    reconstruction (`torch.FloatTensor` of shape `[B, 3, H, W]`, *optional*):
        The de-occluded face that was recognised (normalised pixels); None when `reconstruction="none"`.
    relevant_patches (`torch.LongTensor` of shape `[B, K]`):
        Patch indices whose ViT latents the recogniser used (spec §2.4.2).
    attention_maps (`torch.FloatTensor` of shape `[B, heads, 7, 7]`):
        The recogniser's spatial attention maps.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    patch_mask: torch.BoolTensor | None = None
    pixel_mask: torch.BoolTensor | None = None
    anomaly_scores: torch.FloatTensor | None = None
    occlusion_ratio: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    relevant_patches: torch.LongTensor | None = None
    attention_maps: torch.FloatTensor | None = None


class LatentOferPreTrainedModel(HubCodeMixin, PreTrainedModel):
    config_class = LatentOferConfig
    base_model_prefix = "latent_ofer"
    main_input_name = "pixel_values"
    _supports_sdpa = True  # the ViT's attention; the other components have none

    def _init_weights(self, module: nn.Module) -> None:
        """Every component initialises itself in its own `post_init`; nothing is owned by the composite."""


class LatentOferModel(LatentOferPreTrainedModel):
    """Latent-OFER: detect occluded patches → reconstruct them → recognise the expression (spec §1).

    Example:
        >>> from latent_ofer_hf import LatentOferModel, preset_config
        >>> model = LatentOferModel(preset_config("tiny"))           # random weights (tests)
        >>> out = model(pixel_values)                                # [B, 3, 224, 224], ImageNet-normalised
        >>> out.logits.shape, out.patch_mask.shape                   # [B, 7], [B, 14, 14]
    """

    component_classes = {
        "vit": ViTLatentBackbone,
        "detector": OcclusionPatchDetector,
        "recognizer": ExpressionRecognizer,
    }

    def __init__(
        self,
        config: LatentOferConfig,
        vit: ViTLatentBackbone | None = None,
        detector: OcclusionPatchDetector | None = None,
        recognizer: ExpressionRecognizer | None = None,
    ):
        super().__init__(config)
        self.vit = vit if vit is not None else ViTLatentBackbone(config.vit_config)
        self.detector = detector if detector is not None else OcclusionPatchDetector(config.detector_config)
        self.recognizer = recognizer if recognizer is not None else ExpressionRecognizer(config.recognizer_config)
        # the components' configs are the truth: keep the composite's view of them identical
        config.vit_config, config.detector_config = self.vit.config, self.detector.config
        config.recognizer_config = self.recognizer.config
        if self.vit.config._attn_implementation is None:  # building the composite config drops a loaded ViT's choice
            self.vit.set_attn_implementation(config._attn_implementation or "sdpa")
        self.post_init()

    @classmethod
    def from_components(
        cls,
        vit: ViTLatentBackbone,
        detector: OcclusionPatchDetector,
        recognizer: ExpressionRecognizer,
        **config_kwargs,
    ) -> LatentOferModel:
        """Assemble a system from (separately trained or loaded) components; their configs are checked to fit."""
        config = LatentOferConfig(
            vit_config=vit.config, detector_config=detector.config, recognizer_config=recognizer.config, **config_kwargs
        )
        return cls(config, vit=vit, detector=detector, recognizer=recognizer)

    # -- persistence: one subfolder per component ------------------------------------------------------------------
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        is_main_process: bool = True,
        push_to_hub: bool = False,
        **kwargs,
    ) -> None:
        """Write `config.json` here and each component into `vit/`, `detector/`, `recognizer/` (safetensors)."""
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory must be a directory, got the file {save_directory}")
        if push_to_hub:
            return self.push_to_hub(kwargs.pop("repo_id", Path(save_directory).name), **kwargs)
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        for subfolder in COMPONENT_SUBFOLDERS.values():
            component = getattr(self, subfolder)
            component.save_pretrained(save_directory / subfolder, is_main_process=is_main_process, **kwargs)
        if not is_main_process:
            return None
        config = self.config
        config.architectures = [type(self).__name__]
        if type(self)._auto_class is not None:
            auto_map = dict(getattr(config, "auto_map", None) or {})
            auto_map.update({"AutoConfig": auto_map_entry(type(config)),
                             type(self)._auto_class: auto_map_entry(type(self))})
            config.auto_map = auto_map
            write_flat_modules(type(self), save_directory)
            write_flat_modules(type(config), save_directory)
        # the root config repeats the component configs (so AutoConfig sees the whole system); on load the
        # subfolders' own configs are authoritative
        config.save_pretrained(save_directory)
        return None

    @classmethod
    def from_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, *model_args, config: LatentOferConfig | None = None,
        **kwargs,
    ) -> LatentOferModel:
        """Load the root `config.json` and each component from its subfolder (local directory or Hub repo id)."""
        if model_args:
            raise ValueError(f"{cls.__name__}.from_pretrained takes no positional model arguments")
        path = str(pretrained_model_name_or_path)
        hub_kwargs = {key: kwargs[key] for key in _HUB_KWARGS if key in kwargs}
        base_subfolder = hub_kwargs.pop("subfolder", "") or ""
        component_kwargs = {key: value for key, value in kwargs.items() if key not in _HUB_KWARGS}
        for private in ("_from_auto", "_from_pipeline", "trust_remote_code", "code_revision", "adapter_kwargs"):
            component_kwargs.pop(private, None)
        components = {}
        for subfolder in COMPONENT_SUBFOLDERS.values():
            component_class = cls.component_classes[subfolder]
            location = f"{base_subfolder}/{subfolder}" if base_subfolder else subfolder
            components[subfolder] = component_class.from_pretrained(
                path, subfolder=location, **hub_kwargs, **component_kwargs
            )
        root_config_kwargs = {}
        if config is not None:
            root_config_kwargs = {"reconstruction": config.reconstruction}
        else:
            root = cls.config_class.get_config_dict(path, subfolder=base_subfolder, **hub_kwargs)[0]
            root_config_kwargs = {"reconstruction": root.get("reconstruction", "mae")}
        model = cls.from_components(**components, **root_config_kwargs)
        model.config.name_or_path = path
        return model.eval()

    # -- the method ------------------------------------------------------------------------------------------------
    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        reconstruction: str | None = None,
        **kwargs,
    ) -> LatentOferOutput:
        """Detect → reconstruct → recognise.

        Args:
            pixel_values: `[B, 3, 224, 224]` ImageNet-normalised face crops.
            labels: optional `[B]` class indices (order `config.id2label`) → `loss`.
            reconstruction: override `config.reconstruction` for this call (`"mae"` or `"none"`).
        """
        config = self.config
        check_pixel_values(pixel_values, image_size=config.vit_config.image_size)
        mode = config.reconstruction if reconstruction is None else reconstruction
        if mode not in ("mae", "none"):
            raise ValueError(f"reconstruction must be 'mae' or 'none', got {mode!r}")
        # 1. ViT latents of every patch (one encoder pass)
        vit_out = self.vit(pixel_values)
        patch_latents = vit_out.patch_latents
        # 2. occluded patches: Deep-SVDD distance to the centre above the radius
        detection = self.detector(patch_latents=patch_latents, return_loss=False)
        patch_mask = detection.patch_mask.reshape(pixel_values.shape[0], -1)
        # 3. mask and reconstruct: the MAE fills the flagged patches from the visible ones
        reconstructed = None
        face = pixel_values
        if mode == "mae":
            reconstructed = self.vit._fill(pixel_values, patch_mask)
            face = reconstructed
        # 4. recognise, with the expression-relevant latents of the input image
        recognition = self.recognizer(pixel_values=face, patch_latents=patch_latents, labels=labels)
        grid = config.vit_config.grid_size
        return LatentOferOutput(
            loss=recognition.loss,
            logits=recognition.logits,
            patch_mask=patch_mask.reshape(-1, grid, grid),
            pixel_mask=patch_mask_to_pixel_mask(patch_mask, grid_size=grid, patch_size=config.vit_config.patch_size),
            anomaly_scores=detection.anomaly_scores,
            occlusion_ratio=detection.occlusion_ratio,
            reconstruction=reconstructed,
            relevant_patches=recognition.relevant_patches,
            attention_maps=recognition.attention_maps,
        )


__all__ = ["LatentOferModel", "LatentOferOutput", "LatentOferPreTrainedModel"]
