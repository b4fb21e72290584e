"""Losses of the hybrid reconstruction network [P §3.2.3, Eqs. 4–5; docs/method.md#losses].

L = λ_re·L_re + λ_c·L_c + λ_sc·L_sc + λ_d·(L_d + L_df), weights from `HybridReconstructionConfig` (1, 0.01, 1, 0.002).
Unlike the released code (docs/method.md#official-code-deviations), every term carries gradient into the generator: L_c
is not re-wrapped as a constant and L_sc runs the frozen FER teacher on the reconstruction inside the graph.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..common.reconstruction import ReconstructionOutput
from .modeling_hybrid_reconstruction import HybridReconstructionNetwork

Teacher = Callable[[torch.Tensor], torch.Tensor]  # normalised pixels [B, 3, H, W] → logits [B, num_labels]


def reconstruction_loss(generated: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L_re: mean absolute error between the generator output and the unoccluded image (same scale)."""
    return F.l1_loss(generated, target)


def consistency_loss(
    assembly_features: torch.Tensor, target_features: torch.Tensor, feature_mask: torch.Tensor
) -> torch.Tensor:
    """L_c: mean squared error of the self-assembly output against the ground truth's encoder features, over the
    masked feature positions only (0, still in the graph, when nothing is masked).

    The official CSA-style loss compares with VGG16 relu4_3 features of the ground truth; without torchvision we use
    the generator's own encoder on the unoccluded image (`HybridReconstructionNetwork.ground_truth_assembly_features`,
    no gradient), which has exactly the layer's shape (a documented deviation).
    """
    if assembly_features.shape != target_features.shape:
        raise ValueError(
            f"target_features {list(target_features.shape)} must match assembly_features "
            f"{list(assembly_features.shape)}"
        )
    weights = feature_mask[:, None].to(assembly_features.dtype)
    squared = (assembly_features - target_features.detach()).pow(2) * weights
    return squared.sum() / (weights.sum() * assembly_features.shape[1]).clamp_min(1.0)


def semantic_consistency_loss(
    teacher: Teacher, reconstruction: torch.Tensor, ground_truth: torch.Tensor
) -> torch.Tensor:
    """L_sc (Eq. 4 with its missing minus sign): −Σ_c p_c(x_gt) · log p_c(x_rec), batch mean.

    ``teacher`` is a frozen FER network (eval mode, parameters without grad) applied to normalised pixels; the
    ground-truth side is a fixed soft target, the reconstruction side stays differentiable so the gradient reaches
    the generator (the released code detaches it, docs/method.md#official-code-deviations).
    """
    with torch.no_grad():
        target = F.softmax(teacher(ground_truth), dim=-1)
    log_probs = F.log_softmax(teacher(reconstruction), dim=-1)
    return -(target * log_probs).sum(dim=-1).mean()


def recognizer_teacher(recognizer: nn.Module, patch_latents: torch.Tensor) -> Teacher:
    """Freeze an `ExpressionRecognizer` and use it as the L_sc teacher with fixed ViT latents of the clean faces."""
    recognizer.eval().requires_grad_(False)
    return lambda pixel_values: recognizer(pixel_values=pixel_values, patch_latents=patch_latents).logits


def relativistic_discriminator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Relativistic-average LSGAN, discriminator side: ½[(D(r) − E D(f) − 1)² + (D(f) − E D(r) + 1)²] [C: GANLoss]."""
    return 0.5 * (
        (real_scores - fake_scores.mean() - 1).pow(2).mean() + (fake_scores - real_scores.mean() + 1).pow(2).mean()
    )


def relativistic_generator_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Relativistic-average LSGAN, generator side: ½[(D(r) − E D(f) + 1)² + (D(f) − E D(r) − 1)²] [C: GANLoss]."""
    return 0.5 * (
        (real_scores - fake_scores.mean() + 1).pow(2).mean() + (fake_scores - real_scores.mean() - 1).pow(2).mean()
    )


@dataclass
class HybridLosses:
    """The generator objective and its parts (unweighted parts; `total` is weighted by the config's λs)."""

    total: torch.Tensor
    reconstruction: torch.Tensor
    consistency: torch.Tensor
    semantic_consistency: torch.Tensor | None
    adversarial: torch.Tensor | None


def generator_losses(
    network: HybridReconstructionNetwork,
    output: ReconstructionOutput,
    target_pixel_values: torch.Tensor,
    teacher: Teacher | None = None,
    discriminators: nn.Module | None = None,
) -> HybridLosses:
    """All generator terms for one batch: L_re, L_c, L_sc (when a teacher is given), L_d + L_df (when
    `ReconstructionDiscriminators` are given), weighted by `network.config`."""
    config = network.config
    target = network.to_working_images(target_pixel_values)
    loss_re = reconstruction_loss(output.generated, target)
    target_features = network.ground_truth_assembly_features(target_pixel_values)
    loss_c = consistency_loss(output.assembly_features, target_features, output.feature_mask)
    total = config.lambda_re * loss_re + config.lambda_c * loss_c
    loss_sc = loss_adv = None
    if teacher is not None:
        loss_sc = semantic_consistency_loss(teacher, output.reconstruction, target_pixel_values)
        total = total + config.lambda_sc * loss_sc
    if discriminators is not None:
        real, fake = discriminators(target), discriminators(output.generated)
        loss_adv = relativistic_generator_loss(
            real.image_scores.detach(), fake.image_scores
        ) + relativistic_generator_loss(real.feature_scores.detach(), fake.feature_scores)
        total = total + config.lambda_d * loss_adv
    return HybridLosses(total, loss_re, loss_c, loss_sc, loss_adv)


def discriminator_loss(
    network: HybridReconstructionNetwork,
    discriminators: nn.Module,
    output: ReconstructionOutput,
    target_pixel_values: torch.Tensor,
) -> torch.Tensor:
    """D + F step: ½·RaLS_D(D) + ½·RaLS_D(F) on the real faces and the (detached) generator output [C]."""
    target = network.to_working_images(target_pixel_values)
    real, fake = discriminators(target), discriminators(output.generated.detach())
    return 0.5 * (
        relativistic_discriminator_loss(real.image_scores, fake.image_scores)
        + relativistic_discriminator_loss(real.feature_scores, fake.feature_scores)
    )


__all__ = [
    "HybridLosses",
    "consistency_loss",
    "discriminator_loss",
    "generator_losses",
    "recognizer_teacher",
    "reconstruction_loss",
    "relativistic_discriminator_loss",
    "relativistic_generator_loss",
    "semantic_consistency_loss",
]
