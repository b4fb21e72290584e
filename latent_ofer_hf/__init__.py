"""latent-ofer-hf: Latent-OFER (ICCV 2023) occluded facial expression recognition on the Hugging Face stack.

Importing the package registers every component with the transformers Auto classes (and for Hub "remote code"):
detect (``ViTLatentBackbone`` + ``OcclusionPatchDetector``) → reconstruct (``HybridReconstructionNetwork``, or
``RePaintReconstructor``) → recognise (``ExpressionRecognizer``),
combined by ``LatentOferModel``.
"""

import transformers
from transformers import AutoConfig
from transformers.pipelines import PIPELINE_REGISTRY

from .checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
from .models.common.deprecation import deprecated_aliases
from .models.common.input_checks import input_value_checks
from .models.common.labels import label_order, remap_labels, remap_logits
from .models.common.reconstruction import ReconstructionOutput
from .models.diffusion_reconstruction import RePaintReconstructor, RePaintReconstructorConfig
from .models.expression_recognizer import ExpressionRecognizer, ExpressionRecognizerConfig
from .models.hybrid_reconstruction import (
    HybridReconstructionConfig,
    HybridReconstructionNetwork,
    ReconstructionDiscriminators,
    ReconstructionDiscriminatorsConfig,
)
from .models.latent_ofer import COMPONENTS, LatentOferConfig, LatentOferModel, LatentOferOutput
from .models.latent_ofer.image_processing_latent_ofer import LatentOferImageProcessor
from .models.occlusion_detector import OcclusionPatchDetector, OcclusionPatchDetectorConfig
from .models.vit_latents import ViTLatentBackbone, ViTLatentBackboneConfig
from .pipelines.pipeline_occluded_fer import OccludedFERPipeline
from .presets import PRESETS, preset_config

__version__ = "0.1.0.dev0"


def _register() -> None:
    """Every model of the component registry, and the composite, with the transformers Auto classes."""
    entries = [(c.config_class, c.model_class, c.auto_classes) for c in COMPONENTS]
    entries.append((LatentOferConfig, LatentOferModel, ("AutoModel",)))
    for config_class, model_class, auto_class_names in entries:
        AutoConfig.register(config_class.model_type, config_class, exist_ok=True)
        for name in auto_class_names:
            getattr(transformers, name).register(config_class, model_class, exist_ok=True)
        # saved directories carry flat module files + auto_map, so they load with trust_remote_code=True alone
        model_class.register_for_auto_class(auto_class_names[-1])
        model_class.hub_auto_classes = tuple(auto_class_names)
    # AutoImageProcessor.from_pretrained(a system saved by the pipeline) finds its processor by this config
    transformers.AutoImageProcessor.register(
        LatentOferConfig, slow_image_processor_class=LatentOferImageProcessor, exist_ok=True
    )
    # pipeline("occluded-fer", model=...) builds the whole system (LatentOferModel through AutoModel); without a
    # model, the shipped demo checkpoint (as the CLI does)
    default = {"model": (DEMO_CHECKPOINT, "main")} if demo_checkpoint_available() else None
    PIPELINE_REGISTRY.register_pipeline(
        "occluded-fer",
        pipeline_class=OccludedFERPipeline,
        pt_model=transformers.AutoModel,
        default=default,
        type="image",
    )


_register()

__getattr__ = deprecated_aliases(
    __name__,
    {
        "OcclusionDetectorConfig": ("OcclusionPatchDetectorConfig", OcclusionPatchDetectorConfig),
        "ViTLatentsConfig": ("ViTLatentBackboneConfig", ViTLatentBackboneConfig),
        "RePaintReconstructionConfig": ("RePaintReconstructorConfig", RePaintReconstructorConfig),
    },
)

__all__ = [
    "DEMO_CHECKPOINT",
    "ExpressionRecognizer",
    "ExpressionRecognizerConfig",
    "HybridReconstructionConfig",
    "HybridReconstructionNetwork",
    "LatentOferConfig",
    "LatentOferImageProcessor",
    "LatentOferModel",
    "LatentOferOutput",
    "OccludedFERPipeline",
    "OcclusionPatchDetector",
    "OcclusionPatchDetectorConfig",
    "PRESETS",
    "ReconstructionOutput",
    "RePaintReconstructorConfig",
    "RePaintReconstructor",
    "ReconstructionDiscriminators",
    "ReconstructionDiscriminatorsConfig",
    "ViTLatentBackbone",
    "ViTLatentBackboneConfig",
    "input_value_checks",
    "label_order",
    "preset_config",
    "remap_labels",
    "remap_logits",
]
