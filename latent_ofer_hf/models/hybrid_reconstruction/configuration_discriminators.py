"""Configuration of the two discriminators that train the hybrid reconstruction network
(docs/method.md#discriminators)."""

from huggingface_hub.dataclasses import strict
from transformers import PreTrainedConfig, ResNetConfig
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ..common.config_checks import ModelTypeChecked, require_positive_ints, require_rgb_statistics, run_validators


@strict
class ReconstructionDiscriminatorsConfig(ModelTypeChecked, PreTrainedConfig):
    r"""
    Configuration of [`ReconstructionDiscriminators`]: a PatchGAN on images (D, for L_d) and a feature-patch
    discriminator (F, for L_df) on the features of a frozen pretrained network [P §3.2.3; C: networks.py].

    Args:
        ndf (`int`, *optional*, defaults to 64):
            Base width of the image PatchGAN (3→ndf→2ndf→4ndf (stride 2) →8ndf→1 (stride 1), 4×4 kernels,
            InstanceNorm) [C: `NLayerDiscriminator`, 2,766,529 params at ndf 64].
        image_layers (`int`, *optional*, defaults to 3):
            Stride-2 layers of the image PatchGAN [C: n_layers=3].
        feature_width (`int`, *optional*, defaults to 512):
            Width of the feature-patch discriminator (three 4×4 stride-2 convs) [C: `PFDiscriminator`].
        feature_backbone_config (`dict` or `ResNetConfig`, *optional*):
            The frozen feature network. **Deviation**: the official code uses torchvision's ImageNet VGG16 relu3_3,
            which needs torchvision; we use a transformers `ResNetModel` (default ResNet-18, the recogniser's trunk
            family — load `microsoft/resnet-18` or the MS-Celeb trunk, or copy the recogniser's trunk with
            `ReconstructionDiscriminators.load_feature_backbone`). Frozen: never trained, excluded from the optimiser.
        feature_stage (`int`, *optional*, defaults to 2):
            ResNet stage whose output feeds F (stage 2 of ResNet-18: 128 channels at 1/8 of the input, the nearest to
            relu3_3's 256 channels at 1/4).
        image_mean (`list[float]`), image_std (`list[float]`):
            Normalisation the frozen network expects (ImageNet). The official code feeds [-1, 1] images to VGG without
            it [C]; we convert from [-1, 1] first.
    """

    model_type = "latent-ofer-reconstruction-discriminators"
    sub_configs_defaults = {"feature_backbone_config": ResNetConfig}

    ndf: int = 64
    image_layers: int = 3
    feature_width: int = 512
    feature_backbone_config: dict | ResNetConfig | None = None
    feature_stage: int = 2
    image_mean: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_MEAN)
    image_std: list[float | int] | tuple[float | int, ...] = tuple(IMAGENET_DEFAULT_STD)

    def __post_init__(self, **kwargs):
        if self.feature_backbone_config is None:
            self.feature_backbone_config = {
                "layer_type": "basic",
                "depths": [2, 2, 2, 2],
                "hidden_sizes": [64, 128, 256, 512],
                "embedding_size": 64,
            }
        super().__post_init__(**kwargs)
        run_validators(self)
        self.image_mean = [float(v) for v in self.image_mean]
        self.image_std = [float(v) for v in self.image_std]

    def validate_sizes(self) -> None:
        require_positive_ints(self, "ndf", "image_layers", "feature_width", "feature_stage")
        stages = len(self.feature_backbone_config.hidden_sizes)
        if self.feature_stage > stages:
            raise ValueError(f"feature_stage {self.feature_stage} exceeds the backbone's {stages} stages")

    def validate_normalization(self) -> None:
        require_rgb_statistics(self, "image_mean")
        require_rgb_statistics(self, "image_std", positive=True)

    @property
    def feature_channels(self) -> int:
        """Channels of the frozen features F sees (hidden_sizes[feature_stage - 1])."""
        return self.feature_backbone_config.hidden_sizes[self.feature_stage - 1]


__all__ = ["ReconstructionDiscriminatorsConfig"]
