"""Configuration of the ViT latent backbone (Latent-OFER step 1, docs/method.md#vit-latents)."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig, ViTMAEConfig
from transformers.activations import ACT2FN

from ..common.config_checks import ModelTypeChecked, require_choice, run_validators
from ..common.deprecation import deprecated_aliases

LATENT_SOURCES = ("encoder", "decoder_embed", "decoder")


@strict
class ViTLatentBackboneConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`ViTLatentBackbone`]: a transformers `ViTMAEForPreTraining` (encoder + decoder) that gives the
    per-patch "ViT-latent vectors" used by the occlusion detector and the recogniser, and the MAE fill of masked
    patches used by the hybrid reconstruction.

    mae_config (`dict` or `ViTMAEConfig`, *optional*):
        The MAE architecture. Default: `ViTMAEConfig()` = ViT-B/16 MAE (`facebook/vit-mae-base`), 224×224 input,
        16×16 patches → 14×14 = 196 patches [P §1, §3.2]; the paper does not name its ViT's size, so the default is
        transformers' own (ours), and the paper preset uses ViT-L/16 (docs/method.md#vit-latents [R]). `mask_ratio`
        is unused: which patches are masked is always given explicitly (the detector's mask).
    latent_source (`str`, *optional*, defaults to `"decoder_embed"`):
        Which tokens are "the latents" (the paper leaves the layer open, docs/method.md#open-questions Q1):
        - `"decoder_embed"` (default): the final encoder tokens (all 196 patches visible) projected by the MAE's
          `decoder_embed` into the 512-d decoder space, cls token first. The official code's saved latents are
          512-d for every MAE size, which is the decoder width, so this is the most likely reading
          (docs/method.md#vit-latents [I]).
        - `"encoder"`: the encoder's last hidden state (after its final LayerNorm), width `hidden_size`.
        - `"decoder"`: the output of the MAE decoder blocks and `decoder_norm` (all patches visible), width 512.
    """

    model_type = "latent-ofer-vit-latents"
    sub_configs_defaults = {"mae_config": ViTMAEConfig}

    mae_config: dict | ViTMAEConfig | None = None
    latent_source: str = "decoder_embed"

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        run_validators(self)

    def validate_latent_source(self) -> None:
        require_choice(self, "latent_source", LATENT_SOURCES)

    def validate_patch_grid(self) -> None:
        mae = self.mae_config
        for name in ("image_size", "patch_size", "num_channels", "hidden_size", "num_hidden_layers",
                     "num_attention_heads", "intermediate_size", "decoder_hidden_size", "decoder_num_hidden_layers",
                     "decoder_num_attention_heads", "decoder_intermediate_size"):  # fmt: skip
            value = getattr(mae, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"mae_config.{name} must be a positive integer, got {value!r}")
        for width, heads in (
            ("hidden_size", "num_attention_heads"),
            ("decoder_hidden_size", "decoder_num_attention_heads"),
        ):
            if getattr(mae, width) % getattr(mae, heads):
                raise ValueError(
                    f"mae_config.{width} {getattr(mae, width)} must be a multiple of {heads} {getattr(mae, heads)}"
                )
        image_size, patch_size = mae.image_size, mae.patch_size
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")

    def validate_numerics(self) -> None:
        mae = self.mae_config
        if not isinstance(mae.hidden_act, str) or mae.hidden_act not in ACT2FN:
            raise ValueError(f"mae_config.hidden_act must be a transformers activation name, got {mae.hidden_act!r}")
        if not mae.layer_norm_eps > 0:  # 0 or less: NaN latents, not an error, further on
            raise ValueError(f"mae_config.layer_norm_eps must be > 0, got {mae.layer_norm_eps}")
        if not mae.initializer_range >= 0:
            raise ValueError(f"mae_config.initializer_range must be >= 0, got {mae.initializer_range}")

    @property
    def image_size(self) -> int:
        return self.mae_config.image_size

    @property
    def patch_size(self) -> int:
        return self.mae_config.patch_size

    @property
    def grid_size(self) -> int:
        return self.mae_config.image_size // self.mae_config.patch_size

    @property
    def num_patches(self) -> int:
        return self.grid_size**2

    @property
    def latent_dim(self) -> int:
        if self.latent_source == "encoder":
            return self.mae_config.hidden_size
        return self.mae_config.decoder_hidden_size


__all__ = ["ViTLatentBackboneConfig", "LATENT_SOURCES"]

__getattr__ = deprecated_aliases(__name__, {"ViTLatentsConfig": ("ViTLatentBackboneConfig", ViTLatentBackboneConfig)})
