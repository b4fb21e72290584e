"""The composite Latent-OFER model: one shared ViT, the occlusion detector, the reconstruction, the recogniser.

Each component is a `PreTrainedModel` of its own and is saved in its own subfolder (``vit/``, ``detector/``,
``reconstructor/`` when the system has one, ``recognizer/``: a ``config.json`` and a ``model.safetensors`` each),
the way diffusers keeps pipeline components, so a component can be loaded, fine-tuned or published alone; the root
``config.json`` ties them together and is what ``AutoModel`` / ``pipeline("occluded-fer", model=...)`` load.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.utils import ModelOutput

from ..common.hub_code import HUB_KWARGS, HubCodeMixin, auto_map_entry, write_flat_modules
from ..common.input_checks import check_patch_mask, check_pixel_values, patch_mask_to_pixel_mask
from ..common.reconstruction import ReconstructionOutput
from ..diffusion_reconstruction.modeling_repaint_reconstruction import RePaintReconstructor
from ..expression_recognizer.modeling_expression_recognizer import ExpressionRecognizer
from ..hybrid_reconstruction.modeling_hybrid_reconstruction import HybridReconstructionNetwork
from ..occlusion_detector.modeling_occlusion_detector import OcclusionPatchDetector
from ..vit_latents.modeling_vit_latents import ViTLatentBackbone
from .components import OPTIONAL_SLOTS, SLOTS, check_reconstruction_mode, component_for_config, component_for_model_type
from .configuration_latent_ofer import LatentOferConfig

Reconstructor = HybridReconstructionNetwork | RePaintReconstructor

# standard transformers forward flags that this model accepts and has nothing to do with
_IGNORED_FORWARD_KWARGS = {"output_attentions", "output_hidden_states"}
# from_pretrained keywords that locate files (forwarded to each component with its subfolder)
#: save_pretrained(push_to_hub=True) options that are the upload's, not the files'
_PUSH_KWARGS = ("repo_id", "commit_message", "commit_description", "private", "token", "create_pr", "revision", "tags")


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
        The de-occluded face that was recognised (normalised pixels, visible pixels kept); None when
        `reconstruction="none"`.
    relevant_patches (`torch.LongTensor` of shape `[B, K]`):
        Patch indices whose ViT latents the recogniser used (docs/method.md#latent-selection).
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
    input_modalities = ("image",)
    _supports_sdpa = True  # the ViT's attention; the other components have none

    def _init_weights(self, module: nn.Module) -> None:
        """Every component initialises itself in its own `post_init`; nothing is owned by the composite."""


def _only_saved_component_files(folder: Path) -> bool:
    """``folder`` holds nothing but what a component's ``save_pretrained`` writes (safe to remove)."""
    if not (folder / "config.json").is_file():
        return False
    written = ("config.json", "README.md", "generation_config.json")
    return all(
        entry.is_file()
        and (entry.name in written or entry.suffix in (".safetensors", ".py") or entry.name.endswith(".index.json"))
        for entry in folder.iterdir()
    )


class LatentOferModel(LatentOferPreTrainedModel):
    """Latent-OFER: detect occluded patches → reconstruct them → recognise the expression (docs/method.md#overview).

    Example:
        >>> from latent_ofer_hf import LatentOferModel, preset_config
        >>> model = LatentOferModel(preset_config("tiny"))           # random weights (tests)
        >>> out = model(pixel_values)                                # [B, 3, 224, 224], ImageNet-normalised
        >>> out.logits.shape, out.patch_mask.shape                   # [B, 7], [B, 14, 14]
    """

    def __init__(
        self,
        config: LatentOferConfig,
        vit: ViTLatentBackbone | None = None,
        detector: OcclusionPatchDetector | None = None,
        recognizer: ExpressionRecognizer | None = None,
        reconstructor: Reconstructor | None = None,
    ):
        super().__init__(config)
        given = {"vit": vit, "detector": detector, "recognizer": recognizer, "reconstructor": reconstructor}
        for slot in SLOTS:  # a component not given is built from its config (an optional slot may stay empty)
            component, component_config = given[slot], getattr(config, f"{slot}_config")
            if component is None and component_config is not None:
                component = component_for_config(slot, component_config).model_class(component_config)
            setattr(self, slot, component)
            # the components' configs are the truth: keep the composite's view of them identical
            setattr(config, f"{slot}_config", None if component is None else component.config)
        if self.vit.config._attn_implementation is None:  # building the composite config drops a loaded ViT's choice
            self.vit.set_attn_implementation(config._attn_implementation or "sdpa")
        self.post_init()

    @classmethod
    def from_components(
        cls,
        vit: ViTLatentBackbone,
        detector: OcclusionPatchDetector,
        recognizer: ExpressionRecognizer,
        reconstructor: Reconstructor | None = None,
        **config_kwargs,
    ) -> LatentOferModel:
        """Assemble a system from (separately trained or loaded) components; their configs are checked to fit."""
        components = {"vit": vit, "detector": detector, "recognizer": recognizer, "reconstructor": reconstructor}
        expected = {"vit": ViTLatentBackbone, "detector": OcclusionPatchDetector, "recognizer": ExpressionRecognizer}
        for slot, kind in expected.items():  # a part in the wrong slot: named here, not in a dump of its config
            if not isinstance(components[slot], kind):
                raise ValueError(f"{slot}: expected {kind.__name__}, got {type(components[slot]).__name__}")
        attention = vit.config._attn_implementation  # building the composite config resets it on the ViT's config
        config = LatentOferConfig(
            **{f"{slot}_config": None if part is None else part.config for slot, part in components.items()},
            **config_kwargs,
        )
        if attention is not None:
            vit.set_attn_implementation(attention)
        return cls(config, **components)

    # -- persistence: one subfolder per component ------------------------------------------------------------------
    def save_pretrained(
        self,
        save_directory: str | os.PathLike,
        is_main_process: bool = True,
        push_to_hub: bool = False,
        **kwargs,
    ) -> None:
        """Write `config.json` here and each component into its slot's subfolder (`vit/`, `detector/`,
        [`reconstructor/`,] `recognizer/`); with ``push_to_hub`` also upload it (``repo_id``, default the folder's
        name; the Hub options go to `push_to_hub`), as transformers' models do."""
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory must be a directory, got the file {save_directory}")
        if push_to_hub:
            hub = {key: kwargs.pop(key) for key in _PUSH_KWARGS if key in kwargs}
            self.save_pretrained(save_directory, is_main_process=is_main_process, **kwargs)
            if is_main_process:
                self.push_to_hub(hub.pop("repo_id", Path(save_directory).name), **hub)
            return None
        save_directory = Path(save_directory)
        save_directory.mkdir(parents=True, exist_ok=True)
        for slot in SLOTS:
            component = getattr(self, slot)
            if component is not None:
                component.save_pretrained(save_directory / slot, is_main_process=is_main_process, **kwargs)
            elif is_main_process and _only_saved_component_files(save_directory / slot):
                shutil.rmtree(save_directory / slot)  # an earlier save's component this system no longer has
        if not is_main_process:
            return None
        config = self.config
        config.architectures = [type(self).__name__]
        if type(self)._auto_class is not None:
            auto_map = dict(getattr(config, "auto_map", None) or {})
            auto_map.update(
                {"AutoConfig": auto_map_entry(type(config)), type(self)._auto_class: auto_map_entry(type(self))}
            )
            config.auto_map = auto_map
            write_flat_modules(type(self), save_directory)
            write_flat_modules(type(config), save_directory)
        # the root config repeats the component configs (so AutoConfig sees the whole system); on load the
        # subfolders' own configs are authoritative
        config.save_pretrained(save_directory)
        return None

    @classmethod
    def from_pretrained(
        cls,
        pretrained_model_name_or_path: str | os.PathLike,
        *model_args,
        config: LatentOferConfig | None = None,
        **kwargs,
    ) -> LatentOferModel:
        """Load the root `config.json` and each component from its subfolder (local directory or Hub repo id)."""
        if model_args:
            raise ValueError(f"{cls.__name__}.from_pretrained takes no positional model arguments")
        path = str(pretrained_model_name_or_path)
        hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
        base_subfolder = hub_kwargs.pop("subfolder", "") or ""
        component_kwargs = {key: value for key, value in kwargs.items() if key not in HUB_KWARGS}
        for private in ("_from_auto", "_from_pipeline", "trust_remote_code", "code_revision", "adapter_kwargs"):
            component_kwargs.pop(private, None)
        root = cls.config_class.get_config_dict(path, subfolder=base_subfolder, **hub_kwargs)[0]
        if root.get("model_type") != cls.config_class.model_type:  # e.g. one component's folder
            raise ValueError(
                f"{path} holds a {root.get('model_type')!r} model, not a whole Latent-OFER system "
                f"({cls.config_class.model_type!r}); a component's folder (vit/, recognizer/, …)? Give the one above it"
            )
        local = Path(path) / base_subfolder
        if local.is_dir():  # a local folder: name the component that is missing, not a file deep inside it
            missing = [
                slot for slot in SLOTS
                if root.get(f"{slot}_config") is not None and not (local / slot / "config.json").is_file()
            ]  # fmt: skip
            if missing:
                folders = ", ".join(f"{slot}/" for slot in missing)
                raise ValueError(f"{path} is not a complete saved system: missing {folders}")
        # options of the system, not of its components (given directly, or through `config=` as AutoModel does)
        system = {
            key: component_kwargs.pop(key) for key in ("reconstruction", "training_data") if key in component_kwargs
        }
        labels = {key: component_kwargs.pop(key) for key in ("id2label", "label2id", "num_labels") if key in kwargs}
        return_dict = component_kwargs.get("return_dict")  # the system's outputs too, not only its components'
        if return_dict is None and config is not None:  # AutoModel moves it into the config it passes
            return_dict = config.return_dict
        attention = component_kwargs.pop("attn_implementation", None)  # only the ViT has attention
        if config is not None:
            attention = attention or getattr(config, "_attn_implementation_internal", None)
            saved = {int(index): name for index, name in (root.get("id2label") or {}).items()}
            if not labels and config.id2label and dict(config.id2label) != saved:
                labels = {"id2label": dict(config.id2label)}
        components = {}
        for slot in SLOTS:
            saved = root.get(f"{slot}_config")
            if saved is None and slot in OPTIONAL_SLOTS:
                continue
            try:
                component_class = component_for_model_type(slot, (saved or {}).get("model_type")).model_class
            except ValueError as error:
                raise ValueError(f"{path}: {error}") from None
            location = f"{base_subfolder}/{slot}" if base_subfolder else slot
            extra = {"attn_implementation": attention} if slot == "vit" and attention is not None else {}
            if slot == "recognizer":
                extra.update(labels)
            components[slot] = component_class.from_pretrained(
                path, subfolder=location, **hub_kwargs, **component_kwargs, **extra
            )
        mode = system.get("reconstruction", config.reconstruction if config is not None else root.get("reconstruction"))
        training_data = system.get(
            "training_data", config.training_data if config is not None else root.get("training_data")
        )
        model = cls.from_components(**components, reconstruction=mode, training_data=training_data)
        model.config.name_or_path = path
        if return_dict is not None:
            model.config.return_dict = return_dict
        return model.eval()

    # -- the method ------------------------------------------------------------------------------------------------
    def reconstruct(
        self,
        pixel_values: torch.Tensor,
        patch_mask: torch.Tensor,
        reconstruction: str | None = None,
        **backend_kwargs,
    ) -> ReconstructionOutput:
        """Step 2 alone: fill the patches of `patch_mask` (``[B, g, g]`` or ``[B, N]``) by `reconstruction`
        (default `config.reconstruction`): `"mae"` (stage 1), `"hybrid"` (MAE fill + U-Net), `"diffusion"` (RePaint).
        `backend_kwargs` go to the reconstructor (e.g. `generator=` for RePaint)."""
        mode = self.config.reconstruction if reconstruction is None else reconstruction
        check_reconstruction_mode(mode, None if self.reconstructor is None else self.reconstructor.config)
        if mode == "none":
            raise ValueError("reconstruction='none' does not reconstruct; choose 'mae', 'hybrid' or 'diffusion'")
        grid = self.config.vit_config.grid_size
        patch_mask = check_patch_mask(patch_mask, batch_size=pixel_values.shape[0], grid_size=grid)
        patch_mask = patch_mask.to(pixel_values.device)
        if mode == "diffusion":
            return self.reconstructor(pixel_values, patch_mask=patch_mask, return_dict=True, **backend_kwargs)
        coarse = self.vit.fill(pixel_values, patch_mask)  # stage 1: MAE, visible pixels kept
        if mode == "mae":
            patch_size = self.config.vit_config.patch_size
            pixel_mask = patch_mask_to_pixel_mask(patch_mask, grid_size=grid, patch_size=patch_size)
            return ReconstructionOutput(reconstruction=coarse, pixel_mask=pixel_mask)
        return self.reconstructor(
            pixel_values, coarse_pixel_values=coarse, patch_mask=patch_mask, return_dict=True, **backend_kwargs
        )

    def _reconstruct_flagged(
        self, pixel_values: torch.Tensor, patch_mask: torch.Tensor, mode: str, backend_kwargs: dict
    ) -> torch.Tensor:
        """Step 2 in `forward`. In inference, the MAE and hybrid fills run only on the faces with a flagged patch:
        they keep every unflagged pixel, so a face with none comes back as it is (the same result, and a clean face
        costs no fill). Training runs every face (the U-Net's BatchNorm uses batch statistics)."""
        flagged = patch_mask.any(-1)
        if self.training or mode not in ("mae", "hybrid") or bool(flagged.all()):
            return self.reconstruct(pixel_values, patch_mask, reconstruction=mode, **backend_kwargs).reconstruction
        reconstructed = pixel_values.clone()
        if bool(flagged.any()):
            reconstructed[flagged] = self.reconstruct(
                pixel_values[flagged], patch_mask[flagged], reconstruction=mode, **backend_kwargs
            ).reconstruction.to(reconstructed.dtype)
        return reconstructed

    def forward(
        self,
        pixel_values: torch.Tensor,
        labels: torch.Tensor | None = None,
        reconstruction: str | None = None,
        reconstruction_kwargs: dict | None = None,
        return_dict: bool | None = None,
        patch_mask: torch.Tensor | None = None,
        **kwargs,
    ) -> LatentOferOutput | tuple:
        """Detect → reconstruct → recognise.

        Args:
            pixel_values: `[B, 3, 224, 224]` ImageNet-normalised face crops.
            labels: optional `[B]` class indices (order `config.id2label`) → `loss`.
            reconstruction: override `config.reconstruction` for this call (`"hybrid"`, `"mae"`, `"diffusion"`,
                `"none"`).
            reconstruction_kwargs: passed to the reconstructor (e.g. ``{"generator": g}`` for RePaint).
            return_dict: False → a tuple of the output's non-None fields (default `config.return_dict`).
            patch_mask: optional `[B, 14, 14]` (or `[B, 196]`) bool, the patches to treat as occluded *instead of*
                the detector's (e.g. the ground truth in evaluation: reconstruction and recognition with a perfect
                detector). The output's `patch_mask` / `occlusion_ratio` are then this mask; `anomaly_scores` stay
                the detector's.
        """
        unknown = set(kwargs) - _IGNORED_FORWARD_KWARGS
        if unknown:
            raise TypeError(f"{type(self).__name__}.forward got unexpected arguments {sorted(unknown)}")
        config = self.config
        pixel_values = check_pixel_values(pixel_values, image_size=config.vit_config.image_size, dtype=self.dtype)
        mode = config.reconstruction if reconstruction is None else reconstruction
        check_reconstruction_mode(mode, None if self.reconstructor is None else self.reconstructor.config)
        # 1. ViT latents of every patch (one encoder pass)
        vit_out = self.vit(pixel_values, return_dict=True)
        patch_latents = vit_out.patch_latents
        # 2. occluded patches: Deep-SVDD distance to the centre above the radius
        detection = self.detector(patch_latents=patch_latents, return_loss=False, return_dict=True)
        occlusion_ratio = detection.occlusion_ratio
        if patch_mask is None:
            patch_mask = detection.patch_mask.reshape(pixel_values.shape[0], -1)
        else:  # an oracle mask in place of the detector's
            grid_size = config.vit_config.grid_size
            patch_mask = check_patch_mask(patch_mask, batch_size=pixel_values.shape[0], grid_size=grid_size)
            patch_mask = patch_mask.to(pixel_values.device).reshape(pixel_values.shape[0], -1)
            occlusion_ratio = patch_mask.to(patch_latents.dtype).mean(-1)
        # 3. mask and reconstruct the flagged patches
        reconstructed = None
        face = pixel_values
        if mode != "none":
            reconstructed = self._reconstruct_flagged(pixel_values, patch_mask, mode, reconstruction_kwargs or {})
            face = reconstructed
        # 4. recognise, with the expression-relevant latents of the input image
        recognition = self.recognizer(pixel_values=face, patch_latents=patch_latents, labels=labels, return_dict=True)
        grid = config.vit_config.grid_size
        output = LatentOferOutput(
            loss=recognition.loss,
            logits=recognition.logits,
            patch_mask=patch_mask.reshape(-1, grid, grid),
            pixel_mask=patch_mask_to_pixel_mask(patch_mask, grid_size=grid, patch_size=config.vit_config.patch_size),
            anomaly_scores=detection.anomaly_scores,
            occlusion_ratio=occlusion_ratio,
            reconstruction=reconstructed,
            relevant_patches=recognition.relevant_patches,
            attention_maps=recognition.attention_maps,
        )
        return output if (config.return_dict if return_dict is None else return_dict) else output.to_tuple()


__all__ = ["LatentOferModel", "LatentOferOutput", "LatentOferPreTrainedModel"]
