"""The Gradio app of the Hugging Face Space (``spaces_app/app.py``) and of ``latent-ofer demo``.

``analysis``: what a request computes (faces, occluders added on request, JSON-friendly results); ``examples``:
generated SynthFER example faces; ``blocks``: the page and its launch settings.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported: no call to api.gradio.app

from .analysis import OCCLUDER_CHOICES, FaceAnalysis, analyze_image
from .blocks import MAX_FILE_SIZE, QUEUE_SIZE, build_demo, launch_demo, load_space_pipeline

__all__ = [
    "FaceAnalysis",
    "MAX_FILE_SIZE",
    "OCCLUDER_CHOICES",
    "QUEUE_SIZE",
    "analyze_image",
    "build_demo",
    "launch_demo",
    "load_space_pipeline",
]
