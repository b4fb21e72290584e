"""Hybrid reconstruction network, CNN stage [P §3.2; docs/method.md#refinement-u-net]: a U-Net with the self-assembly
layer.

Stage 1 (the MAE fill of the masked patches, visible pixels kept) comes from the shared ViT
(`ViTLatentBackbone.fill`); this network refines it. Its input is the coarse image and the hole-zeroed image, each with
its horizontally mirrored copy (12 channels); the self-assembly layer at the ``assembly_level`` bottleneck rebuilds
the masked feature positions from the mirror stream, the most similar known feature and the previous output.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init

from ..common.deprecation import deprecated_aliases
from ..common.hub_code import HubCodeMixin
from ..common.pixel_range import normalized_to_unit_range, unit_range_to_normalized
from ..common.reconstruction import ReconstructionOutput, check_hole, check_square_pixels
from .configuration_hybrid_reconstruction import HybridReconstructionConfig
from .self_assembly import SelfAssemblyLayer, feature_mask_from_pixels
from .unet_blocks import DownBlock, InnermostDown, InnermostUp, UpBlock

# CPU slicing budget of the first level's activations per slice (docs/performance.md: one 256² paper or base face
# is already above it, a 64² demo batch far below)
AUTO_SLICE_BYTES = 4 * 1024 * 1024
ZERO_INIT_FLAG = "_latent_ofer_zero_init"


class HybridReconstructionPreTrainedModel(HubCodeMixin, PreTrainedModel):
    """Weight initialisation and loading for the reconstruction network."""

    config_class = HybridReconstructionConfig
    config: HybridReconstructionConfig
    base_model_prefix = "reconstruction"
    main_input_name = "pixel_values"
    input_modalities = ("image",)

    def _init_weights(self, module: nn.Module) -> None:
        """Conv weights ~ N(0, init_std), biases 0 [C: `init_weights('normal', 0.02)`]; InstanceNorm γ = 1, β = 0;
        with `residual_refinement` the output conv is all zeros."""
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and getattr(module, ZERO_INIT_FLAG, False):
            init.zeros_(module.weight)  # the residual head: an untrained network returns its coarse input
            init.zeros_(module.bias)
        elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            init.normal_(module.weight, mean=0.0, std=self.config.init_std)
            if module.bias is not None:
                init.zeros_(module.bias)
        elif isinstance(module, nn.InstanceNorm2d) and module.affine:
            init.ones_(module.weight)
            init.zeros_(module.bias)


class RefinementUNet(nn.Module):
    """The U-Net: 12-channel input (image pair + mirror), self-assembly at ``assembly_level``, 3-channel output."""

    def __init__(self, config: HybridReconstructionConfig):
        super().__init__()
        ngf, levels, assembly = config.ngf, config.num_downs, config.assembly_level
        width = config.level_channels
        inner = 2 * width(assembly)  # width below the self-assembly layer (512 for the paper)
        self.assembly_level = assembly
        self.stem = nn.Conv2d(12, 2 * ngf, kernel_size=3, padding=1)
        down, up = [], []
        for level in range(1, levels):
            if level <= assembly:  # mirror-stream level: input 2·o, output 2·(2·o) (half face, half mirror)
                in_channels = 2 * width(level)
                down.append(
                    DownBlock(
                        in_channels,
                        2 * in_channels,
                        final_norm=level < assembly,
                        channels_last_output=level == assembly,
                    )
                )
                below = 2 * width(level + 1) if level < assembly else 2 * inner
                up.append(UpBlock(below, width(level)))
            else:  # plain level: constant width, full skip
                down.append(DownBlock(inner, inner))
                up.append(UpBlock(2 * inner, inner))
        self.down_blocks = nn.ModuleList(down)
        self.up_blocks = nn.ModuleList(up)
        self.assembly = SelfAssemblyLayer()
        self.assembly_norm = nn.InstanceNorm2d(inner, affine=True)
        self.innermost_down = InnermostDown(inner)
        self.innermost_up = InnermostUp(inner)
        self.head = nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(2 * ngf, 3, kernel_size=3, padding=1))
        setattr(self.head[1], ZERO_INIT_FLAG, config.residual_refinement)
        self.skip_widths = [width(level) if level <= assembly else None for level in range(1, levels)]

    def encode_to_assembly(self, inputs: torch.Tensor) -> torch.Tensor:
        """Down path up to the self-assembly input: ``[B, 2C, s, s]`` (face half, mirror half)."""
        hidden = self.stem(inputs)
        for block in self.down_blocks[: self.assembly_level]:
            hidden = block(hidden)
        return hidden

    def forward(self, inputs: torch.Tensor, feature_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, 12, S, S]`` → (``[B, 3, S, S]`` output, self-assembly output before its norm)."""
        skips, hidden = [], self.stem(inputs)
        assembly_features = None
        for index, block in enumerate(self.down_blocks):
            skips.append(hidden)
            hidden = block(hidden)
            if index + 1 == self.assembly_level:
                face, mirror = hidden.chunk(2, dim=1)
                # without autograd the layer writes into this conv output's face half (the U-Net reads only the
                # result; a forward hook on the block would see the overwritten values)
                assembly_features = self.assembly(face, mirror, feature_mask, inplace=not hidden.requires_grad)
                hidden = self.assembly_norm(assembly_features)
        skips.append(hidden)
        hidden = torch.cat([self.innermost_up(self.innermost_down(hidden)), hidden], dim=1)
        for block, skip, width in zip(
            reversed(self.up_blocks), reversed(skips[:-1]), reversed(self.skip_widths), strict=True
        ):
            # mirror-stream levels pass on only the face half of their input (docs/method.md#refinement-u-net)
            hidden = torch.cat([block(hidden), skip if width is None else skip[:, :width]], dim=1)
        return self.head(hidden), assembly_features


class HybridReconstructionNetwork(HybridReconstructionPreTrainedModel):
    """CNN refinement of the MAE fill (docs/method.md#refinement-u-net): (image, hole, coarse MAE image) → face.

    Example:
        >>> net = HybridReconstructionNetwork(HybridReconstructionConfig(image_size=64, ngf=4, num_downs=6))
        >>> coarse = vit.fill(pixel_values, patch_mask)                     # stage 1, the shared MAE
        >>> out = net(pixel_values, patch_mask=patch_mask, coarse_pixel_values=coarse)
        >>> out.reconstruction.shape                                        # like pixel_values
    """

    def __init__(self, config: HybridReconstructionConfig):
        super().__init__(config)
        self.unet = RefinementUNet(config)
        self.slice_size: int | None | str = "auto"
        self.post_init()

    # ---------------------------------------------------------------------------------------------------- slicing
    def enable_slicing(self, slice_size: int = 1) -> None:
        """Run the U-Net on slices of `slice_size` faces of a batch (as diffusers' VAE slicing): the same results,
        less memory. The default, `"auto"` (see `reset_slicing`), slices large U-Nets by 1 on CPUs, where a batch's
        activations (tens of MB each) are page-faulted in afresh at every layer and batching makes the U-Net slower
        per face; small U-Nets (the `demo` preset's) run whole batches (see `_auto_slice_size`)."""
        if not isinstance(slice_size, int) or isinstance(slice_size, bool) or slice_size < 1:
            raise ValueError(f"slice_size must be a positive int, got {slice_size!r}")
        self.slice_size = slice_size

    def disable_slicing(self) -> None:
        """Run the whole batch at once."""
        self.slice_size = None

    def reset_slicing(self) -> None:
        """Back to the default: on CPU slices sized by `_auto_slice_size` (1 for large U-Nets), the whole batch on
        other devices."""
        self.slice_size = "auto"

    def _slices(self, batch: int, device: torch.device) -> int | None:
        size = self.slice_size
        if size == "auto":
            size = self._auto_slice_size() if device.type == "cpu" else None
        return size if size is not None and batch > size else None

    def _auto_slice_size(self) -> int:
        """Faces per slice on CPU: as many as keep the first level's float32 activations (2·ngf channels at half the
        working size, the largest of the U-Net) within ``AUTO_SLICE_BYTES`` — one face for the paper and base
        U-Nets (8.4 and 4.2 MB per face), whole batches for small ones, which slicing only slows down."""
        config = self.config
        per_face = 2 * config.ngf * (config.image_size // 2) ** 2 * 4
        return max(1, AUTO_SLICE_BYTES // per_face)

    # ---------------------------------------------------------------------------------------------- pixel spaces
    def to_unit_range(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Normalised pixels → [-1, 1] (the U-Net's space)."""
        return normalized_to_unit_range(pixel_values, self.config.image_mean, self.config.image_std)

    def from_unit_range(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] → normalised pixels."""
        return unit_range_to_normalized(images, self.config.image_mean, self.config.image_std)

    def to_working_images(self, pixel_values: torch.Tensor) -> torch.Tensor:
        """Normalised pixels → [-1, 1] images at the U-Net's working size (the space of `generated`)."""
        return self._resize(self.to_unit_range(pixel_values), self.config.image_size)

    def _resize(self, images: torch.Tensor, size: int) -> torch.Tensor:
        if images.shape[-1] == size:
            return images
        return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)

    def _network_inputs(self, image: torch.Tensor, coarse: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """Coarse image (MAE inside the hole), hole-zeroed image, and both mirrored (width only): ``[B, 12, S, S]``."""
        synthesised = torch.where(hole, coarse, image)
        masked = image.masked_fill(hole, 0.0)
        return torch.cat([synthesised, masked, synthesised.flip(-1), masked.flip(-1)], dim=1)

    @torch.no_grad()
    def ground_truth_assembly_features(self, target_pixel_values: torch.Tensor) -> torch.Tensor:
        """Face half of the encoder's features at the self-assembly level for an unoccluded image (L_c's target)."""
        image = self.to_working_images(check_square_pixels(target_pixel_values, "target_pixel_values"))
        no_hole = torch.zeros_like(image[:, :1], dtype=torch.bool)
        hidden = self.unet.encode_to_assembly(self._network_inputs(image, image, no_hole))
        return hidden.chunk(2, dim=1)[0]

    # ---------------------------------------------------------------------------------------------------- forward
    def forward(
        self,
        pixel_values: torch.Tensor,
        coarse_pixel_values: torch.Tensor | None = None,
        patch_mask: torch.Tensor | None = None,
        pixel_mask: torch.Tensor | None = None,
        target_pixel_values: torch.Tensor | None = None,
        return_dict: bool | None = None,
    ) -> ReconstructionOutput | tuple:
        r"""
        Args:
            pixel_values (`torch.FloatTensor` of shape `[B, 3, H, H]`): the occluded faces (normalised pixels).
            coarse_pixel_values (`torch.FloatTensor` of shape `[B, 3, H, H]`): stage 1, the MAE fill of the hole
                (e.g. `ViTLatentBackbone.fill`); only its pixels inside the hole are used.
            patch_mask (`torch.BoolTensor` of shape `[B, g, g]` or `[B, g*g]`): the hole as patches (the detector's
                mask) — or give `pixel_mask` (`[B, 1, H, H]`, any shape of hole, e.g. free-form masks).
            target_pixel_values (`torch.FloatTensor`, *optional*): the unoccluded faces → `loss` = λ_re · L1.
            return_dict (`bool`, *optional*): False → a tuple of the output's non-None fields.
        """
        pixel_values = check_square_pixels(pixel_values, dtype=self.dtype)
        if coarse_pixel_values is None:
            raise ValueError(
                "coarse_pixel_values is required: the MAE fill of the hole (stage 1), e.g. "
                "`ViTLatentBackbone.fill(pixel_values, patch_mask)`; `LatentOferModel.reconstruct` runs "
                "both stages"
            )
        coarse_pixel_values = check_square_pixels(coarse_pixel_values, "coarse_pixel_values", dtype=self.dtype)
        if coarse_pixel_values.shape != pixel_values.shape:
            raise ValueError(
                f"coarse_pixel_values {list(coarse_pixel_values.shape)} must match pixel_values "
                f"{list(pixel_values.shape)}"
            )
        hole = check_hole(pixel_values, patch_mask, pixel_mask)
        target = None
        if target_pixel_values is not None:
            target = check_square_pixels(target_pixel_values, "target_pixel_values", dtype=self.dtype)
            if target.shape[0] != pixel_values.shape[0]:
                raise ValueError(
                    f"target_pixel_values holds {target.shape[0]} faces, pixel_values "
                    f"{pixel_values.shape[0]}: give one target per face"
                )
        return_dict = self.config.return_dict if return_dict is None else return_dict
        slice_size = self._slices(pixel_values.shape[0], pixel_values.device)
        if slice_size is None:
            output = self._refine(pixel_values, coarse_pixel_values, hole, target)
            return output if return_dict else output.to_tuple()
        parts = [
            self._refine(
                pixel_values[i : i + slice_size],
                coarse_pixel_values[i : i + slice_size],
                hole[i : i + slice_size],
                None if target is None else target[i : i + slice_size],
            )
            for i in range(0, pixel_values.shape[0], slice_size)
        ]
        fields = {name: torch.cat([part[name] for part in parts]) for name in parts[0].keys() if name != "loss"}
        loss = None  # L1 means over slices, weighted by their sizes = the L1 mean over the batch
        if target is not None:
            loss = sum(part.loss * part.reconstruction.shape[0] for part in parts) / pixel_values.shape[0]
        output = ReconstructionOutput(loss=loss, **fields)
        return output if return_dict else output.to_tuple()

    def _refine(
        self,
        pixel_values: torch.Tensor,
        coarse_pixel_values: torch.Tensor,
        hole: torch.Tensor,
        target: torch.Tensor | None,
    ) -> ReconstructionOutput:
        """The forward on checked inputs (one batch or one slice of it)."""
        size, config = self.config.image_size, self.config

        image = self.to_unit_range(pixel_values)
        work_image = self._resize(image, size)
        work_coarse = self._resize(self.to_unit_range(coarse_pixel_values), size)
        work_hole = F.interpolate(hole.float(), size=(size, size), mode="nearest").bool()
        inputs = self._network_inputs(work_image, work_coarse, work_hole)
        feature_mask = feature_mask_from_pixels(work_hole, config.assembly_level, config.feature_mask_threshold)
        generated, assembly_features = self.unet(inputs, feature_mask)

        if config.residual_refinement:  # a correction of the coarse input, added at both resolutions
            full_coarse = torch.where(hole, self.to_unit_range(coarse_pixel_values), image)
            output = self.from_unit_range(full_coarse + self._resize(generated, pixel_values.shape[-1]))
            generated = inputs[:, :3] + generated
        else:
            output = self.from_unit_range(self._resize(generated, pixel_values.shape[-1]))
        if config.keep_visible_pixels:  # visible pixels bit-exact from the input
            output = torch.where(hole, output, pixel_values)
        loss = None
        if target is not None:
            loss = config.lambda_re * F.l1_loss(generated, self.to_working_images(target))
        return ReconstructionOutput(
            loss=loss,
            reconstruction=output,
            generated=generated,
            coarse=inputs[:, :3],
            pixel_mask=hole,
            feature_mask=feature_mask,
            assembly_features=assembly_features,
        )


__all__ = ["HybridReconstructionNetwork", "HybridReconstructionPreTrainedModel"]

__getattr__ = deprecated_aliases(
    __name__, {"HybridReconstructionOutput": ("ReconstructionOutput", ReconstructionOutput)}
)
