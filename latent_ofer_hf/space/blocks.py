"""The Space's page (Gradio 6 Blocks) and its launch settings: bounded queue and uploads, offline, loopback by
default, friendly messages instead of tracebacks."""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import gradio as gr
from PIL import Image, ImageDraw, ImageFont

from ..checkpoints import DEMO_CHECKPOINT, demo_checkpoint_available
from ..faces.haar import HaarFaceDetector
from ..pipelines.image_inputs import DEFAULT_MAX_PIXELS, InvalidImageError, describe_input, load_image_input
from ..pipelines.model_source import system_folder_problem
from ..pipelines.pipeline_occluded_fer import MIN_FACE_CROP
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
    if problem := system_folder_problem(model):
        raise ValueError(problem)
    return pipeline("occluded-fer", model=model), model


#: what the demo checkpoint's detector can and cannot do (docs/RESULTS.md), said where its results are shown
DEMO_DETECTION_CAVEAT = (
    "Its occlusion detector is weak: it finds every random black patch but only about half of a drawn occluder's "
    "patches (hands hardly at all), so the rest of each occluder is left as it is and the fill continues it."
)


def _detector_description(fer: Any) -> str:
    detector = fer.face_detector
    if isinstance(detector, HaarFaceDetector):
        return "OpenCV's Haar cascade (MTCNN's weights are not installed here; the cascade gives no face score)"
    return type(detector).__name__.removesuffix("FaceDetector") or type(detector).__name__


def _model_description(fer: Any, model: str) -> str:
    shown = "the shipped demo checkpoint (`latent_ofer_hf.DEMO_CHECKPOINT`)" if model == DEMO_CHECKPOINT else model
    text = f"**Model:** {shown}."
    if fer.model_notice:
        text += f" **{fer.model_notice}**"
    if model == DEMO_CHECKPOINT:
        text += f" {DEMO_DETECTION_CAVEAT}"
    return text + f" Faces are found by {_detector_description(fer)}."


def _visitor_message(error: Exception, upload: str) -> str:
    """What a visitor is told about an image that cannot be used: the problem in plain words, without server paths
    or the library's advice to programmers (the full message goes to the log)."""
    text = str(error)
    if "max_pixels" in text or "decompression bomb" in text or "too large to decode" in text:
        return f"This image is too large: at most {DEFAULT_MAX_PIXELS / 1e6:.0f} megapixels."
    if "smaller than the minimum" in text or "too small for a face crop" in text:
        return f"This image is too small: a face needs at least {MIN_FACE_CROP}×{MIN_FACE_CROP} pixels."
    if "is not an image" in text:
        return "This file is not an image, or not one in a format that can be read (JPEG, PNG, WebP, GIF, BMP, TIFF)."
    if "truncated" in text:
        return "This image file is incomplete (truncated): upload it again or try another one."
    return "This image cannot be used: " + text.replace(describe_input(upload), "the image").replace(upload, "")


def _lenient_upload(component: gr.Image) -> gr.Image:
    """`component` handing the app the uploaded file as gradio stored it even when PIL cannot open it: the app's own
    loader then says in plain words why (gradio's preprocessing error names its internals). Set on the instance: a
    ``gr.Image`` subclass would make gradio write a ``.pyi`` stub beside this module."""
    strict = component.preprocess

    def preprocess(payload: Any) -> str | None:
        try:
            return strict(payload)
        except Exception:  # any file gradio cannot open: our loader explains it
            return None if payload is None or payload.path is None else str(payload.path)

    component.preprocess = preprocess
    return component


def _label_font(picture: Image.Image) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """A label font about 1/30 of the picture's longer side (readable once the overview is shown 320 px high)."""
    return ImageFont.load_default(size=max(12, round(max(picture.size) / 30)))


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
    font = _label_font(picture)
    for index, face in enumerate(faces):
        draw.rectangle(face.box, outline=(230, 40, 40), width=width)
        draw.text(
            (face.box[0] + width + 2, face.box[1] + width + 2),
            f"{index + 1}: {face.label}",
            fill=(230, 40, 40),
            font=font,
            stroke_width=max(1, font.size // 12),
            stroke_fill=(255, 255, 255),
        )
    return picture


def _face_views(faces: list[FaceAnalysis], index: int, stamp: str = ""):
    """The per-face outputs: the crop with its flagged patches shaded, before/after slider, scores, summary."""
    if not faces:
        return None, None, None, NO_FACE
    face = faces[min(max(index, 0), len(faces) - 1)]
    annotated = _stamped(shade_patches(face.face, face.occlusion_mask, outline=(255, 230, 0)), stamp)
    slider = None
    if face.reconstruction is not None:
        slider = (_stamped(face.face, stamp), _stamped(face.reconstruction, stamp))
    flagged = int(face.occlusion_mask.sum())
    ratio = (
        f"**{face.label}** ({face.scores[face.label]:.0%}) · occlusion ratio **{face.occlusion_ratio:.0%}** "
        f"({flagged} of {face.occlusion_mask.size} patches flagged)"
    )
    if face.face_score is not None:
        ratio += f" · face score {face.face_score:.3f}"
    return annotated, slider, face.scores, ratio


def _face_choices(faces: list[FaceAnalysis]) -> list[str]:
    return [f"face {i + 1}: {face.label}" for i, face in enumerate(faces)]


def build_demo(fer: Any = None, model: str | None = None) -> gr.Blocks:
    """The page. `fer`: a ready pipeline (tests); otherwise :func:`load_space_pipeline` (`model` or the default)."""
    if fer is None:
        fer, model = load_space_pipeline(model)
    model = model or str(getattr(fer.model.config, "name_or_path", "") or "a model given in code")
    scored_detector = not isinstance(fer.face_detector, HaarFaceDetector)  # the cascade's faces all score 1.0

    def predict(image: str | None, faces_in: str, occluder: str, ratio: float):
        if image is None:
            raise gr.Error("Upload an image, take a webcam picture or click an example first.")
        if faces_in not in FACE_MODES:
            raise gr.Error(f"unknown face mode {faces_in!r}; choose one of {list(FACE_MODES)}")
        if occluder not in OCCLUDER_CHOICES:
            raise gr.Error(f"unknown occluder {occluder!r}; choose one of {list(OCCLUDER_CHOICES)}")
        try:
            ratio = float(ratio)
        except (TypeError, ValueError):
            raise gr.Error(f"the random-patch ratio must be a number, got {ratio!r}") from None
        if not 0.0 <= ratio <= 0.6:
            raise gr.Error(f"the random-patch ratio must be in [0, 0.6], got {ratio}")
        detect = faces_in == FACE_MODES[0]
        upload = image
        try:
            image = load_image_input(upload)  # unreadable, truncated, bomb … with a message
            faces = analyze_image(
                fer, image, occluder=occluder, ratio=ratio, detect=detect, scored=detect and scored_detector
            )
        except (InvalidImageError, ValueError) as error:
            logger.info("refused an upload: %s", error)
            raise gr.Error(_visitor_message(error, upload)) from None
        except Exception:  # never a traceback for a visitor; the log keeps it
            logger.exception("request failed")
            raise gr.Error("Something went wrong while analysing this image; please try another one.") from None
        stamp = uuid.uuid4().hex
        overview = _stamped(_boxes_picture(image, faces), stamp)
        choices = _face_choices(faces)
        selector = gr.Dropdown(choices=choices, value=choices[0] if choices else None, visible=len(faces) > 1)
        shown_model = "demo checkpoint" if model == DEMO_CHECKPOINT else model  # not the server's install path
        results = {"model": shown_model, "notice": fer.model_notice, "faces": [face.to_json() for face in faces]}
        return overview, results, selector, faces, *_face_views(faces, 0, stamp)

    def select(choice: str | None, faces: list[FaceAnalysis] | None):
        faces, choices = faces or [], _face_choices(faces or [])
        if choice is None:  # the selector was reset by a new result (it fires .change too): show its first face
            return _face_views(faces, 0, uuid.uuid4().hex)
        if not faces:
            raise gr.Error("Recognise an image first; then choose one of its faces.")
        if choice not in choices:
            raise gr.Error(f"no {choice!r} in the last result; choose one of {choices}")
        return _face_views(faces, choices.index(choice), uuid.uuid4().hex)

    with gr.Blocks(title="Latent-OFER: occluded facial expression recognition") as demo:
        gr.Markdown(
            "# Latent-OFER — occluded facial expression recognition\n"
            "Detect the occluded patches of each face (ViT latents + a Deep SVDD-family head), reconstruct them "
            "(MAE + U-Net with self-assembly), recognise the expression (ResNet + expression-relevant latents) — Lee, "
            "Lee, Yoo, ICCV 2023, as implemented by latent-ofer-hf."
        )
        gr.Markdown(_model_description(fer, model))
        # the faces of a visitor's last request, for the face selector; dropped when the tab closes or after
        # STATE_SECONDS, and at most STATE_SESSIONS sessions are kept (memory stays bounded across visitors)
        faces_state = gr.State([], time_to_live=STATE_SECONDS)
        with gr.Row():
            with gr.Column():
                # image_mode=None: the file as uploaded (16-bit, transparency, EXIF), for our loader to read
                image = _lenient_upload(
                    gr.Image(type="filepath", image_mode=None, sources=["upload", "webcam", "clipboard"], label="Image")
                )
                faces_in = gr.Radio(list(FACE_MODES), value=FACE_MODES[0], label="Faces")
                occluder = gr.Dropdown(list(OCCLUDER_CHOICES), value="none", label="Add an occluder to each face")
                ratio = gr.Slider(0.0, 0.6, value=0.3, step=0.05, label="Random-patch ratio")
                button = gr.Button("Recognise", variant="primary", elem_id="recognise")
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
        files = example_files()
        gr.Examples(  # below the results, which then show without scrolling past the table
            [[path, FACE_MODES[1], "none", 0.3] for path in files] + [[files[0], FACE_MODES[1], "random patches", 0.3]],
            inputs=[image, faces_in, occluder, ratio],
            label="Generated SynthFER faces (clean and occluded; already face crops); the last gets 30 % random black "
            "patches" + (", which the demo checkpoint's detector finds" if model == DEMO_CHECKPOINT else ""),
        )
        per_face = [patches, slider, scores, summary]
        button.click(
            predict,
            inputs=[image, faces_in, occluder, ratio],
            outputs=[overview, details, selector, faces_state, *per_face],
            api_name="predict",
        )
        selector.change(select, inputs=[selector, faces_state], outputs=per_face, api_name="select_face")
        # a visitor's own upload is a photo until they say otherwise (an example sets "one face crop")
        image.upload(lambda: FACE_MODES[0], outputs=faces_in, api_visibility="private")
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


__all__ = [
    "DEMO_DETECTION_CAVEAT",
    "MAX_FILE_SIZE",
    "NO_FACE",
    "QUEUE_SIZE",
    "build_demo",
    "launch_demo",
    "load_space_pipeline",
]
