"""The component registry: which models make up a Latent-OFER system, written once.

Every place that needs the list — `LatentOferConfig` (sub-config fields and their classes), `LatentOferModel`
(attributes, save/load subfolders), the Auto registration in the package's ``__init__`` and ``sizes.py`` — reads it
from here. A *slot* is one place of the system (``vit``, ``detector``, ``reconstructor``, ``recognizer``): the
composite's attribute, its subfolder when saved, and its config field ``<slot>_config``. The ``reconstructor`` slot
is optional and has alternatives, told apart by ``model_type``; each serves one ``reconstruction`` mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..diffusion_reconstruction.configuration_repaint_reconstruction import RePaintReconstructorConfig
from ..diffusion_reconstruction.modeling_repaint_reconstruction import RePaintReconstructor
from ..expression_recognizer.configuration_expression_recognizer import ExpressionRecognizerConfig
from ..expression_recognizer.modeling_expression_recognizer import ExpressionRecognizer
from ..hybrid_reconstruction.configuration_discriminators import ReconstructionDiscriminatorsConfig
from ..hybrid_reconstruction.configuration_hybrid_reconstruction import HybridReconstructionConfig
from ..hybrid_reconstruction.modeling_discriminators import ReconstructionDiscriminators
from ..hybrid_reconstruction.modeling_hybrid_reconstruction import HybridReconstructionNetwork
from ..occlusion_detector.configuration_occlusion_detector import OcclusionPatchDetectorConfig
from ..occlusion_detector.modeling_occlusion_detector import OcclusionPatchDetector
from ..vit_latents.configuration_vit_latents import ViTLatentBackboneConfig
from ..vit_latents.modeling_vit_latents import ViTLatentBackbone


@dataclass(frozen=True)
class Component:
    """One model class of the package and where it sits in a system.

    slot: the system slot it fills (``None``: a training-only model, e.g. the discriminators).
    auto_classes: the transformers Auto classes it is registered with (the last one goes into a saved ``auto_map``).
    reconstruction: the ``reconstruction`` mode this reconstructor serves.
    """

    slot: str | None
    config_class: type
    model_class: type
    auto_classes: tuple[str, ...] = ("AutoModel",)
    reconstruction: str | None = None

    @property
    def config_field(self) -> str:
        return f"{self.slot}_config"

    @property
    def model_type(self) -> str:
        return self.config_class.model_type


COMPONENTS: tuple[Component, ...] = (
    Component("vit", ViTLatentBackboneConfig, ViTLatentBackbone),
    Component("detector", OcclusionPatchDetectorConfig, OcclusionPatchDetector),
    Component("reconstructor", HybridReconstructionConfig, HybridReconstructionNetwork, reconstruction="hybrid"),
    Component("reconstructor", RePaintReconstructorConfig, RePaintReconstructor, reconstruction="diffusion"),
    Component(
        "recognizer",
        ExpressionRecognizerConfig,
        ExpressionRecognizer,
        auto_classes=("AutoModel", "AutoModelForImageClassification"),
    ),
    Component(None, ReconstructionDiscriminatorsConfig, ReconstructionDiscriminators),
)

#: the system's slots in order (detect → reconstruct → recognise); the attribute and subfolder of each component
SLOTS: tuple[str, ...] = ("vit", "detector", "reconstructor", "recognizer")
#: slots a system may leave empty (``reconstruction="mae"`` / ``"none"`` need no reconstructor)
OPTIONAL_SLOTS: frozenset[str] = frozenset({"reconstructor"})
#: what fills the detected patches: a reconstructor's mode, the MAE fill alone, or nothing
RECONSTRUCTION_MODES: tuple[str, ...] = ("hybrid", "mae", "diffusion", "none")


def slot_components(slot: str) -> tuple[Component, ...]:
    """The components that can fill ``slot`` (several for ``reconstructor``)."""
    found = tuple(component for component in COMPONENTS if component.slot == slot)
    if not found:
        raise ValueError(f"unknown component slot {slot!r}; the slots are {SLOTS}")
    return found


def component_for_model_type(slot: str, model_type: str | None) -> Component:
    """The component of ``slot`` with this ``model_type`` (None: the slot's first, its default)."""
    candidates = slot_components(slot)
    if model_type is None:
        return candidates[0]
    for component in candidates:
        if component.model_type == model_type:
            return component
    raise ValueError(
        f"{slot}_config has unknown model_type {model_type!r}; choose one of "
        f"{sorted(component.model_type for component in candidates)}"
    )


def component_for_config(slot: str, config: object) -> Component:
    """The component of ``slot`` whose config class ``config`` is an instance of."""
    for component in slot_components(slot):
        if isinstance(config, component.config_class):
            return component
    names = ", ".join(component.config_class.__name__ for component in slot_components(slot))
    raise ValueError(f"{slot}_config must be a dict or one of {names}, got {type(config).__name__}")


def reconstructor_for_mode(mode: str) -> Component | None:
    """The reconstructor component that ``mode`` needs, or None when it needs none; ValueError for unknown modes."""
    if mode not in RECONSTRUCTION_MODES:
        raise ValueError(f"reconstruction must be one of {RECONSTRUCTION_MODES}, got {mode!r}")
    for component in slot_components("reconstructor"):
        if component.reconstruction == mode:
            return component
    return None


def check_reconstruction_mode(mode: str, reconstructor_config: object) -> None:
    """Raise a clear error when ``mode`` is unknown or needs a reconstructor the system does not have."""
    needed = reconstructor_for_mode(mode)
    if needed is not None and not isinstance(reconstructor_config, needed.config_class):
        have = type(reconstructor_config).__name__ if reconstructor_config is not None else "none"
        raise ValueError(
            f"reconstruction={mode!r} needs a {needed.config_class.__name__} reconstructor, this system has {have}"
        )


__all__ = [
    "COMPONENTS",
    "Component",
    "OPTIONAL_SLOTS",
    "RECONSTRUCTION_MODES",
    "SLOTS",
    "check_reconstruction_mode",
    "component_for_config",
    "component_for_model_type",
    "reconstructor_for_mode",
    "slot_components",
]
