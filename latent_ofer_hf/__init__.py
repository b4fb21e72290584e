"""latent-ofer-hf: Latent-OFER (ICCV 2023) occluded facial expression recognition on the Hugging Face stack.

Importing the package registers every component with the transformers Auto classes (and for Hub "remote code"):
detect (``ViTLatentBackbone`` + ``OcclusionPatchDetector``) → reconstruct (``HybridReconstructionNetwork``, or
``RePaintReconstructor``) → recognise (``ExpressionRecognizer``),
combined by ``LatentOferModel``.
"""

from transformers import AutoConfig, AutoModel, AutoModelForImageClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .models.common.labels import label_order, remap_labels, remap_logits
from .models.diffusion_reconstruction import RePaintReconstructionConfig, RePaintReconstructor
from .models.expression_recognizer import ExpressionRecognizer, ExpressionRecognizerConfig
from .models.hybrid_reconstruction import (
    HybridReconstructionConfig,
    HybridReconstructionNetwork,
    ReconstructionDiscriminators,
    ReconstructionDiscriminatorsConfig,
)
from .models.latent_ofer import LatentOferConfig, LatentOferModel, LatentOferOutput
from .models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from .models.occlusion_detector import OcclusionDetectorConfig, OcclusionPatchDetector
from .models.vit_latents import ViTLatentBackbone, ViTLatentsConfig
from .pipelines.pipeline_occluded_fer import OccludedFERPipeline
from .presets import PRESETS, preset_config

__version__ = "0.1.0.dev0"


def _register() -> None:
    for config_class, model_class, auto_classes in (
        (ViTLatentsConfig, ViTLatentBackbone, (AutoModel,)),
        (OcclusionDetectorConfig, OcclusionPatchDetector, (AutoModel,)),
        (HybridReconstructionConfig, HybridReconstructionNetwork, (AutoModel,)),
        (ReconstructionDiscriminatorsConfig, ReconstructionDiscriminators, (AutoModel,)),
        (RePaintReconstructionConfig, RePaintReconstructor, (AutoModel,)),
        (ExpressionRecognizerConfig, ExpressionRecognizer, (AutoModel, AutoModelForImageClassification)),
        (LatentOferConfig, LatentOferModel, (AutoModel,)),
    ):
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        for auto_class in auto_classes:
            auto_class.register(config_class, model_class, exist_ok=True)
        # saved directories carry flat module files + auto_map, so they load with trust_remote_code=True alone
        model_class.register_for_auto_class(auto_classes[-1].__name__)
    # pipeline("occluded-fer", model=...) builds the whole system (LatentOferModel through AutoModel)
    PIPELINE_REGISTRY.register_pipeline("occluded-fer", pipeline_class=OccludedFERPipeline, pt_model=AutoModel,
                                        type="image")


_register()

__all__ = [
    "ExpressionRecognizer",
    "ExpressionRecognizerConfig",
    "HybridReconstructionConfig",
    "HybridReconstructionNetwork",
    "LatentOferConfig",
    "LatentOferImageProcessor",
    "LatentOferModel",
    "LatentOferOutput",
    "OccludedFERPipeline",
    "OcclusionDetectorConfig",
    "OcclusionPatchDetector",
    "PRESETS",
    "RePaintReconstructionConfig",
    "RePaintReconstructor",
    "ReconstructionDiscriminators",
    "ReconstructionDiscriminatorsConfig",
    "ViTLatentBackbone",
    "ViTLatentsConfig",
    "label_order",
    "preset_config",
    "remap_labels",
    "remap_logits",
]
