"""Model-card templates (Jinja, rendered by ``huggingface_hub.ModelCard.from_template``): ``system.md`` for a
whole Latent-OFER system, ``component.md`` for one of its models. Rendered by ``latent_ofer_hf.evaluation.cards``."""

from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent

__all__ = ["TEMPLATES"]
