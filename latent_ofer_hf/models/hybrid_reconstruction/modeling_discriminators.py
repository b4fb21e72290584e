"""Discriminators for the hybrid reconstruction network [P §3.2.3; docs/method.md#discriminators]: image PatchGAN D and
feature-patch discriminator F on a frozen network's features. Their losses are in ``reconstruction_losses.py``."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel, ResNetModel
from transformers import initialization as init
from transformers.utils import ModelOutput

from ..common.hub_code import HubCodeMixin
from ..common.pixel_range import unit_range_to_normalized
from ..common.reconstruction import check_square_pixels
from .configuration_discriminators import ReconstructionDiscriminatorsConfig

LEAKY_SLOPE = 0.2


@dataclass
class DiscriminatorOutput(ModelOutput):
    r"""
    image_scores (`torch.FloatTensor` of shape `[B, 1, h, w]`): D's patch scores on the images (no sigmoid).
    feature_scores (`torch.FloatTensor` of shape `[B, feature_width, h', w']`): F's patch scores on the frozen
        features (F ends in a feature_width-channel conv, as the official `PFDiscriminator`).
    """

    image_scores: torch.FloatTensor | None = None
    feature_scores: torch.FloatTensor | None = None


def _image_patchgan(config: ReconstructionDiscriminatorsConfig) -> nn.Sequential:
    ndf, layers = config.ndf, config.image_layers
    blocks: list[nn.Module] = [nn.Conv2d(3, ndf, 4, stride=2, padding=1), nn.LeakyReLU(LEAKY_SLOPE)]
    width = ndf
    for index in range(1, layers + 1):  # stride 2 up to `layers`, then one stride-1 layer
        out = ndf * min(2**index, 8)
        stride = 2 if index < layers else 1
        blocks += [
            nn.Conv2d(width, out, 4, stride=stride, padding=1),
            nn.InstanceNorm2d(out, affine=True),
            nn.LeakyReLU(LEAKY_SLOPE),
        ]
        width = out
    blocks.append(nn.Conv2d(width, 1, 4, stride=1, padding=1))
    return nn.Sequential(*blocks)


def _feature_patch_discriminator(config: ReconstructionDiscriminatorsConfig) -> nn.Sequential:
    width = config.feature_width
    return nn.Sequential(
        nn.Conv2d(config.feature_channels, width, 4, stride=2, padding=1),
        nn.LeakyReLU(LEAKY_SLOPE),
        nn.Conv2d(width, width, 4, stride=2, padding=1),
        nn.InstanceNorm2d(width),
        nn.LeakyReLU(LEAKY_SLOPE),
        nn.Conv2d(width, width, 4, stride=2, padding=1),
    )


class ReconstructionDiscriminatorsPreTrainedModel(HubCodeMixin, PreTrainedModel):
    config_class = ReconstructionDiscriminatorsConfig
    config: ReconstructionDiscriminatorsConfig
    base_model_prefix = "discriminators"
    main_input_name = "images"
    input_modalities = ("image",)

    def _init_weights(self, module: nn.Module) -> None:
        """D and F: conv weights ~ N(0, 0.02), biases 0 [C]. The frozen ResNet keeps transformers' ResNet init."""
        if isinstance(module, nn.Conv2d) and not getattr(module, "_frozen_backbone", False):
            init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.InstanceNorm2d) and module.affine:
            init.ones_(module.weight)
            init.zeros_(module.bias)


class ReconstructionDiscriminators(ReconstructionDiscriminatorsPreTrainedModel):
    """D (image PatchGAN) and F (feature-patch discriminator over a frozen ResNet stage), one checkpoint.

    ``forward(images)`` takes images in [-1, 1] (the reconstruction network's ``generated`` space).
    """

    def __init__(self, config: ReconstructionDiscriminatorsConfig):
        super().__init__(config)
        self.image_discriminator = _image_patchgan(config)
        self.feature_discriminator = _feature_patch_discriminator(config)
        self.feature_backbone = ResNetModel(config.feature_backbone_config)
        for module in self.feature_backbone.modules():
            module._frozen_backbone = True
        self.feature_backbone.requires_grad_(False)
        self.post_init()
        self.feature_backbone.eval()  # frozen from the start: its BatchNorm statistics never move

    def train(self, mode: bool = True) -> ReconstructionDiscriminators:
        super().train(mode)
        self.feature_backbone.eval()  # frozen: BatchNorm statistics never move
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Parameters of D and F (the frozen backbone excluded) — what the optimiser gets."""
        return [*self.image_discriminator.parameters(), *self.feature_discriminator.parameters()]

    @torch.no_grad()
    def load_feature_backbone(self, resnet: ResNetModel) -> None:
        """Copy a pretrained trunk (e.g. `ExpressionRecognizer.resnet`, or `ResNetModel.from_pretrained(...)`)."""
        self.feature_backbone.load_state_dict(resnet.state_dict())
        self.feature_backbone.eval()

    def frozen_features(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images → the frozen network's stage-`feature_stage` map (differentiable w.r.t. the images)."""
        normalized = unit_range_to_normalized(images, self.config.image_mean, self.config.image_std)
        hidden = self.feature_backbone.embedder(normalized)
        for stage in self.feature_backbone.encoder.stages[: self.config.feature_stage]:
            hidden = stage(hidden)
        return hidden

    def forward(self, images: torch.Tensor, return_dict: bool | None = None) -> DiscriminatorOutput | tuple:
        """``[B, 3, S, S]`` images in [-1, 1] → D's and F's patch scores (a tuple when `return_dict` is False)."""
        images = check_square_pixels(images, "images", dtype=self.dtype)
        output = DiscriminatorOutput(
            image_scores=self.image_discriminator(images),
            feature_scores=self.feature_discriminator(self.frozen_features(images)),
        )
        return output if (self.config.return_dict if return_dict is None else return_dict) else output.to_tuple()


__all__ = ["DiscriminatorOutput", "ReconstructionDiscriminators", "ReconstructionDiscriminatorsPreTrainedModel"]
