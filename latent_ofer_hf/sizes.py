"""Parameters and FLOPs per component per preset: ``python -m latent_ofer_hf.sizes [--presets paper base tiny]``.

Models are built on the meta device (no memory, no weights) and FLOPs are counted by
``torch.utils.flop_counter.FlopCounterMode`` for one 224×224 face: matmuls and convolutions, 2 FLOPs per
multiply-add (GMACs = GFLOPs / 2; papers often call GMACs "FLOPs").
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from .models.latent_ofer import LatentOferModel
from .presets import PRESETS, preset_config


@dataclass
class Row:
    preset: str
    part: str
    params: int
    flops: float


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _flops(fn) -> float:
    with FlopCounterMode(display=False) as counter:  # (module tracking fails under no_grad for some modules)
        fn()
    return float(counter.get_total_flops())


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
    hidden_size = config.vit_config.mae_config.hidden_size

    def fill() -> None:  # encoder on the visible tokens only, decoder on all positions (as `ViTLatentBackbone.fill`)
        hidden = torch.empty(1, 1 + num_patches - masked_patches, hidden_size, device="meta")
        for layer in mae.vit.layers:
            hidden = layer(hidden)
        full = torch.empty(1, 1 + num_patches, hidden_size, device="meta")
        mae.decoder.decoder_pred(vit._decode_tokens(full, None, None))

    source = vit.config.latent_source  # which MAE parts the latents pass runs
    latent_params = {"encoder": _count(mae.vit), "decoder_embed": _count(mae.vit) + _count(mae.decoder.decoder_embed),
                     "decoder": _count(mae)}[source]
    rows = [
        Row(preset, "ViT latents pass (all patches)", latent_params, _flops(lambda: vit(x))),
        Row(preset, f"MAE fill ({masked_patches} of {num_patches} patches masked)", _count(mae), _flops(fill)),
        Row(preset, "occlusion detector (SVDD head)", _count(model.detector),
            _flops(lambda: model.detector(patch_latents=latents, return_loss=False))),
        Row(preset, "expression recogniser", _count(model.recognizer),
            _flops(lambda: model.recognizer(pixel_values=x, patch_latents=latents))),
    ]
    head = model.recognizer.latent_head if hasattr(model.recognizer, "latent_head") else None
    if head is not None:
        rows.append(Row(preset, f"  of which latent head ({config.recognizer_config.latent_head})", _count(head), 0.0))
    path = Row(preset, "= recogniser path (latents pass + recogniser)", rows[0].params + rows[3].params,
               rows[0].flops + rows[3].flops)
    system = Row(preset, "= whole system (ViT + detector + MAE fill + recogniser)",
                 _count(model), rows[0].flops + rows[1].flops + rows[2].flops + rows[3].flops)
    return rows + [path, system]


def format_table(rows: list[Row]) -> str:
    lines = [f"{'preset':<7} {'part':<58} {'params (M)':>11} {'GFLOPs':>9} {'GMACs':>8}"]
    for row in rows:
        flops = f"{row.flops / 1e9:9.2f} {row.flops / 2e9:8.2f}" if row.flops else f"{'-':>9} {'-':>8}"
        lines.append(f"{row.preset:<7} {row.part:<58} {row.params / 1e6:11.2f} {flops}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=["paper", "base", "tiny"], choices=sorted(PRESETS))
    parser.add_argument("--masked-patches", type=int, default=49, help="patches hidden for the MAE-fill row")
    args = parser.parse_args(argv)
    rows = {name: measure(name, args.masked_patches) for name in args.presets}
    print(format_table([row for name in args.presets for row in rows[name]]))
    if "paper" in rows and "base" in rows:
        paper, base = rows["paper"][-2], rows["base"][-2]
        print(f"\nbase / paper recogniser path: params {base.params / paper.params:.1%}, "
              f"FLOPs {base.flops / paper.flops:.1%}")
    print("\nPaper Table 7 (whole Latent-OFER, 'estimated by ourselves'): 373 M params, 156 GFLOPs. Official code's "
          "FER network alone: ~475 M params, of which ~455 M the linear latent MLP (spec §2.4.3). The U-Net "
          "refinement of the hybrid reconstruction (~86.5 M params in the official code) is not part of these "
          "presets yet.")


if __name__ == "__main__":
    main()
