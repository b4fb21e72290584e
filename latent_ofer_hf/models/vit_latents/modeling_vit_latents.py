"""ViT latent backbone: per-patch ViT-latent vectors and the MAE fill of given patches (docs/method.md#vit-latents,
#mae-fill).

Built on transformers' `ViTMAEForPreTraining` (its modules and weights are used as they are). Two things differ from
`ViTMAEModel.forward`: which patches the encoder sees is given explicitly (the occlusion detector's mask, not random
noise), and the number of visible patches may differ per sample in one batch — the visible tokens are left-aligned,
padded to the batch maximum and the padding is hidden from attention with an attention mask, so every sample's
result equals the one it would get alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedConfig, PreTrainedModel, ViTMAEForPreTraining
from transformers import initialization as init
from transformers.masking_utils import create_bidirectional_mask
from transformers.models.vit_mae.modeling_vit_mae import build_2d_sinusoidal_position_embedding
from transformers.utils import ModelOutput

from ..common.deprecation import deprecated_aliases
from ..common.hub_code import HUB_KWARGS, HubCodeMixin
from ..common.input_checks import check_patch_mask, check_pixel_values, patch_mask_to_pixel_mask
from .configuration_vit_latents import ViTLatentBackboneConfig


@dataclass
class ViTLatentBackboneOutput(ModelOutput):
    r"""
    latents (`torch.FloatTensor` of shape `[B, 1 + N, latent_dim]`):
        The ViT-latent vectors of the unmasked image, cls token first (N = 196 patches for 224/16).
    patch_latents (`torch.FloatTensor` of shape `[B, N, latent_dim]`):
        `latents` without the cls token: one vector per patch, in raster order.
    last_hidden_state (`torch.FloatTensor` of shape `[B, 1 + N, hidden_size]`):
        The encoder's output with every patch visible.
    reconstruction (`torch.FloatTensor` of shape `[B, 3, H, W]`, *optional*):
        The MAE fill (normalised pixel space): masked patches predicted by the MAE from the visible ones only,
        visible pixels copied from the input. Only when a `patch_mask` is given.
    patch_mask (`torch.BoolTensor` of shape `[B, N]`, *optional*):
        The patch mask used for the fill (True = masked/occluded).
    """

    latents: torch.FloatTensor | None = None
    patch_latents: torch.FloatTensor | None = None
    last_hidden_state: torch.FloatTensor | None = None
    reconstruction: torch.FloatTensor | None = None
    patch_mask: torch.BoolTensor | None = None


class ViTLatentBackbonePreTrainedModel(HubCodeMixin, PreTrainedModel):
    config_class = ViTLatentBackboneConfig
    base_model_prefix = "vit_latents"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    _no_split_modules = ["ViTMAEEmbeddings", "ViTMAELayer", "ViTMAEDecoder"]
    _supports_sdpa = True

    def _initialize_weights(self, module: nn.Module, is_custom_code: bool = False) -> None:
        """The wrapped `ViTMAEForPreTraining` initialises its own modules; here only the MAE-specific tables.

        transformers 5.24 leaves a freshly built ViTMAE with all-zero position tables (its embeddings initialiser
        returns early once the patch projection is flagged as initialised), so the fixed 2-D sin-cos tables, the
        cls/mask tokens and the patch projection (MAE: xavier-uniform as a Linear) are set here, once the children are
        done, with the guarded `transformers.initialization` helpers: values loaded by `from_pretrained` are never
        overwritten.
        """
        super()._initialize_weights(module, is_custom_code)
        if module is self and isinstance(module, ViTLatentBackbone):
            mae = module.mae
            embeddings = mae.vit.embeddings
            grid = module.config.grid_size
            init.copy_(embeddings.position_embeddings, _sincos_table(grid, embeddings.position_embeddings.shape[-1]))
            init.copy_(mae.decoder.decoder_pos_embed, _sincos_table(grid, mae.decoder.decoder_pos_embed.shape[-1]))
            projection = embeddings.patch_embeddings.projection.weight
            if not getattr(projection, "_is_hf_initialized", False):  # a view would not carry the flag
                init.xavier_uniform_(projection.view(projection.shape[0], -1))
            std = module.config.mae_config.initializer_range
            init.normal_(embeddings.cls_token, std=std)
            init.normal_(mae.decoder.mask_token, std=std)


def _sincos_table(grid_size: int, dim: int) -> torch.Tensor:
    """MAE's fixed 2-D sin-cos position table `[1, 1 + grid², dim]` (cls row zero), in the pretrained layout."""
    table = build_2d_sinusoidal_position_embedding(height=grid_size, width=grid_size, embed_dim=dim, cls_token=True)
    half = table.shape[-1] // 2  # pretrained MAE checkpoints use the [w | h] half order, as transformers does
    return torch.cat([table[..., half:], table[..., :half]], dim=-1).unsqueeze(0)


class ViTLatentBackbone(ViTLatentBackbonePreTrainedModel):
    """The shared ViT of Latent-OFER: patch latents for detect/recognise, MAE fill for reconstruct.

    Example:
        >>> backbone = ViTLatentBackbone(ViTLatentBackboneConfig())  # or .from_mae_pretrained("facebook/vit-mae-base")
        >>> out = backbone(pixel_values, patch_mask=mask)   # pixel_values [B,3,224,224], mask [B,196] bool
        >>> out.patch_latents.shape, out.reconstruction.shape
        (torch.Size([B, 196, 512]), torch.Size([B, 3, 224, 224]))
    """

    def __init__(self, config: ViTLatentBackboneConfig):
        super().__init__(config)
        self.mae = ViTMAEForPreTraining(config.mae_config)
        self.post_init()

    @classmethod
    def from_mae_pretrained(
        cls, pretrained_model_name_or_path: str | os.PathLike, *, latent_source: str = "decoder_embed", **kwargs
    ) -> ViTLatentBackbone:
        """Wrap a `ViTMAEForPreTraining` checkpoint (e.g. `facebook/vit-mae-base`, `facebook/vit-mae-large`); in eval
        mode, as ``from_pretrained`` returns models. A checkpoint of another model type, or one without the MAE's
        encoder or decoder weights (an encoder-only `ViTMAEModel`: the latents come from its ``decoder_embed``), is
        refused instead of being completed with random weights."""
        where = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}  # where the files are, not model options
        found = PreTrainedConfig.get_config_dict(pretrained_model_name_or_path, **where)[0].get("model_type")
        if found is None:
            raise ValueError(f"{pretrained_model_name_or_path}: its config.json names no model type (no model_type)")
        if found != "vit_mae":
            raise ValueError(
                f"{pretrained_model_name_or_path} holds a {found!r} model, not a ViT MAE ('vit_mae', e.g. "
                "facebook/vit-mae-base)"
            )
        mae, info = ViTMAEForPreTraining.from_pretrained(
            pretrained_model_name_or_path, output_loading_info=True, **kwargs
        )
        missing = sorted(info.get("missing_keys", []))
        if missing:
            shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
            raise ValueError(
                f"{pretrained_model_name_or_path} lacks MAE weights ({shown}): an encoder-only checkpoint has no "
                "decoder, whose decoder_embed gives the latents; use a ViTMAEForPreTraining checkpoint"
            )
        config = ViTLatentBackboneConfig(mae_config=mae.config.to_dict(), latent_source=latent_source)
        with torch.device("meta"):
            model = cls(config)
        model.mae = mae
        model.config.mae_config = mae.config
        return model.eval()

    # -- encoder ---------------------------------------------------------------------------------------------------
    def encode(
        self, pixel_values: torch.Tensor, visible: torch.Tensor | None = None, visible_count: int | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Run the MAE encoder on the visible patches only.

        Args:
            pixel_values: `[B, 3, H, W]` normalised images.
            visible: bool `[B, N]`, True = the encoder sees this patch; None = all patches.
            visible_count: the number of visible patches when every sample has that same number. It skips the one
                host read of the counts (for tracing, or counting FLOPs on the meta device); not checked.
        Returns:
            hidden `[B, 1 + L, hidden]` (cls first, then the L = max visible count kept tokens in raster order),
            valid bool `[B, L]` (False = padding, or None when nothing is padded),
            ids_keep long `[B, L]` (patch index of each kept token, or None when all patches are kept).
        """
        embeddings = self.mae.vit.embeddings
        position = embeddings.position_embeddings
        tokens = embeddings.patch_embeddings(pixel_values) + position[:, 1:, :]
        valid = ids_keep = None
        padded = False
        if visible is not None:
            num_patches = visible.shape[1]
            if visible_count is None:  # the visible counts set the sequence length: the one host read of the fill
                counts = visible.sum(dim=1)
                longest, shortest = torch.stack([counts.max(), counts.min()]).tolist()
                padded = shortest < longest
            else:
                longest = int(visible_count)
            # visible patches first (raster order), then the hidden ones; keep as many as the fullest sample has
            order_key = (~visible).long() * num_patches + torch.arange(num_patches, device=visible.device)
            ids_keep = order_key.argsort(dim=1)[:, :longest]
            tokens = tokens.gather(1, ids_keep.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]))
            valid = visible.gather(1, ids_keep)
        cls_token = (embeddings.cls_token + position[:, :1, :]).expand(tokens.shape[0], -1, -1)
        hidden = torch.cat([cls_token, tokens], dim=1)
        attention_mask = None
        if padded:
            keep = torch.cat([torch.ones_like(valid[:, :1]), valid], dim=1).long()
            attention_mask = create_bidirectional_mask(
                config=self.mae.vit.config, inputs_embeds=hidden, attention_mask=keep
            )
        for layer in self.mae.vit.layers:
            hidden = layer(hidden, attention_mask)
        hidden = self.mae.vit.layernorm(hidden)
        return hidden, valid if padded else None, ids_keep

    # -- decoder ---------------------------------------------------------------------------------------------------
    def decode(
        self, hidden: torch.Tensor, valid: torch.Tensor | None = None, ids_keep: torch.Tensor | None = None
    ) -> torch.Tensor:
        """MAE decoder over all N positions → `[B, 1+N, decoder_hidden]` (after `decoder_norm`).

        Args:
            hidden: encoder output `[B, 1 + L, hidden]` (from `encode`).
            valid, ids_keep: as `encode` returns them; None, None when the encoder saw every patch. Positions the
                encoder did not see get the mask token.
        """
        decoder = self.mae.decoder
        tokens = decoder.decoder_embed(hidden)
        num_patches = self.config.num_patches
        if ids_keep is not None:
            patch_tokens = tokens[:, 1:, :]
            mask_token = decoder.mask_token.to(tokens.dtype).expand_as(patch_tokens)
            if valid is not None:
                patch_tokens = torch.where(valid.unsqueeze(-1), patch_tokens, mask_token)
            full = decoder.mask_token.to(tokens.dtype).expand(tokens.shape[0], num_patches, -1).clone()
            full = full.scatter(1, ids_keep.unsqueeze(-1).expand(-1, -1, tokens.shape[-1]), patch_tokens)
            tokens = torch.cat([tokens[:, :1, :], full], dim=1)
        tokens = tokens + decoder.decoder_pos_embed
        for layer in decoder.decoder_layers:
            tokens = layer(tokens)
        return decoder.decoder_norm(tokens)

    def latents_from_hidden(self, hidden: torch.Tensor) -> torch.Tensor:
        """Encoder output with every patch visible `[B, 1+N, hidden]` → the configured latents `[B, 1+N, D]`."""
        source = self.config.latent_source
        if source == "encoder":
            return hidden
        if source == "decoder_embed":
            return self.mae.decoder.decoder_embed(hidden)
        return self.decode(hidden, None, None)

    def fill(
        self, pixel_values: torch.Tensor, patch_mask: torch.Tensor, *, visible_count: int | None = None
    ) -> torch.Tensor:
        """MAE fill of the masked patches; the encoder sees only the visible ones (docs/method.md#mae-fill).

        Args:
            pixel_values: `[B, 3, H, W]` normalised images (checked).
            patch_mask: `[B, N]` or `[B, g, g]`, True = masked. The count may differ per sample.
            visible_count: see `encode` (every sample has this many visible patches; skips a host read).
        Returns:
            `[B, 3, H, W]`: MAE prediction inside masked patches, input pixels elsewhere.
        """
        config = self.config
        pixel_values = check_pixel_values(
            pixel_values, image_size=config.image_size, num_channels=config.mae_config.num_channels, dtype=self.dtype
        )
        mask = check_patch_mask(patch_mask, batch_size=pixel_values.shape[0], grid_size=config.grid_size)
        return self._fill(pixel_values, mask, visible_count)

    def _fill(self, pixel_values: torch.Tensor, mask: torch.Tensor, visible_count: int | None = None) -> torch.Tensor:
        hidden, valid, ids_keep = self.encode(pixel_values, visible=~mask, visible_count=visible_count)
        tokens = self.decode(hidden, valid, ids_keep)
        predicted = self.mae.decoder.decoder_pred(tokens)[:, 1:, :]
        if self.config.mae_config.norm_pix_loss:
            predicted = self._denormalize_patches(predicted, pixel_values, mask)
        image = self.mae.unpatchify(predicted, original_image_size=tuple(pixel_values.shape[-2:]))
        pixel_mask = patch_mask_to_pixel_mask(mask, grid_size=self.config.grid_size, patch_size=self.config.patch_size)
        return torch.where(pixel_mask, image.to(pixel_values.dtype), pixel_values)

    def _denormalize_patches(self, predicted: torch.Tensor, pixel_values: torch.Tensor, mask: torch.Tensor):
        """For `norm_pix_loss` checkpoints: per-patch statistics of the hidden patches are unknown, so use the mean
        and variance of the sample's visible patches (an approximation; the MAE demo uses the ground truth)."""
        target = self.mae.patchify(pixel_values)
        visible = (~mask).unsqueeze(-1).to(target.dtype)
        count = visible.sum(dim=1, keepdim=True).clamp_min(1.0) * target.shape[-1]
        mean = (target * visible).sum(dim=(1, 2), keepdim=True) / count
        var = (((target - mean) ** 2) * visible).sum(dim=(1, 2), keepdim=True) / count
        return predicted * (var + 1e-6).sqrt() + mean

    def forward(
        self,
        pixel_values: torch.Tensor,
        patch_mask: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ViTLatentBackboneOutput | tuple:
        """Latents of every patch and, given a `patch_mask`, the MAE fill of exactly the masked patches.

        Args:
            pixel_values: `[B, 3, 224, 224]` ImageNet-normalised face crops.
            patch_mask: optional `[B, 196]` / `[B, 14, 14]` bool (True = occluded), may differ per sample.
            return_dict: False → a tuple of the output's non-None fields (default `config.return_dict`).
        """
        config = self.config
        pixel_values = check_pixel_values(
            pixel_values, image_size=config.image_size, num_channels=config.mae_config.num_channels, dtype=self.dtype
        )
        mask = None
        if patch_mask is not None:
            mask = check_patch_mask(patch_mask, batch_size=pixel_values.shape[0], grid_size=config.grid_size)
        hidden, _, _ = self.encode(pixel_values)
        latents = self.latents_from_hidden(hidden)
        reconstruction = self._fill(pixel_values, mask) if mask is not None else None
        output = ViTLatentBackboneOutput(
            latents=latents,
            patch_latents=latents[:, 1:, :],
            last_hidden_state=hidden,
            reconstruction=reconstruction,
            patch_mask=mask,
        )
        return output if (config.return_dict if return_dict is None else return_dict) else output.to_tuple()


__all__ = ["ViTLatentBackbone", "ViTLatentBackboneOutput", "ViTLatentBackbonePreTrainedModel"]

__getattr__ = deprecated_aliases(
    __name__,
    {
        "ViTLatentsOutput": ("ViTLatentBackboneOutput", ViTLatentBackboneOutput),
        "ViTLatentsPreTrainedModel": ("ViTLatentBackbonePreTrainedModel", ViTLatentBackbonePreTrainedModel),
    },
)
