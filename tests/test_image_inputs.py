"""load_image_input: every accepted input kind → an RGB PIL image; every bad input → InvalidImageError.

All test images are generated here (PIL / numpy / zlib) into tmp_path; URL loading uses a local http.server.
"""

from __future__ import annotations

import functools
import http.server
import io
import socket
import struct
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageFile, features

from latent_ofer_hf.pipelines.image_inputs import (
    DEFAULT_BACKGROUND,
    DEFAULT_MAX_PIXELS,
    InvalidImageError,
    describe_input,
    load_image_input,
)

WHITE = (255, 255, 255)


def _png_bytes(image: Image.Image, **save_kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **save_kwargs)
    return buffer.getvalue()


def _reds(image: Image.Image) -> list[int]:
    """The red channel of every pixel, row by row."""
    return _pixels(image)[..., 0].ravel().tolist()


def _pixels(image: Image.Image) -> np.ndarray:
    assert image.mode == "RGB"
    return np.asarray(image)


def _color_image(width: int = 6, height: int = 4) -> np.ndarray:
    """A uint8 [H, W, 3] image whose every pixel is distinct and whose channels differ."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([x * 10 + 5, y * 20 + 7, 200 - x * 3 - y], axis=-1).astype(np.uint8)


def _png_header_only(width: int, height: int, idat: bytes = zlib.compress(b"\x00")) -> bytes:
    """A tiny PNG whose IHDR claims width x height RGB pixels; its pixel data (IDAT) is one tiny zlib stream."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.fixture
def no_decode(monkeypatch):
    """Fail the test if any PIL image file gets its pixels decoded."""
    calls = []

    def spy(self, *args, **kwargs):
        calls.append(self.size)
        raise AssertionError(f"pixels of a {self.size} image were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return calls


# -- files, bytes, file objects -----------------------------------------------------------------------------------
def test_path_str_and_pathlike_give_exact_rgb(tmp_path):
    array = _color_image()
    path = tmp_path / "face.png"
    Image.fromarray(array).save(path)
    for source in (str(path), path):
        image = load_image_input(source)
        assert isinstance(image, Image.Image) and image.mode == "RGB" and image.size == (6, 4)
        np.testing.assert_array_equal(_pixels(image), array)


def test_jpeg_path_loads_rgb(tmp_path):
    path = tmp_path / "face.jpg"
    Image.new("RGB", (33, 17), (200, 40, 90)).save(path, quality=95)
    image = load_image_input(path)
    assert image.mode == "RGB" and image.size == (33, 17)
    assert np.abs(_pixels(image).astype(int) - (200, 40, 90)).max() <= 3


def test_encoded_bytes_kinds_and_file_objects(tmp_path):
    array = _color_image()
    data = _png_bytes(Image.fromarray(array))
    path = tmp_path / "x.png"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        from_file = load_image_input(handle)
    sources = [data, bytearray(data), memoryview(data), io.BytesIO(data)]
    for image in [*(load_image_input(s) for s in sources), from_file]:
        assert image.size == (6, 4)
        np.testing.assert_array_equal(_pixels(image), array)


def test_one_pixel_image_is_valid(tmp_path):
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (1, 2, 3)).save(path)
    image = load_image_input(path)
    assert image.size == (1, 1) and image.getpixel((0, 0)) == (1, 2, 3)


def test_exif_orientation_6_is_rotated_upright(tmp_path):
    stored = Image.new("RGB", (40, 20), (255, 0, 0))  # left half red, right half blue
    stored.paste((0, 0, 255), (20, 0, 40, 20))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    stored.save(path, quality=95, exif=exif)
    image = load_image_input(path)
    assert image.size == (20, 40)  # width and height swapped
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 50, top  # clockwise: the stored left (red) edge becomes the top
    assert bottom[2] > 200 and bottom[0] < 50, bottom


def test_exif_orientation_applied_to_pil_input_without_mutating_it():
    stored = Image.new("RGB", (4, 2), (0, 0, 0))
    stored.putpixel((0, 0), (255, 255, 255))
    exif = stored.getexif()
    exif[0x0112] = 6
    stored.info["exif"] = exif.tobytes()
    image = load_image_input(stored)
    assert image.size == (2, 4) and image.getpixel((1, 0)) == WHITE  # top-left corner → top-right after 90° cw
    assert stored.size == (4, 2) and image is not stored


def test_animated_gif_and_apng_give_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), color) for color in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    gif, apng = tmp_path / "anim.gif", tmp_path / "anim.png"
    frames[0].save(gif, save_all=True, append_images=frames[1:], duration=50, loop=0)
    frames[0].save(apng, save_all=True, append_images=frames[1:], duration=50)
    assert Image.open(gif).n_frames == 3 and Image.open(apng).n_frames == 3
    for path in (gif, apng):
        image = load_image_input(path)
        assert image.mode == "RGB" and image.size == (8, 8)
        assert image.getpixel((4, 4)) == (255, 0, 0), path.name


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_animated_webp_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (16, 16), color) for color in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.webp"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, lossless=True)
    assert load_image_input(path).getpixel((8, 8)) == (255, 0, 0)


def test_palette_with_transparency_from_file_is_composited(tmp_path):
    image = Image.new("P", (2, 1))
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.putpixel((1, 0), 1)
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    loaded = load_image_input(path)
    assert loaded.getpixel((0, 0)) == WHITE and loaded.getpixel((1, 0)) == (10, 20, 30)


def test_sixteen_bit_png_file_is_range_scaled(tmp_path):
    ramp = (np.arange(256, dtype=np.uint16) * 257).reshape(16, 16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    np.testing.assert_array_equal(_pixels(load_image_input(path))[..., 0], np.arange(256).reshape(16, 16))


# -- PIL images of every mode -----------------------------------------------------------------------------------------
def _palette(transparent: bool) -> Image.Image:
    image = Image.new("P", (3, 2), 1)
    image.putpalette([0, 0, 0, 10, 20, 30] + [0] * 762)
    image.putpixel((0, 0), 0)
    if transparent:
        image.info["transparency"] = 0
    return image


@pytest.mark.parametrize(
    ("make", "corner", "center"),
    [
        (lambda: Image.new("RGB", (3, 2), (1, 2, 3)), (1, 2, 3), (1, 2, 3)),
        (lambda: Image.new("1", (3, 2), 1), WHITE, WHITE),
        (lambda: Image.new("L", (3, 2), 100), (100, 100, 100), (100, 100, 100)),
        (lambda: Image.new("LA", (3, 2), (100, 255)), (100, 100, 100), (100, 100, 100)),
        (lambda: Image.new("LA", (3, 2), (100, 0)), WHITE, WHITE),
        (lambda: Image.new("La", (3, 2), (100, 255)), (100, 100, 100), (100, 100, 100)),
        (lambda: Image.new("RGBA", (3, 2), (10, 20, 30, 0)), WHITE, WHITE),
        (lambda: Image.new("RGBA", (3, 2), (10, 20, 30, 255)), (10, 20, 30), (10, 20, 30)),
        (lambda: _palette(False), (0, 0, 0), (10, 20, 30)),
        (lambda: _palette(True), WHITE, (10, 20, 30)),
        (lambda: Image.new("CMYK", (3, 2), (0, 0, 0, 0)), WHITE, WHITE),
        (lambda: Image.new("CMYK", (3, 2), (255, 0, 0, 0)), (0, 255, 255), (0, 255, 255)),
        (lambda: Image.new("YCbCr", (3, 2), (128, 128, 128)), (128, 128, 128), (128, 128, 128)),
        (lambda: Image.new("I", (3, 2), 100), (100, 100, 100), (100, 100, 100)),
        (lambda: Image.new("F", (3, 2), 0.5), (128, 128, 128), (128, 128, 128)),
        (lambda: Image.new("F", (3, 2), 100.0), (100, 100, 100), (100, 100, 100)),
    ],
    ids=[
        "RGB",
        "1",
        "L",
        "LA-opaque",
        "LA-clear",
        "La",
        "RGBA-clear",
        "RGBA-opaque",
        "P",
        "P-transparent",
        "CMYK-white",
        "CMYK-cyan",
        "YCbCr",
        "I-8bit-values",
        "F-unit",
        "F-0..255",
    ],
)
def test_pil_modes_become_rgb(make, corner, center):
    source = make()
    image = load_image_input(source)
    assert image.mode == "RGB" and image.size == (3, 2)
    assert image.getpixel((0, 0)) == corner
    assert image.getpixel((1, 1)) == center
    assert image is not source


def test_half_transparent_rgba_over_white_and_black():
    source = Image.new("RGBA", (2, 2), (0, 0, 0, 128))
    assert DEFAULT_BACKGROUND == WHITE
    white = load_image_input(source).getpixel((0, 0))
    black = load_image_input(source, background=(0, 0, 0)).getpixel((0, 0))
    assert all(abs(c - 127) <= 1 for c in white), white  # 50 % black over white
    assert black == (0, 0, 0)
    assert load_image_input(source, background="black").getpixel((0, 0)) == (0, 0, 0)


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I"])
def test_sixteen_bit_modes_scale_full_range(mode):
    ramp = np.arange(256, dtype=np.uint16) * 257  # 0..65535
    source = Image.new(mode, (256, 1))
    source.putdata(ramp.tolist())
    image = load_image_input(source)
    np.testing.assert_array_equal(_pixels(image)[0, :, 0], np.arange(256))
    np.testing.assert_array_equal(_pixels(image)[..., 0], _pixels(image)[..., 2])


def test_twelve_bit_data_uses_its_actual_range_not_clipping():
    source = Image.new("I;16", (2, 1))
    source.putdata([0, 4095])
    assert _reds(load_image_input(source)) == [0, 255]


def test_signed_and_float_ranges_are_scaled_not_clipped():
    signed = Image.new("I", (3, 1))
    signed.putdata([-1000, 0, 1000])
    assert _reds(load_image_input(signed)) == [0, 128, 255]
    depth = Image.fromarray(np.array([[0.0, 500.0, 1000.0]], dtype=np.float32), "F")
    assert _reds(load_image_input(depth)) == [0, 128, 255]


def test_float_pil_image_with_nan_is_refused():
    source = Image.fromarray(np.array([[0.0, np.nan]], dtype=np.float32), "F")
    with pytest.raises(InvalidImageError, match="NaN or infinite"):
        load_image_input(source)


def test_lazily_opened_pil_image_is_decoded(tmp_path):
    path = tmp_path / "lazy.png"
    Image.new("L", (5, 5), 77).save(path)
    with Image.open(path) as lazy:
        assert load_image_input(lazy).getpixel((2, 2)) == (77, 77, 77)


# -- numpy arrays and tensors ---------------------------------------------------------------------------------------
def test_numpy_grayscale_shapes():
    gray = np.full((4, 6), 100, dtype=np.uint8)
    for array in (gray, gray[..., None]):
        image = load_image_input(array)
        assert image.size == (6, 4) and (_pixels(image) == 100).all()


def test_numpy_rgb_and_bgr():
    array = _color_image()
    np.testing.assert_array_equal(_pixels(load_image_input(array)), array)
    np.testing.assert_array_equal(_pixels(load_image_input(array, bgr=True)), array[..., ::-1])
    before = array.copy()
    load_image_input(array, bgr=True)
    np.testing.assert_array_equal(array, before)  # the caller's array is untouched


def test_numpy_rgba_bgra_composited_on_white():
    array = np.zeros((2, 2, 4), dtype=np.uint8)
    array[0, 0] = (10, 20, 30, 255)
    array[0, 1] = (10, 20, 30, 0)
    image = load_image_input(array)
    assert image.getpixel((0, 0)) == (10, 20, 30) and image.getpixel((1, 0)) == WHITE
    assert load_image_input(array, bgr=True).getpixel((0, 0)) == (30, 20, 10)
    assert load_image_input(array, background=(0, 0, 0)).getpixel((1, 0)) == (0, 0, 0)


def test_numpy_uint16_float_bool_and_int():
    ramp = (np.arange(256, dtype=np.uint16) * 257).reshape(1, 256)
    np.testing.assert_array_equal(_pixels(load_image_input(ramp))[0, :, 1], np.arange(256))
    floats = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert _reds(load_image_input(floats)) == [0, 128, 255]
    assert _reds(load_image_input(floats.astype(np.float16))) == [0, 128, 255]
    assert _reds(load_image_input(np.array([[True, False]]))) == [255, 0]
    assert load_image_input(np.full((2, 2, 3), 7, dtype=np.int64)).getpixel((0, 0)) == (7, 7, 7)
    for dtype in (np.int64, np.int32, np.int16):  # one negative value everywhere: the bottom of its range, black
        assert load_image_input(np.full((2, 2, 3), -5, dtype=dtype)).getpixel((0, 0)) == (0, 0, 0)
    assert _reds(load_image_input(np.array([[-10, -5]], dtype=np.int32))) == [0, 255]  # [min(lo, 0), hi] → 0..255


def test_non_contiguous_array():
    array = _color_image(12, 8)[::2, ::2]
    np.testing.assert_array_equal(_pixels(load_image_input(array)), array)


def test_torch_tensor_channels_last():
    array = _color_image()
    np.testing.assert_array_equal(_pixels(load_image_input(torch.from_numpy(array))), array)
    with pytest.raises(InvalidImageError, match="channels-first"):
        load_image_input(torch.rand(3, 8, 8))


@pytest.mark.parametrize(
    ("array", "phrase"),
    [
        (np.zeros((3, 224, 224), dtype=np.uint8), r"channels-first \[C, H, W\].*transpose"),
        (np.zeros((8, 8, 5), dtype=np.uint8), "unsupported shape"),
        (np.zeros((8, 8, 2), dtype=np.uint8), "unsupported shape"),
        (np.zeros(16, dtype=np.uint8), "unsupported shape"),
        (np.zeros((1, 8, 8, 3), dtype=np.uint8), "4-D"),
        (np.zeros((4, 4), dtype=np.complex64), "unsupported dtype complex64"),
        (np.empty((4, 4), dtype=object), "unsupported dtype object"),
        (np.full((4, 4), 200.0), r"float arrays must be in \[0, 1\]"),
        (np.full((4, 4), -0.5), r"float arrays must be in \[0, 1\]"),
        (np.array([[0.5, np.nan]]), "NaN or infinite"),
        (np.array([[0.5, np.inf]], dtype=np.float32), "NaN or infinite"),
        (np.zeros((0, 5, 3), dtype=np.uint8), "5x0 pixels, smaller than the minimum 1x1"),
    ],
    ids=[
        "chw",
        "5-channels",
        "2-channels",
        "1d",
        "4d",
        "complex",
        "object",
        "float-255",
        "float-negative",
        "nan",
        "inf",
        "empty",
    ],
)
def test_bad_arrays(array, phrase):
    with pytest.raises(InvalidImageError, match=phrase) as caught:
        load_image_input(array)
    assert "numpy array of shape" in str(caught.value)


# -- bad inputs -------------------------------------------------------------------------------------------------------
def test_none_list_and_unsupported_objects():
    with pytest.raises(InvalidImageError, match="got None"):
        load_image_input(None)
    with pytest.raises(InvalidImageError, match="pass one image at a time"):
        load_image_input([Image.new("RGB", (2, 2))])
    with pytest.raises(InvalidImageError, match="pass one image at a time"):
        load_image_input([])
    with pytest.raises(InvalidImageError, match="unsupported input: object of type builtins.object"):
        load_image_input(object())
    with pytest.raises(InvalidImageError, match="empty string"):
        load_image_input("")
    with pytest.raises(InvalidImageError, match="unsupported URL scheme"):
        load_image_input("ftp://example.com/face.png")


def test_missing_directory_and_empty_file(tmp_path):
    missing = tmp_path / "nope.jpg"
    with pytest.raises(InvalidImageError, match=r"no such file: path '.*nope\.jpg'"):
        load_image_input(str(missing))
    with pytest.raises(InvalidImageError, match="is a directory"):
        load_image_input(tmp_path)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(InvalidImageError, match=r"empty\.png' is an empty file \(0 bytes\)"):
        load_image_input(empty)


def test_empty_bytes_and_exhausted_or_text_file_objects(tmp_path):
    with pytest.raises(InvalidImageError, match=r"bytes \(0 bytes\): empty data"):
        load_image_input(b"")
    stream = io.BytesIO(_png_bytes(Image.new("RGB", (2, 2))))
    stream.read()
    with pytest.raises(InvalidImageError, match="returned no data"):
        load_image_input(stream)
    text = tmp_path / "t.txt"
    text.write_text("hello")
    with open(text) as handle, pytest.raises(InvalidImageError, match="text mode"):
        load_image_input(handle)
    closed = io.BytesIO(b"abc")
    closed.close()
    with pytest.raises(InvalidImageError, match="cannot read file-like object"):
        load_image_input(closed)


def test_corrupt_data_is_not_an_image(tmp_path):
    path = tmp_path / "fake.jpg"
    path.write_bytes(b"this is not really a jpeg" * 10)
    with pytest.raises(InvalidImageError, match=r"fake\.jpg' is not an image") as caught:
        load_image_input(path)
    assert caught.value.__suppress_context__  # no PIL traceback chained onto ours
    with pytest.raises(InvalidImageError, match=r"bytes \(7 bytes\) is not an image"):
        load_image_input(b"garbage")


def test_corrupt_pixel_data_is_reported(tmp_path):
    data = _png_header_only(4, 4)  # valid header, far too little pixel data
    with pytest.raises(InvalidImageError, match="truncated|corrupt"):
        load_image_input(data)
    with pytest.raises(InvalidImageError, match="corrupt and cannot be decoded"):
        load_image_input(_png_header_only(4, 4, idat=b"not a zlib stream at all"))


def test_truncated_jpeg_is_detected(tmp_path):
    rng = np.random.default_rng(0)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(InvalidImageError, match=r"cut\.jpg' is truncated"):
        load_image_input(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_min_size():
    dot = Image.new("RGB", (1, 1))
    assert load_image_input(dot).size == (1, 1)
    with pytest.raises(InvalidImageError, match="1x1 pixels, smaller than the minimum 2x2"):
        load_image_input(dot, min_size=2)
    with pytest.raises(InvalidImageError, match="smaller than the minimum 8x1"):
        load_image_input(_png_bytes(Image.new("RGB", (4, 4))), min_size=(8, 1))
    with pytest.raises(InvalidImageError, match="0x0 pixels"):
        load_image_input(Image.new("RGB", (0, 0)))


# -- decompression bombs ----------------------------------------------------------------------------------------------
def test_decompression_bomb_header_is_refused_fast(tmp_path, no_decode):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(100_000, 100_000))
    assert path.stat().st_size < 100
    start = time.perf_counter()
    with pytest.raises(InvalidImageError, match=r"bomb\.png' is too large to decode safely \(decompression bomb\)"):
        load_image_input(path)
    assert time.perf_counter() - start < 1.0
    assert no_decode == []


def test_max_pixels_refuses_before_decoding(no_decode):
    assert DEFAULT_MAX_PIXELS == 64_000_000
    data = _png_header_only(9000, 9000)  # 81 MP: under PIL's own limit, over ours
    start = time.perf_counter()
    with pytest.raises(InvalidImageError, match=r"claims 9000x9000 = 81000000 pixels, more than max_pixels"):
        load_image_input(data)
    assert time.perf_counter() - start < 1.0
    with pytest.raises(InvalidImageError, match="more than max_pixels=100"):
        load_image_input(_png_bytes(Image.new("RGB", (20, 20))), max_pixels=100)
    assert no_decode == []


def test_pil_limit_warning_and_error_are_refused(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert load_image_input(_png_bytes(Image.new("RGB", (30, 30))), max_pixels=None).size == (30, 30)
    for side in (40, 50):  # 1600 px: PIL warns (we refuse); 2500 px: PIL raises
        with pytest.raises(InvalidImageError, match="decompression bomb"):
            load_image_input(_png_bytes(Image.new("RGB", (side, side))), max_pixels=None)


# -- URLs -------------------------------------------------------------------------------------------------------------
@pytest.fixture
def http_root(tmp_path):
    """Serve tmp_path/www on 127.0.0.1; yields (root directory, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_url_loading(http_root):
    root, base = http_root
    array = _color_image()
    (root / "face.png").write_bytes(_png_bytes(Image.fromarray(array)))
    (root / "page.html").write_text("<html>not an image</html>")
    np.testing.assert_array_equal(_pixels(load_image_input(f"{base}/face.png", timeout=5)), array)
    with pytest.raises(InvalidImageError, match=r"URL 'http://127\.0\.0\.1:\d+/missing\.png': HTTP 404"):
        load_image_input(f"{base}/missing.png", timeout=5)
    with pytest.raises(InvalidImageError, match="is not an image: the server sent 'text/html"):
        load_image_input(f"{base}/page.html", timeout=5)


def test_refused_connection_names_the_url():
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/face.png"
    with pytest.raises(InvalidImageError, match="network is unreachable or offline") as caught:
        load_image_input(url, timeout=2)
    assert url in str(caught.value)


def test_silent_server_times_out():
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/face.png"
        start = time.perf_counter()
        with pytest.raises(InvalidImageError, match=r"face\.png'.*timed out after 0\.3 s"):
            load_image_input(url, timeout=0.3)
        assert time.perf_counter() - start < 3


def test_malformed_url():
    for url in ("http://[::1", "http://", "https://exa mple.com/x.png"):
        with pytest.raises(InvalidImageError, match="is not a valid URL"):
            load_image_input(url, timeout=1)


# -- describe_input ---------------------------------------------------------------------------------------------------
def test_describe_input():
    assert describe_input("/x/y.jpg") == "path '/x/y.jpg'"
    assert describe_input(Path("/x/y.jpg")) == "path '/x/y.jpg'"
    assert describe_input("https://example.com/a.png") == "URL 'https://example.com/a.png'"
    assert describe_input(np.zeros((3, 224, 224), dtype=np.float32)).startswith("numpy array of shape (3, 224, 224)")
    assert describe_input(b"x" * 12) == "bytes (12 bytes)"
    assert describe_input(bytearray(1)) == "bytearray (1 byte)"
    assert describe_input(memoryview(b"abc")) == "memoryview (3 bytes)"
    assert describe_input(Image.new("L", (5, 7))) == "PIL image (mode 'L', size 5x7)"
    assert describe_input([1, 2]) == "list of 2 items"
    assert describe_input(None) == "None"
    assert describe_input(io.BytesIO()) == "file-like object (BytesIO)"
    assert describe_input(torch.zeros(2, 3)).startswith("torch tensor of shape (2, 3)")
    assert len(describe_input("a" * 10_000)) < 250
