"""The Gradio app (spaces_app/, latent-ofer demo): the /predict API, friendly errors, bounded uploads, a load test of
50 concurrent requests and a real headless-Chromium run. Artefacts (screenshot, load report) go to test-artifacts/."""

import json
import os
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from PIL import Image

from latent_ofer_hf import DEMO_CHECKPOINT
from latent_ofer_hf.models.common.labels import RAFDB_7
from latent_ofer_hf.space import OCCLUDER_CHOICES, build_demo, launch_demo, load_space_pipeline
from latent_ofer_hf.space.analysis import add_occluder, analyze_image
from latent_ofer_hf.space.blocks import FACE_MODES, NO_FACE
from latent_ofer_hf.space.examples import example_files

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CROP = FACE_MODES[1]


@pytest.fixture(scope="module")
def fer():
    pipe, model = load_space_pipeline()  # the default: the shipped demo checkpoint
    assert model == DEMO_CHECKPOINT
    return pipe


@pytest.fixture(scope="module")
def app(fer, tmp_path_factory):
    os.environ["GRADIO_TEMP_DIR"] = str(tmp_path_factory.mktemp("gradio"))
    demo = build_demo(fer, DEMO_CHECKPOINT)
    _, url, _ = launch_demo(demo, prevent_thread_lock=True, quiet=True)
    assert url.startswith("http://127.0.0.1:")
    yield demo, url
    demo.close()


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    return example_files(tmp_path_factory.mktemp("examples"))


def examples_dir_file(folder: Path) -> str:
    path = folder / "face.png"
    Image.open(example_files(folder / "examples")[0]).save(path)
    return str(path)


def _faces_json(outputs) -> list[dict]:
    return outputs[1]["faces"]


def test_predict_api_gives_label_patch_mask_and_reconstruction(app, examples):
    _, url = app
    client = Client(url, verbose=False)
    outputs = client.predict(handle_file(examples[2]), CROP, "none", 0.3, api_name="/predict")
    overview, result, _, patches, slider, scores, summary = outputs
    assert "trained only on SynthFER" in result["notice"]
    (face,) = result["faces"]
    assert face["label"] in RAFDB_7 and set(face["scores"]) == set(RAFDB_7)
    mask = np.asarray(face["occlusion_mask"])
    assert mask.shape == (14, 14) and set(np.unique(mask)) <= {0, 1}
    assert Image.open(patches).size == (224, 224)  # the face with its flagged patches shaded
    before, after = (Image.open(path) for path in slider)  # the reconstruction comes back as an image file
    assert before.size == after.size == (224, 224)
    assert scores["label"] == face["label"] and face["label"] in summary
    assert Image.open(overview).size == (224, 224) and face["box"] == [0, 0, 224, 224]
    client.close()


def test_added_occluder_is_flagged_and_no_face_is_a_message(fer, examples):
    clean = Image.open(examples[0])
    (plain,) = analyze_image(fer, clean, detect=False)
    (occluded,) = analyze_image(fer, clean, occluder="sunglasses", detect=False)
    assert occluded.occlusion_mask.sum() > plain.occlusion_mask.sum()  # the detector sees the added occluder
    assert analyze_image(fer, Image.new("RGB", (320, 240), (90, 90, 90))) == []  # a blank image: no face
    patched = add_occluder(clean, "random patches", 0.3, seed=0, grid=14)
    assert (np.asarray(patched) == 0).all(axis=-1).sum() >= 0.29 * 224 * 224
    with pytest.raises(ValueError, match="unknown occluder"):
        add_occluder(clean, "hat", 0.3, seed=0, grid=14)
    assert set(OCCLUDER_CHOICES) >= {"none", "sunglasses", "hand", "random patches"}


def test_friendly_errors_and_oversize_upload_refused(app, tmp_path):
    _, url = app
    client = Client(url, verbose=False)
    blank = tmp_path / "blank.png"
    Image.new("RGB", (320, 240), (90, 90, 90)).save(blank)
    outputs = client.predict(handle_file(str(blank)), FACE_MODES[0], "none", 0.3, api_name="/predict")
    assert outputs[1]["faces"] == [] and outputs[-1] == NO_FACE
    big = tmp_path / "big.png"
    noise = np.random.default_rng(0).integers(0, 256, (2200, 2200, 3), dtype=np.uint8)  # ~14.5 MB as PNG
    Image.fromarray(noise).save(big, compress_level=0)
    assert big.stat().st_size > 10 * 1024 * 1024
    with pytest.raises(Exception, match="(?i)file size|too large|exceeds"):
        client.predict(handle_file(str(big)), FACE_MODES[0], "none", 0.3, api_name="/predict")
    bad = tmp_path / "not_an_image.png"
    bad.write_bytes(b"this is not a PNG")
    with pytest.raises(Exception, match="cannot identify image file") as raised:  # gradio's check of the upload
        client.predict(handle_file(str(bad)), FACE_MODES[0], "none", 0.3, api_name="/predict")
    assert "Traceback" not in str(raised.value)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(Path(examples_dir_file(tmp_path)).read_bytes()[:-400])  # opens, fails to decode
    with pytest.raises(Exception, match="This file cannot be used|truncated") as raised:
        client.predict(handle_file(str(truncated)), FACE_MODES[1], "none", 0.3, api_name="/predict")
    assert "Traceback" not in str(raised.value)
    client.close()


def test_fifty_concurrent_requests_are_all_answered(app, examples, tmp_path):
    _, url = app
    # 50 visitors: half send 25 different pictures, half the very same one with the same occluder (identical
    # outputs: gradio would rewrite one cache file while serving it, unless each request's files are unique)
    uploads = []
    for i in range(50):
        array = np.array(Image.open(examples[i % len(examples)]))
        array[0, :4] = [i, 255 - i, i // 2] if i % 2 else [0, 0, 0]  # odd: one corner row differs per request
        uploads.append(tmp_path / f"visitor_{i if i % 2 else 0}.png")
        Image.fromarray(array).save(uploads[-1])
    process, peak, running = psutil.Process(), [0], [True]

    def sample():
        while running[0]:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.05)

    watcher = threading.Thread(target=sample, daemon=True)
    baseline = process.memory_info().rss
    watcher.start()
    client = Client(url, verbose=False)
    start = time.perf_counter()
    occluders = ("none", "sunglasses", "random patches", "hand", "phone")
    with ThreadPoolExecutor(max_workers=50) as pool:
        jobs = [
            pool.submit(
                client.predict, handle_file(str(uploads[i])), CROP, occluders[i % 5] if i % 2 else "none", 0.3,
                api_name="/predict",
            )
            for i in range(50)
        ]  # fmt: skip
        answers = [job.result(timeout=240) for job in jobs]
    seconds = time.perf_counter() - start
    running[0] = False
    watcher.join()
    client.close()
    assert len(answers) == 50
    assert all(len(_faces_json(a)) == 1 and _faces_json(a)[0]["label"] in RAFDB_7 for a in answers)
    report = {
        "requests": 50,
        "seconds": round(seconds, 1),
        "app_process_rss_before_mb": round(baseline / 2**20),
        "app_process_rss_peak_mb": round(peak[0] / 2**20),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "space_load_test.json").write_text(json.dumps(report, indent=2))
    print(f"\nload test: {report}")


def test_page_in_headless_chromium(app, examples):
    if shutil.which("chromedriver") is None:
        message = "needs Debian chromium + chromium-driver (apt-get install chromium chromium-driver)"
        if os.environ.get("LATENT_OFER_REQUIRE_BROWSER") == "1":  # .ci/run installs them: there it must run
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as expected
    from selenium.webdriver.support.ui import WebDriverWait

    _, url = app
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--window-size=1280,1400"):  # fmt: skip
        options.add_argument(flag)
    os.environ.setdefault("SE_AVOID_STATS", "true")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 60)
        upload = wait.until(expected.presence_of_element_located((By.CSS_SELECTOR, "input[type=file]")))
        upload.send_keys(examples[2])
        wait.until(expected.presence_of_element_located((By.CSS_SELECTOR, "img")))
        crop_choice = driver.find_element(By.XPATH, f"//label[contains(., '{CROP}')]")
        crop_choice.click()
        driver.find_element(By.ID, "recognise").click()
        shown = wait.until(
            lambda d: next((lab for lab in RAFDB_7 if lab in d.find_element(By.ID, "summary").text), None)
        )
        assert shown in RAFDB_7
        time.sleep(1.0)  # let the images finish loading before the picture
        loaded = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        external = [name for name in loaded if not name.startswith(("http://127.0.0.1", "data:", "blob:"))]
        assert not external, f"the page fetched from outside this machine: {external[:5]}"  # no fonts, no CDN
        ARTIFACTS.mkdir(exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "space_screenshot.png"))
    finally:
        driver.quit()
