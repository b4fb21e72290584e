"""ExpressionRecognizer: the Latent-OFER FER network (docs/method.md#expression-recognizer; official code [C:
networks/OURS.py]).

CNN branch: ResNet-18 trunk → feature map F ``[B, C, 7, 7]`` → H DAN-style heads (channel then spatial attention)
→ log-softmax fusion over heads → h ``[B, C]``. Latent branch: the heads' spatial maps pick the expression-relevant
ViT patch latents (``"cam"``, paper) or the official fixed box (``"fixed"``) → latent head → ``[B, latent_out]``.
Fusion head: cat(h, latent) (each LayerNorm'd first with ``branch_norm``) → Linear layers (BatchNorm1d after the last
hidden) → Linear → BatchNorm1d → logits.
The ViT patch latents come from a separate, shared backbone; this model only consumes them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel, ResNetModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.utils import ModelOutput

from ..common.hub_code import HubCodeMixin
from ..common.input_checks import check_patch_latents, check_pixel_values, value_checks_enabled
from .attention_heads import OFFICIAL_HEAD_INIT_FLAG, CrossAttentionHead, fuse_head_features
from .configuration_expression_recognizer import ExpressionRecognizerConfig
from .latent_heads import AttentionLatentHead, GridLatentHead, PaperLatentMLP
from .latent_selection import select_latents_by_cam, select_latents_fixed

# Official head init [C: networks/OURS.py CrossAttentionHead.init_weights].
ATTENTION_HEAD_LINEAR_STD = 0.001


@dataclass
class ExpressionRecognizerOutput(ModelOutput):
    """Output of [`ExpressionRecognizer`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            Cross-entropy classification loss, when `labels` are given (plain CE as the official code [C: main.py]).
        logits (`torch.FloatTensor` of shape `[B, num_labels]`):
            Class scores in the order of `config.id2label` (before softmax).
        attention_maps (`torch.FloatTensor` of shape `[B, num_attention_heads, h, w]`):
            Each head's spatial-attention map A (≥ 0) on the CNN grid, `[B, 4, 7, 7]` for 224 px inputs
            (`[B, 4, 4, 4]` at `cnn_image_size=112`).
        relevant_patches (`torch.LongTensor` of shape `[B, K]`, *optional*):
            Indices (0..N−1, raster order of the patch grid, ascending) of the patch latents fed to the latent
            branch: K = ceil(ratio·N) (98 of 196) for `"cam"`, the official 78 for `"fixed"`. None without latents.
        cnn_features (`torch.FloatTensor` of shape `[B, C]`):
            Fused attention-head vector h (C = 512 for ResNet-18).
        latent_features (`torch.FloatTensor` of shape `[B, latent_out_dim]`, *optional*):
            Output of the latent branch; None without latents.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    attention_maps: torch.FloatTensor | None = None
    relevant_patches: torch.LongTensor | None = None
    cnn_features: torch.FloatTensor | None = None
    latent_features: torch.FloatTensor | None = None


class FusionHead(nn.Module):
    """cat(h, latent) ``[B, C + L]`` → Linear per ``fusion_dims`` (BatchNorm1d after the last; ``activation`` after
    each, none officially) → Linear → num_labels (→ BatchNorm1d when ``logits_batchnorm``) [C: fc, fc2, fc4, bn]."""

    def __init__(
        self,
        in_features: int,
        hidden_dims: list[int],
        num_labels: int,
        activation: str | None = None,
        logits_batchnorm: bool = True,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for position, out_width in enumerate(hidden_dims):
            layers.append(nn.Linear(width, out_width))
            if position == len(hidden_dims) - 1:
                layers.append(nn.BatchNorm1d(out_width))
            if activation is not None:
                layers.append(ACT2FN[activation])
            width = out_width
        self.hidden = nn.Sequential(*layers)
        self.classifier = nn.Linear(width, num_labels)
        self.logits_norm = nn.BatchNorm1d(num_labels) if logits_batchnorm else nn.Identity()

    def _apply(self, fn: Callable[[torch.Tensor], torch.Tensor], recurse: bool = True) -> FusionHead:
        """``model.half()`` / ``model.to(torch.float16)`` after loading keep this head in float32, as
        ``_keep_in_fp32_modules`` does at load (device moves and other dtypes apply as usual)."""

        def keep_float32(tensor: torch.Tensor) -> torch.Tensor:
            converted = fn(tensor)  # not converted back: float16 has already lost what passed its range
            if converted.dtype == torch.float16 and tensor.dtype == torch.float32:
                return tensor.to(converted.device)
            return converted

        return super()._apply(keep_float32, recurse)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        # in the head's own dtype: loaded in float16 it stays float32 (`_keep_in_fp32_modules`), as its BatchNorm's
        # running variance can pass float16's range (the demo checkpoint's: 2.8e5 > 65504, which made every logit ~0)
        dtype = self.classifier.weight.dtype
        return self.logits_norm(self.classifier(self.hidden(features.to(dtype)))).to(features.dtype)


class ExpressionRecognizerPreTrainedModel(HubCodeMixin, PreTrainedModel):
    """Weights init and Hub loading for [`ExpressionRecognizer`]."""

    config: ExpressionRecognizerConfig
    config_class = ExpressionRecognizerConfig
    base_model_prefix = "expression_recognizer"
    main_input_name = "pixel_values"
    input_modalities = ("image",)
    _keep_in_fp32_modules = ["fusion_head"]  # its BatchNorm statistics can overflow float16 (FusionHead.forward)

    @torch.no_grad()
    def _init_weights(self, module: nn.Module) -> None:
        """Official init: attention heads Kaiming-normal (fan-out) convs, BN (1, 0), Linear N(0, 0.001); other
        Linear layers torch's default (as the official MLPs); our attention head's query and position embeddings
        truncated normal. The ResNet trunk is a `ResNetModel` and keeps transformers' ResNet init."""
        super()._init_weights(module)
        if getattr(module, OFFICIAL_HEAD_INIT_FLAG, False):
            if isinstance(module, nn.Conv2d):
                init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                init.normal_(module.weight, std=ATTENTION_HEAD_LINEAR_STD)
                if module.bias is not None:
                    init.zeros_(module.bias)
            # BatchNorm (1, 0) and running stats (0, 1): already done by super()._init_weights.
        elif isinstance(module, nn.Linear):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
            if module.bias is not None:
                bound = 1.0 / math.sqrt(module.in_features) if module.in_features > 0 else 0.0
                init.uniform_(module.bias, -bound, bound)
        elif isinstance(module, AttentionLatentHead):
            init.trunc_normal_(module.position_embeddings, std=self.config.initializer_range)
            init.trunc_normal_(module.query, std=self.config.initializer_range)


class ExpressionRecognizer(ExpressionRecognizerPreTrainedModel):
    """Latent-OFER expression recogniser: face crop + ViT patch latents → expression logits.

    Example:

    ```python
    >>> model = ExpressionRecognizer(ExpressionRecognizerConfig())
    >>> out = model(pixel_values=torch.randn(2, 3, 224, 224), patch_latents=torch.randn(2, 196, 512))
    >>> out.logits.shape, out.relevant_patches.shape
    (torch.Size([2, 7]), torch.Size([2, 98]))
    ```
    """

    def __init__(self, config: ExpressionRecognizerConfig):
        super().__init__(config)
        channels = config.cnn_hidden_size
        self.resnet = ResNetModel(config.backbone_config)
        self.attention_heads = nn.ModuleList(
            CrossAttentionHead(channels, config.channel_attention_reduction, config.spatial_attention_reduction)
            for _ in range(config.num_attention_heads)
        )
        if not config.use_latents:
            self.latent_head = None
        elif config.latent_head == "paper":
            self.latent_head = PaperLatentMLP(
                config.num_selected_patches * config.latent_dim, config.paper_latent_dims, config.head_activation
            )
        elif config.latent_head == "grid":
            self.latent_head = GridLatentHead(
                config.latent_dim, config.num_patches, config.latent_out_dim, grid_dim=config.latent_grid_dim
            )
        else:
            self.latent_head = AttentionLatentHead(
                config.latent_dim,
                config.num_patches,
                config.latent_out_dim,
                num_heads=config.latent_attention_heads,
                dropout=config.latent_attention_dropout,
                output_batchnorm=config.latent_output_batchnorm,
            )
        self.cnn_norm = nn.LayerNorm(channels) if config.branch_norm and config.use_cnn_features else None
        self.latent_norm = nn.LayerNorm(config.latent_out_dim) if config.branch_norm and config.use_latents else None
        self.fusion_head = FusionHead(
            (channels if config.use_cnn_features else 0) + (config.latent_out_dim if config.use_latents else 0),
            config.fusion_dims,
            config.num_labels,
            activation=config.head_activation,
            logits_batchnorm=config.logits_batchnorm,
        )
        self.post_init()

    def cnn_input(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """The images as the CNN branch reads them: resized to ``config.cnn_image_size`` when that is set (in float32:
        the antialiased resize has no half-precision CPU kernel; the result keeps the input's dtype)."""
        size = self.config.cnn_image_size
        if size is None or size == pixel_values.shape[-1]:
            return pixel_values
        resized = nn.functional.interpolate(pixel_values.float(), size=(size, size), mode="bilinear", antialias=True)
        return resized.to(pixel_values.dtype)

    def select_latents(
        self, patch_latents: torch.Tensor, attention_maps: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Expression-relevant latents ``[B, K, D]`` and their patch indices ``[B, K]`` (see `latent_selection`)."""
        if self.config.latent_selection == "fixed":
            return select_latents_fixed(patch_latents)
        return select_latents_by_cam(patch_latents, attention_maps, self.config.latent_selection_ratio)

    def forward(
        self,
        pixel_values: torch.Tensor | None = None,
        patch_latents: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> ExpressionRecognizerOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `[B, 3, image_size, image_size]`):
                ImageNet-normalised (reconstructed) face crops.
            patch_latents (`torch.FloatTensor` of shape `[B, num_patches, latent_dim]`, *optional*):
                ViT patch latents of the same images, cls token dropped, raster order. Without them (the
                `AutoModelForImageClassification` call, `pixel_values` alone) the model classifies from its CNN
                features: the latent vector is zero, and `relevant_patches` / `latent_features` are None. A model
                with `use_latents=False` (the paper's "w/o latents" ablation, Table 10) never uses them.
            labels (`torch.LongTensor` of shape `[B]`, *optional*):
                Class ids in the order of `config.id2label` (-100 = ignore); gives `loss`.
            return_dict (`bool`, *optional*):
                Return a tuple instead of an [`ExpressionRecognizerOutput`] when False.
        """
        config = self.config
        return_dict = return_dict if return_dict is not None else config.return_dict
        pixel_values = check_pixel_values(pixel_values, image_size=config.image_size, num_channels=3, dtype=self.dtype)
        if not config.use_latents:
            patch_latents = None
        if not config.use_cnn_features and patch_latents is None:
            raise ValueError(
                "this recogniser classifies from ViT latents only (use_cnn_features=False, a Table 10 ablation): "
                "pass patch_latents"
            )
        if patch_latents is not None:
            check_patch_latents(patch_latents, num_patches=config.num_patches, latent_dim=config.latent_dim)
            if patch_latents.shape[0] != pixel_values.shape[0]:
                raise ValueError(
                    f"patch_latents has batch size {patch_latents.shape[0]} but pixel_values has "
                    f"{pixel_values.shape[0]}"
                )
        if labels is not None:
            self._check_labels(labels, pixel_values.shape[0])
        if self.training and pixel_values.shape[0] < 2:
            raise ValueError(
                "a batch of 1 cannot be used in training mode: the BatchNorm1d layers of the heads need "
                "at least 2 samples; call model.eval() for inference or use a larger batch"
            )

        # 1. CNN branch: trunk feature map, attention heads, log-softmax fusion over heads.
        feature_map = self.resnet(self.cnn_input(pixel_values), return_dict=True).last_hidden_state
        pooled, maps = zip(*(head(feature_map) for head in self.attention_heads), strict=True)
        attention_maps = torch.cat(maps, dim=1)
        cnn_features = fuse_head_features(torch.stack(pooled, dim=1))

        # 2. Latent branch: expression-relevant latents → latent vector (zero without latents).
        latent_features = relevant_patches = None
        cnn_part = cnn_features if self.cnn_norm is None else self.cnn_norm(cnn_features)
        fused = cnn_part
        if patch_latents is not None:
            selected, relevant_patches = self.select_latents(patch_latents.to(cnn_features.dtype), attention_maps)
            latent_features = self.latent_head(selected, relevant_patches)
            relevant_patches = relevant_patches.contiguous()
            latent_part = latent_features if self.latent_norm is None else self.latent_norm(latent_features)
            fused = torch.cat([cnn_part, latent_part], 1) if config.use_cnn_features else latent_part
        elif config.use_latents:
            fused = torch.cat([cnn_part, cnn_part.new_zeros(cnn_part.shape[0], config.latent_out_dim)], 1)

        # 3. Fusion head.
        logits = self.fusion_head(fused)
        loss = nn.functional.cross_entropy(logits, labels.to(logits.device)) if labels is not None else None

        output = ExpressionRecognizerOutput(
            loss=loss,
            logits=logits,
            attention_maps=attention_maps,
            relevant_patches=relevant_patches,
            cnn_features=cnn_features,
            latent_features=latent_features,
        )
        return output if return_dict else output.to_tuple()

    def _check_labels(self, labels: torch.Tensor, batch_size: int) -> None:
        num_labels = self.config.num_labels
        if not isinstance(labels, torch.Tensor) or labels.ndim != 1 or labels.shape[0] != batch_size:
            shape = list(labels.shape) if isinstance(labels, torch.Tensor) else type(labels).__name__
            raise ValueError(f"labels must be a tensor of shape [{batch_size}] (one class id per image), got {shape}")
        if labels.is_floating_point() or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integer class ids, got dtype {labels.dtype}")
        if not value_checks_enabled():  # the range check reads the labels on the host
            return
        valid = ((labels >= 0) & (labels < num_labels)) | (labels == -100)
        if not bool(valid.all()):
            raise ValueError(
                f"labels must be class ids in 0..{num_labels - 1} (or -100 to ignore), got {labels.tolist()}"
            )


__all__ = ["ExpressionRecognizer", "ExpressionRecognizerOutput", "ExpressionRecognizerPreTrainedModel"]
