"""Image processor of Latent-OFER: aligned face crops → ImageNet-normalised ``[B, 3, 224, 224]`` pixel values.

Pure PIL + numpy (no torchvision); face detection and alignment happen before it (``latent_ofer_hf.faces``).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from PIL import Image
from transformers.image_processing_utils import BaseImageProcessor, BatchFeature
from transformers.image_utils import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD


@functools.lru_cache(maxsize=8)
def normalization_table(mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    """``[3, 256]`` float32: ``(value / 255 − mean) / std`` per channel and uint8 value, with the same float32
    operations as on a whole image, so looking pixels up gives the same bits, faster (benchmarks/training_data.py)."""
    values = np.arange(256, dtype=np.float32)[:, None] / 255.0
    table = (values - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    table = np.ascontiguousarray(table.T)
    table.flags.writeable = False
    return table


class LatentOferImageProcessor(BaseImageProcessor):
    r"""
    Resize RGB face crops to `size`×`size` (bilinear) and normalise with `image_mean` / `image_std` — the input
    convention of every Latent-OFER component (224, ImageNet statistics, docs/method.md#cnn-branch).

    Args:
        size (`int`, *optional*, defaults to 224): output side.
        image_mean (`list[float]`, *optional*, defaults to the ImageNet mean), image_std (`list[float]`, *optional*).
    """

    model_input_names = ["pixel_values"]

    def __init__(
        self,
        size: int = 224,
        image_mean: list[float] | None = None,
        image_std: list[float] | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.size = int(size)
        self.image_mean = list(image_mean if image_mean is not None else IMAGENET_DEFAULT_MEAN)
        self.image_std = list(image_std if image_std is not None else IMAGENET_DEFAULT_STD)

    def to_pixel_values(self, image: Image.Image) -> torch.Tensor:
        """One RGB PIL image → ``[3, size, size]`` float tensor."""
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size != (self.size, self.size):
            image = image.resize((self.size, self.size), Image.Resampling.BILINEAR)
        return self.array_to_pixel_values(np.asarray(image))

    def array_to_pixel_values(self, array: np.ndarray) -> torch.Tensor:
        """An RGB uint8 ``[H, W, 3]`` array → ``[3, size, size]`` float tensor, the same values as
        :meth:`to_pixel_values` of that image; at ``size``×``size`` without a round trip through PIL (the training
        and evaluation data sets' faces)."""
        if array.dtype != np.uint8 or array.ndim != 3 or array.shape[-1] != 3:
            raise ValueError(f"expected an RGB uint8 [H, W, 3] array, got shape {array.shape} and dtype {array.dtype}")
        if array.shape[:2] != (self.size, self.size):
            return self.to_pixel_values(Image.fromarray(np.ascontiguousarray(array)))
        table = normalization_table(tuple(self.image_mean), tuple(self.image_std))
        pixel_values = np.empty((3, self.size, self.size), dtype=np.float32)
        for channel in range(3):
            np.take(table[channel], array[..., channel], out=pixel_values[channel])
        return torch.from_numpy(pixel_values)

    def to_image(self, pixel_values: torch.Tensor) -> Image.Image:
        """Inverse for display: ``[3, H, W]`` normalised tensor → RGB PIL image (clipped to [0, 255])."""
        array = pixel_values.detach().float().cpu().numpy().transpose(1, 2, 0)
        array = array * np.asarray(self.image_std, dtype=np.float32) + np.asarray(self.image_mean, dtype=np.float32)
        return Image.fromarray((np.clip(array, 0, 1) * 255 + 0.5).astype(np.uint8))

    def preprocess(self, images, return_tensors: str | None = "pt", **kwargs) -> BatchFeature:
        """A PIL image or uint8 ``[H, W, 3]`` RGB array, or a list of them → ``BatchFeature(pixel_values=[B, 3,
        size, size])``, a torch tensor (``return_tensors="pt"``, the default) or numpy array (``"np"``). Other
        inputs (paths, BGR, 16-bit, float arrays) go through the pipeline's reader,
        ``latent_ofer_hf.pipelines.image_inputs.load_image_input``."""
        if return_tensors not in ("pt", "np", None):
            raise ValueError(f"return_tensors must be 'pt' or 'np', got {return_tensors!r}")
        if isinstance(images, (Image.Image, np.ndarray)) and not (isinstance(images, np.ndarray) and images.ndim == 4):
            images = [images]
        pixel_values = torch.stack([self.to_pixel_values(self._as_pil(image)) for image in images])
        if return_tensors == "np":
            return BatchFeature({"pixel_values": pixel_values.numpy()}, tensor_type=None)
        return BatchFeature({"pixel_values": pixel_values}, tensor_type=None)

    @staticmethod
    def _as_pil(image: object) -> Image.Image:
        if isinstance(image, Image.Image):
            return image
        if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[-1] == 3:
            return Image.fromarray(image)
        kind = f"array of shape {image.shape} and dtype {image.dtype}" if isinstance(image, np.ndarray) else type(image)
        raise ValueError(
            f"LatentOferImageProcessor takes PIL images or uint8 [H, W, 3] RGB arrays, got {kind}; read other inputs "
            "with latent_ofer_hf.pipelines.image_inputs.load_image_input (or call the occluded-fer pipeline)"
        )


__all__ = ["LatentOferImageProcessor"]
