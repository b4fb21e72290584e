"""The sizes command: per-component params and FLOPs, counted on the meta device."""

from pathlib import Path
from tempfile import TemporaryDirectory

import torch

from latent_ofer_hf import LatentOferModel, preset_config
from latent_ofer_hf.sizes import _detector_label, main, measure


def test_tiny_rows_match_the_real_model():
    rows = {row.part: row for row in measure("tiny")}
    model = LatentOferModel(preset_config("tiny"))
    assert rows["expression recogniser"].params == sum(p.numel() for p in model.recognizer.parameters())
    assert rows["occlusion detector (Deep-SVDD head)"].params == sum(p.numel() for p in model.detector.parameters())
    whole = next(row for part, row in rows.items() if part.startswith("= whole system"))
    assert whole.params == sum(p.numel() for p in model.parameters())
    with TemporaryDirectory() as folder:  # the weights column is what save_pretrained writes, headers aside
        model.save_pretrained(folder)
        files = sum(path.stat().st_size for path in Path(folder).rglob("*.safetensors"))
    assert whole.weight_bytes <= files < whole.weight_bytes + 64_000, (whole.weight_bytes, files)
    demo = {row.part: row for row in measure("demo")}
    assert "occlusion detector (Deep SAD head)" in demo
    gaussian = preset_config("demo", detector_config={"projector": "identity", "objective": "soft-boundary"})
    assert _detector_label(gaussian.detector_config) == "occlusion detector (per-position statistics, no head)"
    assert all(row.flops > 0 for part, row in rows.items() if "of which" not in part)


def test_flop_count_of_the_recognizer_is_a_real_count():
    """FLOPs double when the batch doubles (the counter sees the actual matmuls/convs)."""
    from torch.utils.flop_counter import FlopCounterMode

    model = LatentOferModel(preset_config("tiny")).eval()
    counts = []
    for batch in (1, 2):
        x = torch.randn(batch, 3, 224, 224)
        latents = model.vit(x).patch_latents.detach()
        with FlopCounterMode(display=False) as counter:
            model.recognizer(pixel_values=x, patch_latents=latents)
        counts.append(counter.get_total_flops())
    assert counts[1] == 2 * counts[0]


def test_main_prints_the_ratio_of_independently_counted_params(capsys):
    """The printed base/paper ratio equals one computed here from the models' own parameters."""
    import re

    main(["--presets", "paper", "base"])
    out = capsys.readouterr().out
    printed = float(re.search(r"base / paper recogniser path: params ([0-9.]+)%", out).group(1))

    def recognizer_path_params(preset: str) -> int:
        with torch.device("meta"):
            model = LatentOferModel(preset_config(preset))
        assert model.config.vit_config.latent_source == "decoder_embed"  # the latents pass: encoder + decoder_embed
        parts = (model.vit.mae.vit, model.vit.mae.decoder.decoder_embed, model.recognizer)
        return sum(p.numel() for part in parts for p in part.parameters())

    expected = 100 * recognizer_path_params("base") / recognizer_path_params("paper")
    assert abs(printed - expected) <= 0.05, (printed, expected)
    assert 5 < expected < 25  # ViT-B + attention head vs ViT-L + the 557 M paper MLP


def test_the_mae_fill_row_counts_the_real_fill():
    """The meta-device count = the matmuls and convolutions FlopCounterMode sees in `ViTLatentBackbone.fill` on real
    tensors + the attention products computed by hand (the counter does not see inside CPU flash attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    row = next(row for row in measure("tiny", masked_patches=49) if row.part.startswith("MAE fill"))
    model = LatentOferModel(preset_config("tiny")).eval()
    mask = torch.zeros(1, 196, dtype=torch.bool)
    mask[0, torch.randperm(196)[:49]] = True
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.vit.fill(torch.randn(1, 3, 224, 224), mask)
    seen = counter.get_flop_counts()["Global"]
    linear = sum(count for op, count in seen.items() if str(op) in ("aten.convolution", "aten.addmm", "aten.mm"))
    mae = model.config.vit_config.mae_config
    # QKᵀ and AV: 2 products of 2·T²·d FLOPs per layer; the encoder sees cls + 147 tokens, the decoder all 197
    attention = 4 * 148**2 * mae.hidden_size * mae.num_hidden_layers
    attention += 4 * 197**2 * mae.decoder_hidden_size * mae.decoder_num_hidden_layers
    assert row.flops == linear + attention


def test_the_benchmark_table_reads_every_script_s_last_lines(tmp_path):
    """`python -m benchmarks` collects the machine-readable last lines of each script into one table."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "__main__.py"
    spec = importlib.util.spec_from_file_location("benchmarks_main", path)
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    assert runner.last_values("some text\nratio=2.5\ngain=1.1\n") == {"ratio": "2.5", "gain": "1.1"}
    assert runner.last_values("a=1\nprose\nfaces tiny:1:mae=115.0 tiny:2:mae=138.0") == {
        "faces tiny:1:mae": "115.0",
        "faces tiny:2:mae": "138.0",
    }
    prose = "detection_max_side= 1280: 0.83 s, 1 face(s) [{'xmin': 2642}]\nself-assembly per image = 2.1% of it\n"
    assert runner.last_values(prose + "large_image_seconds=0.83") == {"large_image_seconds": "0.83"}
    assert runner.last_values(prose) == {}  # prose with an "=" is not a key=value line
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text("print('warming up')\nprint('speed=3.25')\n")
    bad.write_text("import sys\nprint('Traceback\\n  line | 2', file=sys.stderr)\nraise SystemExit('no | data here')\n")
    table = runner.run([good, bad])
    assert "| good | `speed=3.25` |" in table and "| bad | failed (exit 1): no \\| data here |" in table
    assert len(table.splitlines()) == 6  # machine, blank, header, rule, one row per script: the table stays whole
    assert table.startswith("Machine: ") and {p.stem for p in runner.scripts()} >= {"pipeline", "self_assembly"}
