"""Turn whatever a user hands an image pipeline into a clean RGB ``PIL.Image`` -- or a clear ``InvalidImageError``.

Accepted inputs (see :func:`load_image_input`): a file path (``str`` / ``os.PathLike``), an ``http(s)://`` URL, a
``PIL.Image.Image`` of any mode, a numpy array (or torch tensor) laid out ``[H, W]`` / ``[H, W, 1|3|4]``, the bytes
of an encoded image file (``bytes`` / ``bytearray`` / ``memoryview``) and a binary file-like object.

Documented choices:

* **Transparency** (RGBA, LA, PA, palette or RGB/L with a ``transparency`` entry, ``[H, W, 4]`` arrays) is
  composited onto a **white** background by default (``background=``, see :data:`DEFAULT_BACKGROUND`): that is how
  a browser or image viewer shows a transparent PNG/WebP, so the model sees what the user saw.
* **Decompression bombs**: an encoded image whose header claims more than ``max_pixels`` pixels (default
  :data:`DEFAULT_MAX_PIXELS` = 64 megapixels) is refused *before* its pixels are decoded. PIL's own global limit
  (``PIL.Image.MAX_IMAGE_PIXELS``) still applies on top: an image over it is refused the same way (checked
  explicitly; warning filters are process-wide and not thread-safe, so none are touched). ``max_pixels=None``
  switches off only this module's limit. Arrays and in-memory PIL images (not opened from a file) are already
  decoded and are not limited.
* **High bit depth** (PIL modes ``I;16*``, ``I``; numpy integer arrays other than uint8) is scaled to 8 bit by the
  data's actual range, never clipped: values already within 0..255 are kept as they are; otherwise the range
  ``[min(lo, 0), hi]`` (``lo``/``hi`` the data's minimum/maximum) maps linearly onto 0..255, so a full 0..65535
  ramp becomes 0..255 and 12-bit data stored in 16 bits (0..4095) uses the whole 8-bit range. PIL ``F`` (32-bit
  float) images: values within [0, 1] are multiplied by 255, within [0, 255] kept, otherwise range-scaled as above.
* **Float numpy arrays** must hold values in [0, 1] (scaled by 255); anything else is an error (pass uint8 for
  0..255 data). NaN / inf values are always an error. Boolean arrays become 0 / 255.
* ``bgr=True`` (OpenCV channel order) only affects array / tensor inputs; encoded files and PIL images have a
  defined channel order and are left alone.
* Animated GIF / WebP / APNG files give their first frame; a ``PIL.Image`` input is used at its current frame.
* EXIF orientation is applied (``ImageOps.exif_transpose``) to encoded files and PIL images; a broken EXIF block
  is ignored rather than refusing an otherwise good image.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image, ImageColor, ImageFile, ImageOps, UnidentifiedImageError

__all__ = [
    "DEFAULT_BACKGROUND",
    "DEFAULT_MAX_PIXELS",
    "InvalidImageError",
    "describe_input",
    "load_image_input",
]

DEFAULT_MAX_PIXELS = 64_000_000
"""Largest width x height (64 megapixels) decoded from an encoded image unless ``max_pixels`` says otherwise."""

DEFAULT_BACKGROUND = (255, 255, 255)
"""Colour (white) that transparent pixels are composited onto."""

MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024
"""A URL whose body is larger than this (256 MiB) is refused instead of read into memory."""

_USER_AGENT = "latent-ofer-hf image loader"
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_FLOAT_TOLERANCE = 1e-6  # float arrays may overshoot [0, 1] by rounding noise
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}


class InvalidImageError(ValueError):
    """An input that cannot be turned into an RGB image; the message names the problem and the input."""


# -- descriptions ---------------------------------------------------------------------------------------------------
def _short(text: str, limit: int = 200) -> str:
    text = repr(text)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def _is_url(value: str) -> bool:
    return value[:8].lower().startswith(("http://", "https://"))


def _is_torch_tensor(value: Any) -> bool:
    return type(value).__module__.split(".")[0] == "torch" and hasattr(value, "detach") and hasattr(value, "shape")


def describe_input(image: Any) -> str:
    """A short description of an input for error messages and logs, e.g. ``"path '/x/y.jpg'"``."""
    if image is None:
        return "None"
    if isinstance(image, str):
        return f"URL {_short(image)}" if _is_url(image) else f"path {_short(image)}"
    if isinstance(image, os.PathLike):
        return f"path {_short(os.fsdecode(os.fspath(image)))}"
    if isinstance(image, (bytes, bytearray, memoryview)):
        size = image.nbytes if isinstance(image, memoryview) else len(image)
        return f"{type(image).__name__} ({size} byte{'' if size == 1 else 's'})"
    if isinstance(image, Image.Image):
        return f"PIL image (mode {image.mode!r}, size {image.width}x{image.height})"
    if isinstance(image, np.ndarray):
        return f"numpy array of shape {tuple(image.shape)} and dtype {image.dtype}"
    if _is_torch_tensor(image):
        return f"torch tensor of shape {tuple(image.shape)} and dtype {image.dtype}"
    if isinstance(image, (list, tuple)):
        return f"{type(image).__name__} of {len(image)} item{'' if len(image) == 1 else 's'}"
    if hasattr(image, "read"):
        name = getattr(image, "name", None)
        if isinstance(name, (str, bytes, os.PathLike)):
            return f"file object {_short(os.fsdecode(name))}"
        return f"file-like object ({type(image).__name__})"
    return f"object of type {type(image).__module__}.{type(image).__qualname__}"


# -- pixel normalisation ----------------------------------------------------------------------------------------------
def _scale_to_uint8(values: np.ndarray, *, unit_floats: bool) -> np.ndarray:
    """Scale integer / float pixel data to uint8 by its actual range (see the module docstring)."""
    if values.size == 0:
        return values.astype(np.uint8)
    lo, hi = float(values.min()), float(values.max())
    if unit_floats and lo >= 0.0 and hi <= 1.0:
        return np.rint(values.astype(np.float64) * 255.0).astype(np.uint8)
    if lo >= 0.0 and hi <= 255.0:
        return np.rint(values).astype(np.uint8) if values.dtype.kind == "f" else values.astype(np.uint8)
    lo = min(lo, 0.0)
    if hi == lo:  # every value the same negative number: the bottom of its range
        return np.zeros(values.shape, dtype=np.uint8)
    scaled = (values.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _composite(rgba: Image.Image, background: tuple[int, int, int]) -> Image.Image:
    if rgba.mode == "La":  # premultiplied; PIL converts it to RGBA only through LA
        rgba = rgba.convert("LA")
    if rgba.mode != "RGBA":
        rgba = rgba.convert("RGBA")
    base = Image.new("RGBA", rgba.size, (*background, 255))
    return Image.alpha_composite(base, rgba).convert("RGB")


def _pil_to_rgb(image: Image.Image, description: str, background: tuple[int, int, int]) -> Image.Image:
    """A new RGB image from a loaded PIL image of any mode."""
    mode = image.mode
    if mode in _HIGH_DEPTH_MODES:
        values = np.asarray(image)
        if mode == "F" and not np.isfinite(values).all():
            raise InvalidImageError(f"{description} contains NaN or infinite pixel values")
        gray = _scale_to_uint8(values, unit_floats=mode == "F")
        return Image.fromarray(np.ascontiguousarray(gray), "L").convert("RGB")
    if mode in _ALPHA_MODES or (mode in {"P", "L", "1", "RGB"} and "transparency" in image.info):
        return _composite(image, background)
    if mode == "RGB":
        return image.copy()
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as error:
        raise InvalidImageError(
            f"{description} has image mode {mode!r}, which cannot be converted to RGB ({error})"
        ) from None


def _array_to_rgb(
    array: np.ndarray, description: str, bgr: bool, background: tuple[int, int, int], min_size: tuple[int, int]
) -> Image.Image:
    kind = array.dtype.kind
    if kind not in "buif":
        raise InvalidImageError(
            f"{description}: unsupported dtype {array.dtype}; pass uint8 (0..255), uint16 or float values in [0, 1]"
        )
    shape = tuple(array.shape)
    accepted = "[H, W], [H, W, 1], [H, W, 3] (RGB) or [H, W, 4] (RGBA)"
    if array.ndim == 3 and shape[-1] not in (1, 3, 4) and shape[0] in (1, 3, 4):
        raise InvalidImageError(
            f"{description} looks channels-first [C, H, W]; pass channels-last [H, W, C] "
            f"(e.g. array.transpose(1, 2, 0))"
        )
    if array.ndim == 4:
        raise InvalidImageError(f"{description} is 4-D (a batch?); pass one image of shape {accepted}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and shape[-1] not in (1, 3, 4)):
        raise InvalidImageError(f"{description} has an unsupported shape; expected {accepted}")
    _check_size(shape[1], shape[0], description, min_size, None)
    if array.ndim == 3 and shape[-1] == 1:
        array = array[..., 0]
    if kind == "f":
        values = array.astype(np.float32) if array.dtype.itemsize < 4 else array
        if not np.isfinite(values).all():
            raise InvalidImageError(f"{description} contains NaN or infinite values")
        if values.size and (values.min() < -_FLOAT_TOLERANCE or values.max() > 1.0 + _FLOAT_TOLERANCE):
            raise InvalidImageError(
                f"{description} has float values in [{float(values.min()):g}, {float(values.max()):g}]; float "
                f"arrays must be in [0, 1] (or pass uint8 for 0..255 data)"
            )
        pixels = np.rint(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif kind == "b":
        pixels = array.astype(np.uint8) * 255
    elif array.dtype == np.uint8:
        pixels = array
    else:
        pixels = _scale_to_uint8(array, unit_floats=False)
    if array.ndim == 3 and bgr:
        pixels = pixels[..., [2, 1, 0, 3]] if shape[-1] == 4 else pixels[..., ::-1]
    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim == 2:
        return Image.fromarray(pixels, "L").convert("RGB")
    if pixels.shape[-1] == 4:
        return _composite(Image.fromarray(pixels, "RGBA"), background)
    return Image.fromarray(pixels, "RGB")


# -- encoded images ---------------------------------------------------------------------------------------------------
def _check_size(width: int, height: int, description: str, min_size: tuple[int, int], max_pixels: int | None) -> None:
    min_width, min_height = min_size
    if width < min_width or height < min_height:
        raise InvalidImageError(
            f"{description} is {width}x{height} pixels, smaller than the minimum {min_width}x{min_height}"
        )
    if max_pixels is not None and width * height > max_pixels:
        raise InvalidImageError(
            f"{description} claims {width}x{height} = {width * height} pixels, more than max_pixels={max_pixels}; "
            f"refusing to decode it (possible decompression bomb; if you trust the file, pass a larger max_pixels "
            f"to the occluded-fer pipeline's call, or --max-pixels to latent-ofer predict)"
        )


def _decode(
    opener: Callable[[], Image.Image],
    description: str,
    *,
    min_size: tuple[int, int],
    max_pixels: int | None,
    background: tuple[int, int, int],
) -> Image.Image:
    """Open lazily, check the header size, then force a full decode of the first frame and normalise it."""
    try:
        with opener() as image:
            _check_size(image.width, image.height, description, min_size, max_pixels)
            if Image.MAX_IMAGE_PIXELS and image.width * image.height > Image.MAX_IMAGE_PIXELS:
                raise Image.DecompressionBombWarning(
                    f"{image.width * image.height} pixels exceeds PIL's limit of {Image.MAX_IMAGE_PIXELS}"
                )
            image.load()
            try:
                upright = ImageOps.exif_transpose(image)
            except Exception:  # a broken EXIF block should not reject a decodable image
                upright = image
            return _pil_to_rgb(upright, description, background)
    except InvalidImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise InvalidImageError(f"{description} is too large to decode safely (decompression bomb): {error}") from None
    except UnidentifiedImageError:
        raise InvalidImageError(f"{description} is not an image (corrupt data or an unsupported format)") from None
    except MemoryError:
        raise InvalidImageError(f"{description} is too large to decode in the available memory") from None
    except Exception as error:  # any decoder failure: truncated data, bad chunks, broken headers...
        if "truncated" in str(error).lower():
            raise InvalidImageError(f"{description} is truncated (incomplete image data): {error}") from None
        raise InvalidImageError(
            f"{description} is corrupt and cannot be decoded: {type(error).__name__}: {error}"
        ) from None


def _read_path(path: str, description: str) -> bytes:
    if os.path.isdir(path):
        raise InvalidImageError(f"{description} is a directory, not an image file")
    if not os.path.exists(path):
        raise InvalidImageError(f"no such file: {description}")
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except PermissionError:
        raise InvalidImageError(f"cannot read {description}: permission denied") from None
    except OSError as error:
        raise InvalidImageError(f"cannot read {description}: {error.strerror or error}") from None
    if not data:
        raise InvalidImageError(f"{description} is an empty file (0 bytes)")
    return data


def _fetch_url(url: str, description: str, timeout: float) -> bytes:
    try:
        request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "")
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise InvalidImageError(f"could not fetch {description}: HTTP {error.code} {error.reason}") from None
    except (ValueError, http.client.InvalidURL) as error:  # malformed URL
        raise InvalidImageError(f"{description} is not a valid URL: {error}") from None
    except (OSError, http.client.HTTPException) as error:  # URLError, refused connection, DNS failure, socket timeout
        reason = getattr(error, "reason", error)
        if isinstance(reason, ValueError) or str(reason) == "no host given":
            raise InvalidImageError(f"{description} is not a valid URL: {reason}") from None
        if isinstance(reason, TimeoutError) or isinstance(error, TimeoutError):
            detail = f"timed out after {timeout:g} s"
        else:
            detail = str(reason) or type(reason).__name__
        raise InvalidImageError(
            f"could not fetch {description}: the network is unreachable or offline, or the "
            f"server did not answer ({detail})"
        ) from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise InvalidImageError(f"{description} is larger than {MAX_DOWNLOAD_BYTES} bytes; refusing to download it")
    if not data:
        raise InvalidImageError(f"{description} returned an empty body (0 bytes)")
    if content_type and content_type.split(";")[0].strip().lower().startswith("text/"):
        raise InvalidImageError(f"{description} is not an image: the server sent {content_type!r}")
    return data


def _read_file_object(handle: Any, description: str) -> bytes:
    try:
        data = handle.read()
    except ValueError as error:  # e.g. "I/O operation on closed file"
        raise InvalidImageError(f"cannot read {description}: {error}") from None
    except OSError as error:
        raise InvalidImageError(f"cannot read {description}: {error}") from None
    if isinstance(data, str):
        raise InvalidImageError(f"{description} is opened in text mode; open it in binary mode ('rb')")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InvalidImageError(f"{description}.read() returned {type(data).__name__}, not bytes")
    if not len(data):
        raise InvalidImageError(f"{description} returned no data (empty, or already read to the end?)")
    return bytes(data)


def _normalize_background(background: str | tuple[int, int, int]) -> tuple[int, int, int]:
    try:
        color = ImageColor.getrgb(background) if isinstance(background, str) else tuple(int(c) for c in background)
    except (ValueError, TypeError):
        raise ValueError(f"background must be an (R, G, B) tuple or a color name, got {background!r}") from None
    if len(color) < 3:
        raise ValueError(f"background must be an (R, G, B) tuple or a color name, got {background!r}")
    return (color[0], color[1], color[2])


def _normalize_min_size(min_size: int | tuple[int, int]) -> tuple[int, int]:
    if isinstance(min_size, int):
        return (min_size, min_size)
    width, height = min_size
    return (int(width), int(height))


# -- public entry point -----------------------------------------------------------------------------------------------
def check_input_exists(image: Any) -> None:
    """The checks of :func:`load_image_input` that read nothing: ``None``, an empty string, a missing local path or
    a directory raise its :class:`InvalidImageError` (so a list can be checked before any of it is computed)."""
    if image is None:
        raise InvalidImageError("got None instead of an image (a path, URL, PIL image, array or bytes)")
    if isinstance(image, (str, os.PathLike)):
        path = os.fsdecode(os.fspath(image))
        if not path.strip():
            raise InvalidImageError("got an empty string instead of an image path or URL")
        if not _is_url(path) and not _URL_SCHEME.match(path):
            path = os.path.expanduser(path)
            if os.path.isdir(path):
                raise InvalidImageError(f"{describe_input(image)} is a directory, not an image file")
            if not os.path.exists(path):
                raise InvalidImageError(f"no such file: {describe_input(image)}")


def load_image_input(
    image: Any,
    *,
    bgr: bool = False,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    timeout: float = 10.0,
    min_size: int | tuple[int, int] = 1,
    background: str | tuple[int, int, int] = DEFAULT_BACKGROUND,
) -> Image.Image:
    """Load one image from a path, URL, PIL image, array/tensor, encoded bytes or binary file object.

    Returns a new ``PIL.Image`` in mode ``"RGB"`` with EXIF orientation applied (the input is never modified).
    ``bgr``: array/tensor channels are in OpenCV's BGR(A) order. ``max_pixels``: refuse encoded images whose
    header claims more pixels (``None``: no limit of our own). ``timeout``: seconds for URL requests.
    ``min_size``: smallest accepted ``width x height`` (an int for both; 1x1 by default). ``background``: (R, G, B)
    or color name that transparency is composited onto (white by default).
    Any bad input raises :class:`InvalidImageError`.
    """
    description = describe_input(image)
    background = _normalize_background(background)
    limits = {"min_size": _normalize_min_size(min_size), "max_pixels": max_pixels, "background": background}
    if image is None:
        raise InvalidImageError("got None instead of an image (a path, URL, PIL image, array or bytes)")
    if isinstance(image, (list, tuple)):
        raise InvalidImageError(
            f"got a {description}; pass one image at a time (the pipeline itself accepts lists of images)"
        )
    if isinstance(image, Image.Image):
        if isinstance(image, ImageFile.ImageFile):  # may still be lazy: guard the decode like a file
            return _decode(lambda: _Borrowed(image), description, **limits)
        _check_size(image.width, image.height, description, limits["min_size"], None)
        try:
            upright = ImageOps.exif_transpose(image)
        except Exception:
            upright = image
        return _pil_to_rgb(upright, description, background)
    if isinstance(image, np.ndarray) or _is_torch_tensor(image):
        array = _tensor_to_numpy(image) if not isinstance(image, np.ndarray) else image
        return _array_to_rgb(array, description, bgr, background, limits["min_size"])
    if isinstance(image, (str, os.PathLike)):
        path = os.fsdecode(os.fspath(image))
        if not path.strip():
            raise InvalidImageError("got an empty string instead of an image path or URL")
        if _is_url(path):
            data = _fetch_url(path, description, timeout)
        elif _URL_SCHEME.match(path):
            raise InvalidImageError(
                f"{description} has an unsupported URL scheme; only http:// and https:// URLs are fetched"
            )
        else:
            data = _read_path(os.path.expanduser(path), description)
    elif isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if not data:
            raise InvalidImageError(f"got {description}: empty data, not an image")
    elif callable(getattr(image, "read", None)):
        data = _read_file_object(image, description)
    else:
        raise InvalidImageError(
            f"unsupported input: {description}; pass a path, URL, PIL image, numpy array "
            f"[H, W, C], bytes or a binary file object"
        )
    return _decode(lambda: Image.open(io.BytesIO(data)), description, **limits)


class _Borrowed:
    """Context manager yielding a caller's PIL image without closing it (``with Image.open()`` would)."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image

    def __enter__(self) -> Image.Image:
        return self.image

    def __exit__(self, *exc_info: object) -> None:
        return None


def _tensor_to_numpy(tensor: Any) -> np.ndarray:
    try:
        tensor = tensor.detach().cpu()
        if str(tensor.dtype) in {"torch.bfloat16", "torch.float16"}:
            tensor = tensor.float()
        return tensor.numpy()
    except Exception as error:  # meta / sparse / quantised tensors...
        raise InvalidImageError(f"{describe_input(tensor)} cannot be converted to a numpy array: {error}") from None
