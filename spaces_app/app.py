"""Hugging Face Space of latent-ofer-hf: Latent-OFER on uploaded, webcam or generated faces.

The model comes from ``LATENT_OFER_MODEL`` (a Hub repo id or a folder), by default the demo checkpoint shipped with
the package. Run locally with ``python spaces_app/app.py`` (127.0.0.1) or ``latent-ofer demo``.
"""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from latent_ofer_hf.space import build_demo, launch_demo  # noqa: E402

try:
    demo = build_demo()
except (OSError, ValueError) as error:  # a LATENT_OFER_MODEL that is not a saved system: one line, not a traceback
    model = os.environ.get("LATENT_OFER_MODEL", "the demo checkpoint")
    raise SystemExit(f"latent-ofer Space: cannot load the model {model!r}: {str(error).splitlines()[0]}") from None

if __name__ == "__main__":
    # on a Space the platform sets GRADIO_SERVER_NAME=0.0.0.0; locally the app stays on this machine
    launch_demo(demo, server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
