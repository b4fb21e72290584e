"""The Space's page (Gradio 6 Blocks) and its launch settings: bounded queue and uploads, offline, loopback by
default, friendly messages instead of tracebacks."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw

from ..checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
from ..pipelines.image_inputs import InvalidImageError, load_image_input
from ..pipelines.visualize import shade_patches
from .analysis import OCCLUDER_CHOICES, FaceAnalysis, analyze_image
from .examples import example_files

logger = logging.getLogger(__name__)

#: requests waiting at most (beyond it a visitor is told the queue is full); one runs at a time (a 2-core CPU)
QUEUE_SIZE = 64
#: how long a visitor's last result is kept for the face selector, and for how many visitors at most
STATE_SECONDS, STATE_SESSIONS = 900, 256
#: largest upload accepted (gradio refuses bigger files before they reach the model)
MAX_FILE_SIZE = "10mb"
#: how faces are found: the face detector (MTCNN), or the whole image is one face crop (e.g. the SynthFER examples,
#: cartoon faces a photo face detector does not find)
FACE_MODES = ("detect faces", "the image is one face crop")
NO_FACE = "No face found in this image. Try a photo where a face is clearly visible, or one of the examples."


def load_space_pipeline(model: str | None = None):
    """The pipeline of `model`, of ``$LATENT_OFER_MODEL`` (a Hub id or a folder), else of the demo checkpoint."""
    from transformers import pipeline

    model = model or os.environ.get("LATENT_OFER_MODEL") or None
    if model is None:
        if not demo_checkpoint_available():
            raise RuntimeError(f"the demo checkpoint is not installed at {DEMO_CHECKPOINT}; set LATENT_OFER_MODEL")
        model = DEMO_CHECKPOINT
    return pipeline("occluded-fer", model=model), model


def _model_description(fer: Any, model: str) -> str:
    shown = "the shipped demo checkpoint (`latent_ofer_hf.DEMO_CHECKPOINT`)" if model == DEMO_CHECKPOINT else model
    text = f"**Model:** {shown}."
    if fer.model_notice:
        text += f" **{fer.model_notice}**"
    return text


def _stamped(image: Image.Image, stamp: str) -> Image.Image:
    """A copy carrying a per-request PNG text chunk. gradio caches an output file under the hash of its bytes and
    rewrites it on every request, so two requests with identical pictures (the same example clicked twice at once)
    could be served a file while it is being rewritten; unique bytes give every request its own file."""
    copy = image.convert("RGB")
    copy.info["latent-ofer-request"] = stamp
    return copy


def _boxes_picture(image: Image.Image, faces: list[FaceAnalysis]) -> Image.Image:
    """The image with each face's box and its label drawn (the overview)."""
    picture = image.convert("RGB").copy()
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 300))
    for index, face in enumerate(faces):
        draw.rectangle(face.box, outline=(230, 40, 40), width=width)
        draw.text((face.box[0] + width + 2, face.box[1] + width + 2), f"{index + 1}: {face.label}", fill=(230, 40, 40))
    return picture


def _face_views(faces: list[FaceAnalysis], index: int, stamp: str = ""):
    """The per-face outputs: the crop with its flagged patches shaded, before/after slider, scores, summary."""
    if not faces:
        return None, None, None, NO_FACE
    face = faces[min(max(index, 0), len(faces) - 1)]
    annotated = _stamped(shade_patches(face.face, face.occlusion_mask), stamp)
    slider = None
    if face.reconstruction is not None:
        slider = (_stamped(face.face, stamp), _stamped(face.reconstruction, stamp))
    flagged = int(face.occlusion_mask.sum())
    ratio = (
        f"**{face.label}** ({face.scores[face.label]:.0%}) · occlusion ratio **{face.occlusion_ratio:.0%}** "
        f"({flagged} of {face.occlusion_mask.size} patches flagged) · face score {face.face_score:.3f}"
    )
    return annotated, slider, face.scores, ratio


def _face_choices(faces: list[FaceAnalysis]) -> list[str]:
    return [f"face {i + 1}: {face.label}" for i, face in enumerate(faces)]


def build_demo(fer: Any = None, model: str | None = None) -> gr.Blocks:
    """The page. `fer`: a ready pipeline (tests); otherwise :func:`load_space_pipeline` (`model` or the default)."""
    if fer is None:
        fer, model = load_space_pipeline(model)
    model = model or str(getattr(fer.model.config, "name_or_path", "") or "a model given in code")

    def predict(image: str | None, faces_in: str, occluder: str, ratio: float):
        if image is None:
            raise gr.Error("Upload an image, take a webcam picture or click an example first.")
        if faces_in not in FACE_MODES:
            raise gr.Error(f"unknown face mode {faces_in!r}; choose one of {list(FACE_MODES)}")
        try:
            image = load_image_input(image)  # our checks: unreadable, truncated, bomb, NaN … with a message
            faces = analyze_image(fer, image, occluder=occluder, ratio=float(ratio), detect=faces_in == FACE_MODES[0])
        except (InvalidImageError, ValueError) as error:
            raise gr.Error(f"This file cannot be used: {error}") from None
        except Exception:  # never a traceback for a visitor; the log keeps it
            logger.exception("request failed")
            raise gr.Error("Something went wrong while analysing this image; please try another one.") from None
        stamp = uuid.uuid4().hex
        overview = _stamped(_boxes_picture(image, faces), stamp)
        choices = _face_choices(faces)
        selector = gr.Dropdown(choices=choices, value=choices[0] if choices else None, visible=len(faces) > 1)
        results = {"model": model, "notice": fer.model_notice, "faces": [face.to_json() for face in faces]}
        return overview, results, selector, faces, *_face_views(faces, 0, stamp)

    def select(choice: str | None, faces: list[FaceAnalysis] | None):
        faces = faces or []
        index = _face_choices(faces).index(choice) if choice in _face_choices(faces) else 0
        return _face_views(faces, index, uuid.uuid4().hex)

    with gr.Blocks(title="Latent-OFER: occluded facial expression recognition") as demo:
        gr.Markdown(
            "# Latent-OFER — occluded facial expression recognition\n"
            "Detect the occluded patches of each face (ViT latents + a one-class head), reconstruct them (MAE + U-Net "
            "with self-assembly), recognise the expression (ResNet + expression-relevant latents) — Lee, Lee, Yoo, "
            "ICCV 2023, as implemented by latent-ofer-hf."
        )
        gr.Markdown(_model_description(fer, model))
        # the faces of a visitor's last request, for the face selector; dropped when the tab closes or after
        # STATE_SECONDS, and at most STATE_SESSIONS sessions are kept (memory stays bounded across visitors)
        faces_state = gr.State([], time_to_live=STATE_SECONDS)
        with gr.Row():
            with gr.Column():
                image = gr.Image(type="filepath", sources=["upload", "webcam", "clipboard"], label="Image")
                faces_in = gr.Radio(list(FACE_MODES), value=FACE_MODES[0], label="Faces")
                occluder = gr.Dropdown(list(OCCLUDER_CHOICES), value="none", label="Add an occluder to each face")
                ratio = gr.Slider(0.0, 0.6, value=0.3, step=0.05, label="Random-patch ratio")
                button = gr.Button("Recognise", variant="primary", elem_id="recognise")
                gr.Examples(
                    [[path, FACE_MODES[1]] for path in example_files()],
                    inputs=[image, faces_in],
                    label="Generated SynthFER faces (clean and occluded; already face crops)",
                )
            with gr.Column():
                summary = gr.Markdown(elem_id="summary")
                selector = gr.Dropdown(label="Face", visible=False, interactive=True)
                scores = gr.Label(num_top_classes=7, label="Expression scores", elem_id="scores")
        with gr.Row():
            overview = gr.Image(label="Faces found", type="pil", format="png", height=320, interactive=False)
            patches = gr.Image(
                label="Occluded patches (red: what the detector flagged)",
                type="pil",
                format="png",
                height=320,
                interactive=False,
            )
            slider = gr.ImageSlider(label="Before / after reconstruction", type="pil", format="png", max_height=320)
        with gr.Accordion("Result as the API returns it", open=False):
            details = gr.JSON(label="JSON")
        per_face = [patches, slider, scores, summary]
        button.click(
            predict,
            inputs=[image, faces_in, occluder, ratio],
            outputs=[overview, details, selector, faces_state, *per_face],
            api_name="predict",
        )
        selector.change(select, inputs=[selector, faces_state], outputs=per_face, api_name="select_face")
    return demo


def launch_demo(
    demo: gr.Blocks, *, server_name: str = "127.0.0.1", server_port: int | None = None, **kwargs: Any
) -> tuple[Any, str, str]:
    """Launch offline-safe: bounded queue (``QUEUE_SIZE`` waiting, one at a time), ``MAX_FILE_SIZE`` uploads, no share
    link, no SSR, errors as messages."""
    demo.queue(max_size=QUEUE_SIZE, default_concurrency_limit=1)
    return demo.launch(
        server_name=server_name,
        server_port=server_port,
        share=False,
        ssr_mode=False,
        max_file_size=MAX_FILE_SIZE,
        show_error=True,  # our function raises only gr.Error messages (it catches everything else): no traceback
        footer_links=["api"],
        state_session_capacity=STATE_SESSIONS,
        **kwargs,
    )


__all__ = ["MAX_FILE_SIZE", "NO_FACE", "QUEUE_SIZE", "build_demo", "launch_demo", "load_space_pipeline"]
