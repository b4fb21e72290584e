from ..common.deprecation import deprecated_aliases
from ..common.reconstruction import ReconstructionOutput
from .configuration_discriminators import ReconstructionDiscriminatorsConfig
from .configuration_hybrid_reconstruction import HybridReconstructionConfig
from .modeling_discriminators import DiscriminatorOutput, ReconstructionDiscriminators
from .modeling_hybrid_reconstruction import HybridReconstructionNetwork, HybridReconstructionPreTrainedModel
from .reconstruction_losses import (
    HybridLosses,
    consistency_loss,
    discriminator_loss,
    generator_losses,
    recognizer_teacher,
    reconstruction_loss,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    semantic_consistency_loss,
)
from .self_assembly import SelfAssemblyLayer, feature_mask_from_pixels, self_assembly, self_assembly_reference

__all__ = [
    "DiscriminatorOutput",
    "HybridLosses",
    "ReconstructionDiscriminators",
    "ReconstructionDiscriminatorsConfig",
    "consistency_loss",
    "discriminator_loss",
    "generator_losses",
    "recognizer_teacher",
    "reconstruction_loss",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "semantic_consistency_loss",
    "HybridReconstructionConfig",
    "HybridReconstructionNetwork",
    "ReconstructionOutput",
    "HybridReconstructionPreTrainedModel",
    "SelfAssemblyLayer",
    "feature_mask_from_pixels",
    "self_assembly",
    "self_assembly_reference",
]

__getattr__ = deprecated_aliases(
    __name__, {"HybridReconstructionOutput": ("ReconstructionOutput", ReconstructionOutput)}
)
