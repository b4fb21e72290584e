"""ExpressionRecognizer configuration: the Latent-OFER FER network (docs/method.md#expression-recognizer)."""

import math

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig, ResNetConfig
from transformers.activations import ACT2FN

from ..common.config_checks import (
    ModelTypeChecked,
    require_choice,
    require_positive_int_list,
    require_positive_ints,
    run_validators,
)
from ..common.labels import RAFDB_7, id2label_for
from .latent_selection import OFFICIAL_FIXED_GRID_SIZE, OFFICIAL_FIXED_PATCH_INDICES, num_selected_patches

# ResNet-18 as transformers' ResNetConfig spells it (torchvision `resnet18` layout, docs/method.md#cnn-branch).
RESNET18_CONFIG_KWARGS: dict = {
    "num_channels": 3,
    "embedding_size": 64,
    "hidden_sizes": [64, 128, 256, 512],
    "depths": [2, 2, 2, 2],
    "layer_type": "basic",
    "hidden_act": "relu",
    "downsample_in_first_stage": False,
}

LATENT_SELECTIONS = ("cam", "fixed")
LATENT_HEADS = ("paper", "attention", "grid")


@strict
class ExpressionRecognizerConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`ExpressionRecognizer`]: a ResNet-18 CNN branch with DAN-style attention heads, fused with
    expression-relevant ViT patch latents (Latent-OFER, ICCV 2023, docs/method.md#expression-recognizer). Tags: [P]
    paper, [C] official code (`networks/OURS.py`, `main.py`), [R] our choice where the paper is silent
    (docs/method.md#tags), "ours" = our design, not in the paper.

    backbone_config (`dict` or `ResNetConfig`, *optional*):
        The CNN trunk, a transformers `ResNetModel`. Defaults to ResNet-18 (`layer_type="basic"`, depths
        `[2, 2, 2, 2]`, hidden sizes `[64, 128, 256, 512]`, embedding size 64) as the official torchvision
        `resnet18` with MS-Celeb weights [P §4.2, C]. Its last hidden size C sets the attention heads' width.
        A dict without `model_type` is read as overrides of the ResNet-18 defaults.
    image_size (`int`, *optional*, defaults to 224):
        Side of the square, ImageNet-normalised face crop [C: main.py `Resize(224)`].
    cnn_image_size (`int`, *optional*):
        Side at which the CNN branch reads the face: the crop is resized (bilinear, antialiased) to it before the
        trunk. `None` = `image_size`, as the paper [P §4.2]. Ours, for small CPU budgets: 112 costs the trunk a
        quarter of the FLOPs (its map is then 4×4 and the attention map picks the latents on that coarser grid);
        the ViT latents are unaffected.
    num_attention_heads (`int`, *optional*, defaults to 4):
        Number of DAN cross-attention heads on the CNN map [C: `num_head=4`].
    channel_attention_reduction (`int`, *optional*, defaults to 16):
        Channel-attention bottleneck C → C / r (512 → 32 in the official code [C]).
    spatial_attention_reduction (`int`, *optional*, defaults to 2):
        Spatial-attention 1×1 reduction C → C / r before the 3×3, 1×3, 3×1 convs (512 → 256 [C]).
    num_patches (`int`, *optional*, defaults to 196):
        Number N of ViT patch latents per image, cls token dropped; must be a square (14×14 for 224 px / 16 px
        patches [P §1, §3.2]).
    latent_dim (`int`, *optional*, defaults to 512):
        Width D of a patch latent (MAE decoder space, 512 in the official code [C: 39936 = 78·512]).
    use_latents (`bool`, *optional*, defaults to `True`):
        Fuse the expression-relevant ViT latents with the CNN features (the paper's network [P §3.3]). False: the
        CNN branch alone — no latent head, the fusion head sees the CNN vector only — the "w/o latents" rows of the
        paper's module ablation (Table 10), trained as such.
    use_cnn_features (`bool`, *optional*, defaults to `True`):
        Fuse the CNN vector (the attention heads' pooled features) into the classifier (the paper's network
        [P §3.3]). False: the fusion head sees the latent vector only — the "w/o CNN features" rows of Table 10,
        trained as such; the CNN trunk and its attention heads still run, since their attention map selects the
        latents. Needs `use_latents=True`.
    latent_selection (`str`, *optional*, defaults to `"cam"`):
        `"cam"`: per image, the top `latent_selection_ratio` patches of the heads' mean spatial-attention map
        upsampled (nearest) to the patch grid [P §3.3, R docs/method.md#latent-selection]. `"fixed"`: the official
        78-patch box, the same for every image [C: main.py]; needs `num_patches=196`.
    latent_selection_ratio (`float`, *optional*, defaults to 0.5):
        Fraction of the N patches kept by `"cam"`: K = ceil(ratio·N) (0.5 → 98 of 196, "top 50%" [P §3.3]).
        In (0, 1]; ignored by `"fixed"` (K = 78).
    latent_head (`str`, *optional*, defaults to `"attention"`):
        `"paper"`: the official linear MLP on the flattened K·D selected latents [C, docs/method.md#latent-head], ≈455 M
        parameters at the official sizes. `"attention"` (ours): a learned query attending over the selected
        latents with patch-position embeddings, ≈1.3 M parameters at D=512. `"grid"` (ours): each selected latent
        reduced to `latent_grid_dim` features at its patch position, the grid read by one Linear and BatchNorm1d —
        a feature per position, where the attention head's weighted mean loses which feature sat where
        (docs/RESULTS.md#why-the-goals-are-not-met); ≈0.4 M parameters at D=512.
    latent_out_dim (`int`, *optional*, defaults to 256):
        Width of the latent branch output fused with the CNN vector [C: `hh_layer4` → 256].
    paper_latent_dims (`list[int]`, *optional*, defaults to `[10000, 5000, 1024, 256]`):
        Widths of the `"paper"` MLP's Linear layers, with BatchNorm1d after every second one [C: `hh_layer*`,
        `hh_batch1`, `batch_norm1`]. The last must equal `latent_out_dim`. Shrink it for tiny test models.
    latent_attention_heads (`int`, *optional*, defaults to 8):
        Heads of the `"attention"` latent head's multi-head attention (ours); must divide `latent_dim`.
    latent_attention_dropout (`float`, *optional*, defaults to 0.0):
        Attention dropout of the `"attention"` latent head (ours).
    latent_grid_dim (`int`, *optional*, defaults to 8):
        Features per patch position of the `"grid"` latent head (ours).
    latent_output_batchnorm (`bool`, *optional*, defaults to `False`):
        BatchNorm1d on the `"attention"` latent head's output (ours; the paper's MLP ends with one [C:
        `batch_norm1`]). Without it that head's output barely varies from face to face (its LayerNorm keeps what all
        faces share), so a fusion layer started with zero latent weights gets no signal from it
        (docs/RESULTS.md#why-the-goals-are-not-met). Measured on the demo system it did not help (the CNN vector's
        scale still dwarfs it), so no preset sets it; False keeps checkpoints saved before it.
    branch_norm (`bool`, *optional*, defaults to `False`):
        LayerNorm on the CNN vector and on the latent vector before their concatenation (ours; the official fusion
        head reads them as they are [C]). The CNN vector, a sum of the heads' log-softmax outputs, is over a hundred
        times larger than a latent vector, so a fusion layer that starts from a CNN-only teacher with zero latent
        weights barely lets the latents in (docs/RESULTS.md#why-the-goals-are-not-met). A recogniser that starts from
        a teacher needs a teacher trained with it too.
    fusion_dims (`list[int]`, *optional*, defaults to `[256, 128]`):
        Hidden widths of the fusion head on cat(CNN vector, latent vector); BatchNorm1d after the last one
        [C: `fc` 768→256, `fc2` 256→128, `batch_norm`].
    head_activation (`str`, *optional*):
        Activation after each hidden Linear of the `"paper"` latent MLP and of the fusion head. `None` = none, as the
        official code, whose MLPs are purely linear [C]; e.g. `"relu"` (ours, any transformers `ACT2FN` name).
    logits_batchnorm (`bool`, *optional*, defaults to `True`):
        BatchNorm1d on the logits, as the official `bn` after `fc4` [C].
    initializer_range (`float`, *optional*, defaults to 0.02):
        Std of the truncated-normal init of the `"attention"` head's query and position embeddings (ours). The
        attention heads use the official init (Kaiming-normal fan-out convs, BN (1, 0), Linear N(0, 0.001)) [C].

    `id2label` defaults to the RAF-DB order (surprise, fear, disgust, happy, sad, angry, neutral) [C: main.py];
    see `latent_ofer_hf.models.common.labels` for the other orders.

    Example:

    ```python
    >>> config = ExpressionRecognizerConfig(latent_selection="fixed", latent_head="paper")
    >>> model = ExpressionRecognizer(config)
    ```
    """

    model_type = "latent-ofer-expression-recognizer"
    sub_configs_defaults = {"backbone_config": ResNetConfig}

    backbone_config: dict | ResNetConfig | None = None
    image_size: int = 224
    cnn_image_size: int | None = None
    num_attention_heads: int = 4
    channel_attention_reduction: int = 16
    spatial_attention_reduction: int = 2
    num_patches: int = 196
    latent_dim: int = 512
    use_latents: bool = True
    use_cnn_features: bool = True
    latent_selection: str = "cam"
    latent_selection_ratio: float | int = 0.5
    latent_head: str = "attention"
    latent_out_dim: int = 256
    paper_latent_dims: list[int] | tuple[int, ...] = (10000, 5000, 1024, 256)
    latent_attention_heads: int = 8
    latent_attention_dropout: float | int = 0.0
    latent_output_batchnorm: bool = False
    latent_grid_dim: int = 8
    branch_norm: bool = False
    fusion_dims: list[int] | tuple[int, ...] = (256, 128)
    head_activation: str | None = None
    logits_batchnorm: bool = True
    initializer_range: float | int = 0.02

    def __post_init__(self, **kwargs):
        if self.backbone_config is None or isinstance(self.backbone_config, dict):
            overrides = dict(self.backbone_config or {})
            model_type = overrides.pop("model_type", "resnet")
            if model_type != "resnet":
                raise ValueError(f"backbone_config must describe a ResNet (model_type 'resnet'), got {model_type!r}")
            self.backbone_config = ResNetConfig(**{**RESNET18_CONFIG_KWARGS, **overrides})
        elif not isinstance(self.backbone_config, ResNetConfig):
            raise ValueError(
                f"backbone_config must be a ResNetConfig or a dict, got {type(self.backbone_config).__name__}"
            )
        self.paper_latent_dims = [int(width) for width in self.paper_latent_dims]
        self.fusion_dims = [int(width) for width in self.fusion_dims]
        asked = kwargs.get("num_labels")
        if asked is not None and (not isinstance(asked, int) or isinstance(asked, bool) or asked < 2):
            raise ValueError(f"num_labels must be at least 2 (expression classes), got {asked!r}")
        if self.id2label is None and kwargs.get("num_labels") in (None, len(RAFDB_7)):
            kwargs.pop("num_labels", None)
            self.id2label = id2label_for(RAFDB_7)
        if self.id2label is not None and self.label2id is None:
            self.label2id = {name: int(idx) for idx, name in self.id2label.items()}
        super().__post_init__(**kwargs)
        run_validators(self)

    def validate_sizes(self) -> None:
        require_positive_ints(
            self,
            "image_size",
            "num_attention_heads",
            "channel_attention_reduction",
            "spatial_attention_reduction",
            "num_patches",
            "latent_dim",
            "latent_out_dim",
            "latent_attention_heads",
            "latent_grid_dim",
        )
        if self.cnn_image_size is not None and (
            isinstance(self.cnn_image_size, bool)
            or not isinstance(self.cnn_image_size, int)
            or self.cnn_image_size < 32
        ):
            raise ValueError(
                f"cnn_image_size must be None or an int >= 32 (the trunk's stride), got {self.cnn_image_size!r}"
            )
        if math.isqrt(self.num_patches) ** 2 != self.num_patches:
            raise ValueError(f"num_patches must be a square patch grid (e.g. 196 = 14x14), got {self.num_patches}")
        if self.backbone_config.num_channels != 3:
            raise ValueError(f"backbone_config.num_channels must be 3 (RGB), got {self.backbone_config.num_channels}")

    def validate_latent_branch(self) -> None:
        require_choice(self, "latent_selection", LATENT_SELECTIONS)
        require_choice(self, "latent_head", LATENT_HEADS)
        if not 0.0 < self.latent_selection_ratio <= 1.0:
            raise ValueError(f"latent_selection_ratio must be in (0, 1], got {self.latent_selection_ratio}")
        if self.latent_selection == "fixed" and self.num_patches != OFFICIAL_FIXED_GRID_SIZE**2:
            raise ValueError(
                f"latent_selection='fixed' (official 78-patch box) is only defined on the 14x14 grid "
                f"(num_patches=196), got num_patches={self.num_patches}"
            )
        require_positive_int_list(self, "paper_latent_dims")
        if self.latent_head == "paper" and self.paper_latent_dims[-1] != self.latent_out_dim:
            raise ValueError(
                f"the last of paper_latent_dims ({self.paper_latent_dims[-1]}) must equal "
                f"latent_out_dim ({self.latent_out_dim})"
            )
        if self.latent_head == "attention" and self.latent_dim % self.latent_attention_heads:
            raise ValueError(
                f"latent_attention_heads ({self.latent_attention_heads}) must divide latent_dim ({self.latent_dim})"
            )
        if not 0.0 <= self.latent_attention_dropout < 1.0:
            raise ValueError(f"latent_attention_dropout must be in [0, 1), got {self.latent_attention_dropout}")

    def validate_backbone(self) -> None:
        backbone = self.backbone_config
        for name in ("depths", "hidden_sizes"):  # four stages: the last one's 7×7 map is the CAM and the features
            values = list(getattr(backbone, name))
            if len(values) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in values):
                raise ValueError(
                    f"backbone_config.{name} must be 4 positive integers (the ResNet's stages), got {values}"
                )
        size = backbone.embedding_size
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise ValueError(f"backbone_config.embedding_size must be a positive integer, got {size!r}")
        if backbone.layer_type not in ("basic", "bottleneck"):
            raise ValueError(f"backbone_config.layer_type must be 'basic' or 'bottleneck', got {backbone.layer_type!r}")

    def validate_heads(self) -> None:
        if self.num_labels < 2:
            raise ValueError(f"num_labels must be at least 2 (expression classes), got {self.num_labels}")
        ids = sorted(int(index) for index in (self.id2label or {}))
        if ids and ids != list(range(len(ids))):  # the logits' columns are 0..n-1: each needs its name
            raise ValueError(f"id2label must name the classes 0..{len(ids) - 1} (the logits' columns), got ids {ids}")
        require_positive_int_list(self, "fusion_dims")
        if not (self.use_cnn_features or self.use_latents):
            raise ValueError("use_cnn_features=False needs use_latents=True: the classifier must see some features")
        if self.head_activation is not None and self.head_activation not in ACT2FN:
            raise ValueError(
                f"head_activation must be None or a transformers activation name (e.g. 'relu'), "
                f"got {self.head_activation!r}"
            )

    @property
    def num_selected_patches(self) -> int:
        """K, the number of selected latents: ceil(ratio·N) for `"cam"`, 78 for `"fixed"`."""
        if self.latent_selection == "fixed":
            return len(OFFICIAL_FIXED_PATCH_INDICES)
        return num_selected_patches(self.num_patches, self.latent_selection_ratio)

    @property
    def cnn_hidden_size(self) -> int:
        """C, the channel width of the trunk's last feature map (512 for ResNet-18)."""
        return self.backbone_config.hidden_sizes[-1]


__all__ = ["ExpressionRecognizerConfig"]
