"""Parameters and FLOPs per component per preset: ``python -m latent_ofer_hf.sizes [--presets paper base demo tiny]``.

Models are built on the meta device (no memory, no weights) and FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` for one 224×224 face: matmuls and convolutions, 2 FLOPs per
multiply-add (GMACs = GFLOPs / 2; papers often call GMACs "FLOPs"). The whole-system row gives the size of its
weights as float32 safetensors (parameters and buffers, 1 MB = 10⁶ bytes; the files add a few kB of headers).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from .models.common.input_checks import patch_mask_to_pixel_mask
from .models.hybrid_reconstruction import HybridReconstructionNetwork, feature_mask_from_pixels, self_assembly
from .models.latent_ofer import SLOTS, LatentOferModel
from .models.latent_ofer.components import component_for_config
from .presets import PRESETS, preset_config


@dataclass
class Row:
    preset: str
    part: str
    params: int
    flops: float
    weight_bytes: int = 0  # the whole system's safetensors (parameters and buffers, float32); 0 on other rows


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:  # (module tracking fails under no_grad for some modules)
        fn()
    return float(counter.get_total_flops())


class _PassThrough(torch.nn.Module):
    """Stands in for the self-assembly layer on the meta device (its work depends on the mask's values)."""

    def forward(
        self, features: torch.Tensor, mirror_features: torch.Tensor, feature_mask: torch.Tensor, inplace: bool = False
    ) -> torch.Tensor:
        return features


def _hybrid_rows(
    preset: str, network: HybridReconstructionNetwork, masked_patches: int, grid: int, patch_size: int
) -> list[Row]:
    """U-Net FLOPs on the meta device plus the self-assembly layer's FLOPs counted on real CPU tensors with a
    lower-face hole of `masked_patches` patches (the layer's work depends on how many positions are masked)."""
    config = network.config
    size, side = config.image_size, config.assembly_size
    layer, network.unet.assembly = network.unet.assembly, _PassThrough()
    try:
        inputs = torch.empty(1, 12, size, size, device="meta")
        unet_flops = _flops(lambda: network.unet(inputs, torch.zeros(1, side, side, dtype=torch.bool, device="meta")))
    finally:
        network.unet.assembly = layer
    patch_mask = torch.zeros(1, grid * grid, dtype=torch.bool)
    patch_mask[0, grid * grid - masked_patches :] = True  # the bottom rows: a lower-face occluder
    hole = patch_mask_to_pixel_mask(patch_mask, grid_size=grid, patch_size=patch_size).float()
    hole = torch.nn.functional.interpolate(hole, size=(size, size), mode="nearest")
    feature_mask = feature_mask_from_pixels(hole, config.assembly_level, config.feature_mask_threshold)
    width = 2 * config.level_channels(config.assembly_level)
    features = torch.randn(2, 1, width, side, side)
    with torch.no_grad():
        assembly_flops = _flops(lambda: self_assembly(features[0], features[1], feature_mask))
    return [
        Row(
            preset,
            f"hybrid U-Net refinement ({size}², incl. self-assembly)",
            _count(network),
            unet_flops + assembly_flops,
        ),
        Row(
            preset,
            f"  of which self-assembly ({side}×{side}×{width}, {feature_mask.float().mean():.0%} masked)",
            0,
            assembly_flops,
        ),
    ]


def _detector_label(config) -> str:
    """The detector's row name: its head, as configured."""
    if config.projector == "identity":
        return "occlusion detector (per-position statistics, no head)"
    head = "Deep SAD" if config.objective == "semi-supervised" else "Deep-SVDD"
    return f"occlusion detector ({head} head)"


def measure(preset: str, masked_patches: int = 49) -> list[Row]:
    """Rows for one preset: latents pass, MAE fill (with `masked_patches` hidden), detector, recogniser, totals."""
    config = preset_config(preset)
    with torch.device("meta"):
        model = LatentOferModel(config).eval()
    vit, mae = model.vit, model.vit.mae
    x = torch.empty(1, 3, config.vit_config.image_size, config.vit_config.image_size, device="meta")
    with torch.no_grad():
        latents = vit(x).patch_latents
    num_patches = config.vit_config.num_patches

    visible = num_patches - masked_patches
    mask = torch.zeros(1, num_patches, dtype=torch.bool, device="meta")  # values unknown on meta; the count is given

    def fill() -> None:  # the real `ViTLatentBackbone.fill`: encoder on the visible tokens, decoder on all positions
        vit.fill(x, mask, visible_count=visible)

    source = vit.config.latent_source  # which MAE parts the latents pass runs
    latent_params = {
        "encoder": _count(mae.vit),
        "decoder_embed": _count(mae.vit) + _count(mae.decoder.decoder_embed),
        "decoder": _count(mae),
    }[source]
    rows = [
        Row(preset, "ViT latents pass (all patches)", latent_params, _flops(lambda: vit(x))),
        Row(preset, f"MAE fill ({masked_patches} of {num_patches} patches masked)", _count(mae), _flops(fill)),
        Row(
            preset,
            _detector_label(config.detector_config),
            _count(model.detector),
            _flops(lambda: model.detector(patch_latents=latents, return_loss=False)),
        ),
        Row(
            preset,
            "expression recogniser",
            _count(model.recognizer),
            _flops(lambda: model.recognizer(pixel_values=x, patch_latents=latents)),
        ),
    ]
    head = model.recognizer.latent_head if hasattr(model.recognizer, "latent_head") else None
    if head is not None:
        rows.append(Row(preset, f"  of which latent head ({config.recognizer_config.latent_head})", _count(head), 0.0))
    path = Row(
        preset,
        "= recogniser path (latents pass + recogniser)",
        rows[0].params + rows[3].params,
        rows[0].flops + rows[3].flops,
    )
    system_flops = rows[0].flops + rows[1].flops + rows[2].flops + rows[3].flops
    reconstructor = model.reconstructor
    if reconstructor is not None and component_for_config("reconstructor", reconstructor.config).reconstruction == (
        "hybrid"
    ):
        hybrid = _hybrid_rows(
            preset, model.reconstructor, masked_patches, config.vit_config.grid_size, config.vit_config.patch_size
        )
        rows += hybrid
        system_flops += hybrid[0].flops
    # the composite owns no parameters of its own: the system is the sum of its slots' components
    system_params = sum(_count(getattr(model, slot)) for slot in SLOTS if getattr(model, slot) is not None)
    weight_bytes = sum(tensor.numel() * 4 for tensor in model.state_dict().values() if tensor.is_floating_point())
    system = Row(
        preset,
        "= whole system (ViT + detector + MAE fill + U-Net + recogniser)",
        system_params,
        system_flops,
        weight_bytes,
    )
    return rows + [path, system]


def format_table(rows: list[Row]) -> str:
    lines = [f"{'preset':<7} {'part':<62} {'params (M)':>11} {'GFLOPs':>9} {'GMACs':>8} {'weights (MB)':>12}"]
    for row in rows:
        flops = f"{row.flops / 1e9:9.2f} {row.flops / 2e9:8.2f}" if row.flops else f"{'-':>9} {'-':>8}"
        params = f"{row.params / 1e6:11.2f}" if row.params else f"{'-':>11}"
        weights = f"{row.weight_bytes / 1e6:12.1f}" if row.weight_bytes else f"{'':>12}"
        lines.append(f"{row.preset:<7} {row.part:<62} {params} {flops} {weights}".rstrip())
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of this table (``python -m latent_ofer_hf.sizes`` and ``latent-ofer sizes`` alike)."""
    parser.add_argument("--presets", nargs="+", default=["paper", "base", "demo", "tiny"], choices=sorted(PRESETS))
    parser.add_argument(
        "--masked-patches", type=int, default=49, help="patches hidden for the MAE-fill row (1 to 195 of 14 × 14)"
    )
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> None:
    parser = argparse.ArgumentParser(prog=prog or "python -m latent_ofer_hf.sizes", description=__doc__.splitlines()[0])
    parser = add_arguments(parser)
    args = parser.parse_args(argv)
    patches = min(preset_config(name).vit_config.grid_size ** 2 for name in args.presets)
    if not 0 < args.masked_patches < patches:
        parser.error(f"--masked-patches must be in 1..{patches - 1} (of {patches} patches), got {args.masked_patches}")
    rows = {name: measure(name, args.masked_patches) for name in args.presets}
    print(format_table([row for name in args.presets for row in rows[name]]))
    if "paper" in rows and "base" in rows:
        paper, base = rows["paper"][-2], rows["base"][-2]
        print(
            f"\nbase / paper recogniser path: params {base.params / paper.params:.1%}, "
            f"FLOPs {base.flops / paper.flops:.1%}"
        )
    print(
        "\nPaper Table 7 (whole Latent-OFER, 'estimated by ourselves'): 373 M params, 156 GFLOPs. Official code's "
        "FER network alone: ~475 M params, of which ~455 M the linear latent MLP (docs/method.md#latent-head); its "
        "hybrid U-Net: 86,479,363 params (docs/method.md#refinement-u-net)."
    )


if __name__ == "__main__":
    main()
