"""Latent-OFER expression recogniser: ResNet-18 + DAN attention heads + expression-relevant ViT latents
(docs/method.md#expression-recognizer)."""

from .configuration_expression_recognizer import ExpressionRecognizerConfig
from .convert_resnet_weights import (
    load_hub_resnet18,
    load_msceleb_resnet18,
    load_official_checkpoint,
    recognizer_state_dict_from_official,
    resnet_state_dict_from_torchvision,
)
from .latent_selection import (
    OFFICIAL_FIXED_PATCH_INDICES,
    OFFICIAL_FIXED_TOKEN_INDICES,
    select_latents_by_cam,
    select_latents_fixed,
)
from .modeling_expression_recognizer import (
    ExpressionRecognizer,
    ExpressionRecognizerOutput,
    ExpressionRecognizerPreTrainedModel,
)

__all__ = [
    "OFFICIAL_FIXED_PATCH_INDICES",
    "OFFICIAL_FIXED_TOKEN_INDICES",
    "ExpressionRecognizer",
    "ExpressionRecognizerConfig",
    "ExpressionRecognizerOutput",
    "ExpressionRecognizerPreTrainedModel",
    "load_hub_resnet18",
    "load_msceleb_resnet18",
    "load_official_checkpoint",
    "recognizer_state_dict_from_official",
    "resnet_state_dict_from_torchvision",
    "select_latents_by_cam",
    "select_latents_fixed",
]
