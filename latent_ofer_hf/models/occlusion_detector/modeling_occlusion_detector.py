"""ViT-SVDD occlusion patch detector [P §3.1]: a Deep-SVDD head that flags occluded ViT patches.

A bias-free MLP Φ maps each patch latent z (``[B, N, D]``, cls token dropped) to ``[B, N, rep_dim]``; a patch is
occluded when its distance to the centre c exceeds the radius R. Optionally (ours) each latent is first standardised
by the clean statistics of its patch position, and Φ may be the identity (a diagonal-Gaussian one-class detector).
Only the head lives here: the ViT that produces the latents is shared with the reconstruction and recognition stages
and runs once per image.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers import initialization as init
from transformers.activations import ACT2FN
from transformers.utils import ModelOutput, logging

from ..common.deprecation import deprecated_aliases
from ..common.hub_code import HubCodeMixin
from ..common.input_checks import check_patch_latents, check_patch_mask, patch_mask_to_pixel_mask
from .configuration_occlusion_detector import OcclusionPatchDetectorConfig

logger = logging.get_logger(__name__)

#: Added to d² before it is inverted for a known-occluded patch (Deep SAD's ``eps``).
SAD_EPS = 1e-6

#: Added to the per-position standard deviation so that a latent dimension constant over clean faces at one
#: position does not turn any deviation there into an infinite score.
NORMALIZATION_EPS = 1e-3


@dataclass
class OcclusionPatchDetectorOutput(ModelOutput):
    r"""
    Output of [`OcclusionPatchDetector`]. B = batch, N = patches (196), g = √N (14), p = patch size (16).

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            The config's objective: one-class over the clean patches only ([`OcclusionPatchDetector.one_class_loss`])
            or semi-supervised ([`OcclusionPatchDetector.semi_supervised_loss`]); returned
            when `return_loss=True`, or when `return_loss` is `None` and `occlusion_mask` is given or the model is in
            training mode.
        embeddings (`torch.FloatTensor` of shape `[B, N, rep_dim]`):
            Φ(z) for every patch.
        distances (`torch.FloatTensor` of shape `[B, N]`):
            Euclidean (not squared) distance ‖Φ(z) − c‖ of each patch to the centre.
        anomaly_scores (`torch.FloatTensor` of shape `[B, N]`):
            ‖Φ(z) − c‖² − R², Deep-SVDD's score; positive ⇒ the patch is predicted occluded.
        patch_mask (`torch.BoolTensor` of shape `[B, g, g]`):
            True where a patch is predicted occluded (`anomaly_scores > 0`); row-major over the patch grid.
        pixel_mask (`torch.BoolTensor` of shape `[B, 1, g*p, g*p]`):
            `patch_mask` expanded to p×p pixel blocks (patch (r, c) ↔ pixels [r*p:(r+1)*p, c*p:(c+1)*p]).
        occlusion_ratio (`torch.FloatTensor` of shape `[B]`):
            Fraction of patches predicted occluded, in [0, 1].
    """

    loss: torch.FloatTensor | None = None
    embeddings: torch.FloatTensor | None = None
    distances: torch.FloatTensor | None = None
    anomaly_scores: torch.FloatTensor | None = None
    patch_mask: torch.BoolTensor | None = None
    pixel_mask: torch.BoolTensor | None = None
    occlusion_ratio: torch.FloatTensor | None = None


class DeepSVDDProjector(nn.Module):
    """Φ: bias-free MLP ``[..., latent_dim] → [..., rep_dim]``; activation between layers, none after the last.

    Deep SVDD forbids bias terms (and any constant offset) because they allow the trivial solution Φ ≡ c.
    """

    def __init__(self, config: OcclusionPatchDetectorConfig):
        super().__init__()
        widths = [config.latent_dim, *config.hidden_dims, config.rep_dim]
        self.layers = nn.ModuleList(nn.Linear(w_in, w_out, bias=False) for w_in, w_out in itertools.pairwise(widths))
        self.act = ACT2FN[config.hidden_act]

    def forward(self, hidden_states: torch.Tensor) -> torch.Tensor:
        for index, layer in enumerate(self.layers):
            if index > 0:
                hidden_states = self.act(hidden_states)
            hidden_states = layer(hidden_states)
        return hidden_states


def quantile_linear(values: torch.Tensor, q: float) -> torch.Tensor:
    """q-quantile of a 1-D tensor with linear interpolation (as ``np.quantile``), in float64, no size limit."""
    ordered = values.detach().to(torch.float64).flatten().sort().values
    position = q * (ordered.numel() - 1)
    low = math.floor(position)
    high = min(low + 1, ordered.numel() - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def _as_batches(
    data: torch.Tensor | Iterable, mask: torch.Tensor | None, data_key: str, mask_key: str
) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
    """Yield ``(tensor, mask)`` from one tensor, or from an iterable of tensors / (tensor, mask) pairs / dicts."""
    if isinstance(data, torch.Tensor):
        yield data, mask
        return
    if mask is not None:
        raise ValueError(f"pass {mask_key} inside each batch when {data_key} is an iterable of batches")
    for batch in data:
        if isinstance(batch, torch.Tensor):
            yield batch, None
        elif isinstance(batch, Mapping):
            if data_key not in batch:
                raise ValueError(f"a batch dict must hold {data_key!r}, got keys {sorted(batch)}")
            yield batch[data_key], batch.get(mask_key)
        elif isinstance(batch, (tuple, list)) and len(batch) == 2:
            yield batch[0], batch[1]
        else:
            raise ValueError(
                f"each batch must be a tensor, a ({data_key}, {mask_key}) pair or a dict, got {type(batch).__name__}"
            )


class OcclusionPatchDetectorPreTrainedModel(HubCodeMixin, PreTrainedModel):
    """Weight initialisation and loading for the occlusion detector."""

    config_class = OcclusionPatchDetectorConfig
    config: OcclusionPatchDetectorConfig
    base_model_prefix = "detector"
    main_input_name = "patch_latents"
    input_modalities = ("image",)

    def _init_weights(self, module: nn.Module) -> None:
        """Φ: PyTorch's default ``nn.Linear`` init (Deep-SVDD-PyTorch keeps it); c = 0, R = 0, centre not set."""
        super()._init_weights(module)
        if isinstance(module, nn.Linear):
            init.kaiming_uniform_(module.weight, a=math.sqrt(5))
        elif isinstance(module, OcclusionPatchDetector):
            init.zeros_(module.center)
            init.zeros_(module.radius)
            init.zeros_(module.center_initialized)
            if module.config.input_normalization == "per_position":
                init.zeros_(module.position_mean)
                init.ones_(module.position_std)
                init.zeros_(module.normalization_fitted)


class OcclusionPatchDetector(OcclusionPatchDetectorPreTrainedModel):
    """Deep-SVDD occlusion patch detector over ViT patch latents ``[B, N, D]`` → per-patch occlusion mask.

    Buffers saved with the weights: ``center`` c ``[rep_dim]``, ``radius`` R ``[]`` and ``center_initialized`` ``[]``
    (bool); with ``input_normalization="per_position"`` also ``position_mean``, ``position_std`` ``[N, D]`` and
    ``normalization_fitted`` ``[]``. Fit order (Deep-SVDD-PyTorch): (``fit_input_normalization``,) ``init_center`` on
    clean latents, then train Φ with the loss from ``forward`` (the optimiser's weight decay is Eq. 1's λ term; nothing
    to train with ``projector="identity"``) and ``update_radius`` on clean distances.
    """

    def __init__(self, config: OcclusionPatchDetectorConfig):
        super().__init__(config)
        self.projector = DeepSVDDProjector(config) if config.projector == "mlp" else nn.Identity()
        self.register_buffer("center", torch.zeros(config.rep_dim), persistent=True)
        self.register_buffer("radius", torch.zeros(()), persistent=True)
        self.register_buffer("center_initialized", torch.zeros((), dtype=torch.bool), persistent=True)
        if config.input_normalization == "per_position":
            shape = (config.num_patches, config.latent_dim)
            self.register_buffer("position_mean", torch.zeros(shape), persistent=True)
            self.register_buffer("position_std", torch.ones(shape), persistent=True)
            self.register_buffer("normalization_fitted", torch.zeros((), dtype=torch.bool), persistent=True)
        self._center_checked = False
        self.post_init()

    # ------------------------------------------------------------------------------- with no parameter at all
    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype, or the centre's when Φ has none (``projector="identity"``)."""
        return next((p.dtype for p in self.parameters() if p.is_floating_point()), self.center.dtype)

    @property
    def device(self) -> torch.device:
        """The parameters' device, or the centre's when Φ has none (``projector="identity"``)."""
        return next((p.device for p in self.parameters()), self.center.device)

    # ----------------------------------------------------------------------------------------------------- checks
    def _check_latents(self, patch_latents: object) -> torch.Tensor:
        patch_latents = check_patch_latents(
            patch_latents, num_patches=self.config.num_patches, latent_dim=self.config.latent_dim
        )
        return patch_latents.to(self.center.dtype)

    def _check_occlusion_mask(self, occlusion_mask: object, batch_size: int) -> torch.Tensor:
        return check_patch_mask(
            occlusion_mask, batch_size=batch_size, grid_size=self.config.grid_size, name="occlusion_mask"
        ).to(self.center.device)

    def _warn_if_center_unset(self) -> None:
        """Warn once per model if the centre (or the per-position statistics) was never set; reads the flags on the
        host once, not at every call (``_center_checked``: nothing left to warn about)."""
        if self._center_checked or self.center_initialized.device.type == "meta" or self.training:
            return  # nothing to read on meta (size counting); training sets the centre itself
        if torch.compiler.is_compiling() or torch.jit.is_tracing():
            return
        self._center_checked = True
        if not bool(self.center_initialized):
            logger.warning_once(
                "OcclusionPatchDetector: the SVDD centre is not initialised (c = 0); call "
                "`init_center(clean_patch_latents)` before training, or load fitted weights."
            )
        if self.config.input_normalization == "per_position" and not bool(self.normalization_fitted):
            logger.warning_once(
                "OcclusionPatchDetector: the per-position input normalisation is not fitted (mean 0, std 1); call "
                "`fit_input_normalization(clean_patch_latents)` first, or load fitted weights."
            )

    # ---------------------------------------------------------------------------------------------- embedding
    def normalize(self, patch_latents: torch.Tensor) -> torch.Tensor:
        """``[B, N, D]`` latents standardised per patch position (``input_normalization="per_position"``), else
        unchanged."""
        if self.config.input_normalization != "per_position":
            return patch_latents
        return (patch_latents - self.position_mean) / self.position_std

    def embed(self, patch_latents: torch.Tensor) -> torch.Tensor:
        """Φ(normalised z): ``[B, N, D]`` checked latents → ``[B, N, rep_dim]``."""
        return self.projector(self.normalize(patch_latents))

    # ------------------------------------------------------------------------------------------------- objective
    def one_class_loss(self, distances_sq: torch.Tensor, clean_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Deep-SVDD objective over clean patches only; a scalar, defined (finite) even with no clean patch.

        Args:
            distances_sq: ``[...]`` squared distances ‖Φ(z) − c‖² (e.g. ``[B, N]``).
            clean_mask: bool, same shape, True = clean patch that counts; None = all count.

        ``"soft-boundary"``: R² + 1/(ν·n) Σ_clean max(0, d² − R²); ``"one-class"``: Σ_clean d² / n. R is a buffer
        (set by ``update_radius``), not trained by gradient, as in Deep-SVDD-PyTorch. With n = 0 clean patches the sum
        is empty: the loss is R² (soft-boundary) or 0 (one-class), still attached to the graph (zero gradients).
        """
        if clean_mask is None:
            clean_mask = torch.ones_like(distances_sq, dtype=torch.bool)
        if clean_mask.shape != distances_sq.shape:
            raise ValueError(
                f"clean_mask must have the shape of distances_sq {list(distances_sq.shape)}, "
                f"got {list(clean_mask.shape)}"
            )
        weights = clean_mask.to(distances_sq.dtype)
        num_clean = weights.sum().clamp_min(1.0)
        if self.config.objective == "one-class":
            return (distances_sq * weights).sum() / num_clean
        radius_sq = self.radius.to(distances_sq.dtype) ** 2
        excess = torch.clamp(distances_sq - radius_sq, min=0.0)
        return radius_sq + (excess * weights).sum() / (self.config.nu * num_clean)

    def semi_supervised_loss(self, distances_sq: torch.Tensor, occlusion_mask: torch.Tensor | None) -> torch.Tensor:
        """Deep SAD's objective (``objective="semi-supervised"``): the mean over all patches of d² for clean ones and
        η·(d² + ``SAD_EPS``)⁻¹ for those known to be occluded (``occlusion_mask`` True; None = all clean)."""
        if occlusion_mask is None:
            return distances_sq.mean()
        if occlusion_mask.shape != distances_sq.shape:
            raise ValueError(
                f"occlusion_mask must have the shape of distances_sq {list(distances_sq.shape)}, "
                f"got {list(occlusion_mask.shape)}"
            )
        pushed = self.config.eta / (distances_sq + SAD_EPS)
        return torch.where(occlusion_mask, pushed, distances_sq).mean()

    # ---------------------------------------------------------------------------------------------------- forward
    def forward(
        self,
        patch_latents: torch.Tensor,
        occlusion_mask: torch.Tensor | None = None,
        return_loss: bool | None = None,
        return_dict: bool | None = None,
    ) -> OcclusionPatchDetectorOutput | tuple:
        r"""
        Args:
            patch_latents (`torch.FloatTensor` of shape `[B, N, D]`):
                Per-patch ViT latents, cls token dropped (N = `num_patches`, D = `latent_dim`).
            occlusion_mask (`torch.BoolTensor` of shape `[B, N]` or `[B, g, g]`, *optional*):
                True = patch known to be occluded: left out of the one-class losses (they learn only from clean
                patches [P §3.1]), pushed away from c by the `"semi-supervised"` one. Predictions are made for every
                patch regardless.
            return_loss (`bool`, *optional*):
                True: always compute the loss (all patches clean if no mask); False: never. None (default): compute it
                when `occlusion_mask` is given or the model is in training mode.
            return_dict (`bool`, *optional*):
                False → a tuple of the output's non-None fields (default `config.return_dict`).
        """
        # 1. Check inputs
        patch_latents = self._check_latents(patch_latents)
        batch_size = patch_latents.shape[0]
        if occlusion_mask is not None:
            occlusion_mask = self._check_occlusion_mask(occlusion_mask, batch_size)
        self._warn_if_center_unset()

        # 2. Embed and measure the distance to the centre
        embeddings = self.embed(patch_latents)
        distances_sq = (embeddings - self.center).pow(2).sum(dim=-1)
        distances = torch.linalg.vector_norm(embeddings - self.center, dim=-1)
        anomaly_scores = distances_sq - self.radius**2

        # 3. Decide: d > R ⇒ occluded
        occluded = anomaly_scores > 0
        grid = self.config.grid_size
        pixel_mask = patch_mask_to_pixel_mask(occluded, grid_size=grid, patch_size=self.config.patch_size)

        # 4. Loss on clean patches only
        if return_loss is None:
            return_loss = occlusion_mask is not None or self.training
        loss = None
        if return_loss and self.config.objective == "semi-supervised":
            known = None if occlusion_mask is None else occlusion_mask.reshape(batch_size, -1)
            loss = self.semi_supervised_loss(distances_sq, known)
        elif return_loss:
            clean_mask = None if occlusion_mask is None else ~occlusion_mask
            loss = self.one_class_loss(distances_sq, clean_mask)

        output = OcclusionPatchDetectorOutput(
            loss=loss,
            embeddings=embeddings,
            distances=distances,
            anomaly_scores=anomaly_scores,
            patch_mask=occluded.reshape(batch_size, grid, grid),
            pixel_mask=pixel_mask,
            occlusion_ratio=occluded.to(embeddings.dtype).mean(dim=-1),
        )
        return output if (self.config.return_dict if return_dict is None else return_dict) else output.to_tuple()

    # ------------------------------------------------------------------------------------- fitting the statistics
    @torch.no_grad()
    def fit_input_normalization(
        self, patch_latents: torch.Tensor | Iterable, occlusion_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Set the per-position mean and standard deviation from clean latents; write the buffers, return them.

        Args:
            patch_latents: ``[B, N, D]``, or an iterable of batches as for :meth:`init_center`.
            occlusion_mask: ``[B, N]`` / ``[B, g, g]``, True = occluded (excluded); only with a single tensor.
        """
        if self.config.input_normalization != "per_position":
            raise ValueError("fit_input_normalization needs input_normalization='per_position' in the config")
        return self.set_input_normalization(*self.input_statistics(patch_latents, occlusion_mask))

    @torch.no_grad()
    def input_statistics(
        self, patch_latents: torch.Tensor | Iterable, occlusion_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per-position sums of clean latents, float64: Σz and Σz² ``[N, D]`` and the counts ``[N, 1]`` — what
        :meth:`set_input_normalization` takes (sum them over processes first when the data is sharded). Arguments
        as for :meth:`fit_input_normalization`."""
        shape = (self.config.num_patches, self.config.latent_dim)
        total = torch.zeros(shape, dtype=torch.float64, device=self.center.device)
        squares, counts = torch.zeros_like(total), torch.zeros(shape[0], 1, dtype=torch.float64, device=total.device)
        for latents, mask in _as_batches(patch_latents, occlusion_mask, "patch_latents", "occlusion_mask"):
            latents = self._check_latents(latents).to(self.center.device, torch.float64)
            keep = torch.ones(latents.shape[:2], dtype=torch.bool, device=total.device)
            if mask is not None:
                keep = ~self._check_occlusion_mask(mask, latents.shape[0]).reshape(latents.shape[0], -1)
            weights = keep.unsqueeze(-1).to(torch.float64)
            total += (latents * weights).sum(0)
            squares += (latents.pow(2) * weights).sum(0)
            counts += weights.sum(0)
        return total, squares, counts

    @torch.no_grad()
    def set_input_normalization(
        self, total: torch.Tensor, squares: torch.Tensor, counts: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Set the per-position statistics from sums (e.g. gathered over processes): ``total`` and ``squares``
        ``[N, D]`` (Σz, Σz² over clean patches), ``counts`` ``[N, 1]`` (or ``[N]``); std = √(unbiased variance) +
        ``NORMALIZATION_EPS``. Every position needs at least two clean patches."""
        shape = (self.config.num_patches, self.config.latent_dim)
        counts = counts.reshape(-1, 1).to(torch.float64)
        if total.shape != shape or squares.shape != shape or counts.shape[0] != shape[0]:
            raise ValueError(
                f"total and squares must have shape {list(shape)} and counts {shape[0]} rows, got "
                f"{list(total.shape)}, {list(squares.shape)}, {list(counts.shape)}"
            )
        if bool((counts < 2).any()):
            positions = torch.nonzero(counts.flatten() < 2).flatten().tolist()
            raise ValueError(f"fewer than two clean patches at positions {positions[:10]}: cannot fit their statistics")
        mean = total.to(torch.float64) / counts
        variance = (squares.to(torch.float64) - counts * mean.pow(2)).clamp_min(0) / (counts - 1)
        self.position_mean.copy_(mean.to(self.position_mean.dtype))
        self.position_std.copy_((variance.sqrt() + NORMALIZATION_EPS).to(self.position_std.dtype))
        self.normalization_fitted.fill_(True)
        self._center_checked = bool(self.center_initialized)
        return self.position_mean, self.position_std

    @torch.no_grad()
    def init_center(
        self,
        patch_latents: torch.Tensor | Iterable,
        occlusion_mask: torch.Tensor | None = None,
        *,
        eps: float | None = None,
        from_embeddings: bool = False,
    ) -> torch.Tensor:
        """Set c to the mean of Φ(z) over clean patches, |c_i| < eps pushed to ±eps; write the buffer, return c.

        Args:
            patch_latents: ``[B, N, D]``, or an iterable of batches, each a tensor, a ``(latents, occlusion_mask)``
                pair or a dict with ``"patch_latents"`` (and optionally ``"occlusion_mask"``).
            occlusion_mask: ``[B, N]`` / ``[B, g, g]``, True = occluded (excluded); only with a single tensor.
            eps: defaults to ``config.center_eps`` (0 with ``projector="identity"``). Coordinates in (−eps, 0) go to
                −eps, those in [0, eps) to +eps (Deep-SVDD-PyTorch leaves exact zeros at 0; we push them to +eps too,
                which is what the rule is for).
            from_embeddings: the tensors are already Φ outputs ``[B, N, rep_dim]``.
        """
        width = self.config.rep_dim if from_embeddings else self.config.latent_dim
        name = "embeddings" if from_embeddings else "patch_latents"
        total = torch.zeros(self.config.rep_dim, dtype=torch.float64, device=self.center.device)
        count = 0
        for latents, mask in _as_batches(patch_latents, occlusion_mask, "patch_latents", "occlusion_mask"):
            latents = check_patch_latents(latents, num_patches=self.config.num_patches, latent_dim=width, name=name)
            latents = latents.to(self.center.device, self.center.dtype)
            embeddings = latents if from_embeddings else self.embed(latents)
            if mask is not None:
                embeddings = embeddings[~self._check_occlusion_mask(mask, latents.shape[0])]
            embeddings = embeddings.reshape(-1, self.config.rep_dim)
            total += embeddings.to(torch.float64).sum(dim=0)
            count += embeddings.shape[0]
        if count == 0:
            raise ValueError("init_center got no clean patch (every patch is flagged in occlusion_mask, or no batch)")
        return self.set_center(total / count, eps=eps)

    @torch.no_grad()
    def set_center(self, mean_embedding: torch.Tensor, *, eps: float | None = None) -> torch.Tensor:
        """Set c from the mean Φ output ``[rep_dim]`` (e.g. gathered over processes): |c_i| < eps pushed to ±eps as
        in :meth:`init_center` (not with ``projector="identity"``); write the buffer, return c."""
        eps = (0.0 if self.config.projector == "identity" else self.config.center_eps) if eps is None else eps
        if mean_embedding.shape != self.center.shape:
            raise ValueError(
                f"mean_embedding must have shape {list(self.center.shape)}, got {list(mean_embedding.shape)}"
            )
        center = mean_embedding.to(self.center.device, torch.float64)
        small = center.abs() < eps
        center = torch.where(small & (center < 0), -eps, torch.where(small, eps, center))
        self.center.copy_(center.to(self.center.dtype))
        self.center_initialized.fill_(True)
        self._center_checked = self.config.input_normalization == "none" or bool(self.normalization_fitted)
        return self.center

    @staticmethod
    def radius_from_distances(
        distances: torch.Tensor, nu: float, clean_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """R = the (1 − ν)-quantile (linear interpolation) of the clean Euclidean distances, as a float64 scalar.

        Deep-SVDD-PyTorch's ``get_radius``: ``np.quantile(np.sqrt(dist), 1 - nu)``.
        """
        if not 0.0 < nu <= 1.0:
            raise ValueError(f"nu must be in (0, 1], got {nu!r}")
        if clean_mask is not None:
            if clean_mask.shape != distances.shape:
                raise ValueError(
                    f"clean_mask must have the shape of distances {list(distances.shape)}, got {list(clean_mask.shape)}"
                )
            distances = distances[clean_mask.to(torch.bool)]
        if distances.numel() == 0:
            raise ValueError("no clean patch distances to compute the radius from")
        if not bool(torch.isfinite(distances).all()):
            raise ValueError("distances contain NaN or infinite values")
        return quantile_linear(distances, 1.0 - nu)

    @torch.no_grad()
    def update_radius(
        self, distances: torch.Tensor | Iterable, clean_mask: torch.Tensor | None = None, *, nu: float | None = None
    ) -> torch.Tensor:
        """Set R from clean distances by the ν-quantile rule; write the buffer, return R.

        Args:
            distances: Euclidean distances (``outputs.distances``, ``[B, N]`` or any shape), or an iterable of
                batches, each a tensor, a ``(distances, clean_mask)`` pair or a dict with ``"distances"`` (and
                optionally ``"clean_mask"``).
            clean_mask: bool, same shape, True = clean patch that counts; None = all count. Only with one tensor.
            nu: defaults to ``config.nu``.
        """
        nu = self.config.nu if nu is None else nu
        kept = []
        for batch, mask in _as_batches(distances, clean_mask, "distances", "clean_mask"):
            if not isinstance(batch, torch.Tensor):
                raise ValueError(f"distances must be torch.Tensor batches, got {type(batch).__name__}")
            if mask is not None:
                if mask.shape != batch.shape:
                    raise ValueError(
                        f"clean_mask must have the shape of distances {list(batch.shape)}, got {list(mask.shape)}"
                    )
                batch = batch[mask.to(batch.device, torch.bool)]
            kept.append(batch.detach().reshape(-1).to(torch.float64).cpu())
        radius = self.radius_from_distances(torch.cat(kept) if kept else torch.zeros(0), nu)
        self.radius.copy_(radius.to(self.radius.dtype))
        return self.radius


__all__ = [
    "NORMALIZATION_EPS",
    "SAD_EPS",
    "DeepSVDDProjector",
    "OcclusionPatchDetectorOutput",
    "OcclusionPatchDetectorPreTrainedModel",
    "OcclusionPatchDetector",
]

__getattr__ = deprecated_aliases(
    __name__,
    {
        "OcclusionDetectorOutput": ("OcclusionPatchDetectorOutput", OcclusionPatchDetectorOutput),
        "OcclusionDetectorPreTrainedModel": (
            "OcclusionPatchDetectorPreTrainedModel",
            OcclusionPatchDetectorPreTrainedModel,
        ),
    },
)
