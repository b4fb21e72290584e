"""The shared ViT: patch latents and the MAE fill with per-sample masks (docs/method.md#vit-latents, #mae-fill)."""

import pytest
import torch
from conftest import assert_state_dicts_equal, weight_files
from transformers import ViTMAEForPreTraining

from latent_ofer_hf import ViTLatentBackbone, ViTLatentBackboneConfig, input_value_checks, preset_config


@pytest.fixture
def backbone() -> ViTLatentBackbone:
    return ViTLatentBackbone(preset_config("tiny").vit_config).eval()


def _masks(batch: int) -> torch.Tensor:
    mask = torch.zeros(batch, 196, dtype=torch.bool)
    mask[0, :50] = True  # 50 masked
    if batch > 1:
        mask[1, 100:110] = True  # 10 masked
    return mask  # third sample: none masked


def test_fresh_model_has_mae_position_tables(backbone):
    # transformers 5.24 leaves fresh ViTMAE position tables at zero; ours fills the fixed sin-cos tables
    assert backbone.mae.vit.embeddings.position_embeddings.abs().sum() > 0
    assert backbone.mae.decoder.decoder_pos_embed.abs().sum() > 0


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("source,width", [("decoder_embed", 24), ("encoder", 48), ("decoder", 24)])
def test_shapes_and_dtypes(batch, source, width):
    # encoder (48) and decoder (24) widths differ, so a latent-width mix-up cannot pass
    mae = {**preset_config("tiny").vit_config.mae_config.to_dict(), "hidden_size": 48, "decoder_hidden_size": 24}
    config = ViTLatentBackboneConfig(mae_config=mae, latent_source=source)
    assert config.latent_dim == width
    model = ViTLatentBackbone(config).eval()
    x = torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        out = model(x, patch_mask=_masks(batch))
    assert out.latents.shape == (batch, 197, width) and out.latents.dtype == torch.float32
    assert out.patch_latents.shape == (batch, 196, width)
    assert torch.equal(out.patch_latents, out.latents[:, 1:])
    assert out.reconstruction.shape == (batch, 3, 224, 224)
    assert out.patch_mask.dtype == torch.bool and out.patch_mask.shape == (batch, 196)
    with torch.no_grad():
        assert model(x).reconstruction is None


def test_latents_match_transformers_encoder(backbone):
    """With every patch visible our encoder pass is exactly ViTMAEModel's (noise kept in raster order)."""
    x = torch.randn(2, 3, 224, 224)
    mae = backbone.mae
    mae.config.mask_ratio = 0.0
    with torch.no_grad():
        ref = mae.vit(x, noise=torch.arange(196.0).expand(2, -1)).last_hidden_state
        out = backbone(x)
    torch.testing.assert_close(out.last_hidden_state, ref, rtol=0, atol=1e-6)
    torch.testing.assert_close(out.latents, mae.decoder.decoder_embed(ref), rtol=0, atol=1e-6)


def test_fill_matches_transformers_mae_and_keeps_visible_pixels(backbone):
    """Same masked set through transformers' own ViTMAEForPreTraining (noise route) gives the same fill."""
    x = torch.randn(1, 3, 224, 224)
    mask = _masks(1)
    mae = backbone.mae
    mae.config.mask_ratio = 50 / 196 - 1e-4  # len_keep = 146
    noise = mask.float() + torch.arange(196.0) / 1000  # masked patches get the highest noise
    with torch.no_grad():
        ref = mae.unpatchify(mae(x, noise=noise).logits)
        filled = backbone.fill(x, mask)
    pixel_mask = mask.reshape(14, 14).repeat_interleave(16, 0).repeat_interleave(16, 1)
    torch.testing.assert_close(filled[0][:, pixel_mask], ref[0][:, pixel_mask], rtol=0, atol=1e-5)
    assert torch.equal(filled[0][:, ~pixel_mask], x[0][:, ~pixel_mask])


def test_different_masked_counts_per_sample_equal_one_by_one(backbone):
    """The encoder sees only each sample's visible patches even when the counts differ within a batch."""
    x = torch.randn(3, 3, 224, 224)
    mask = _masks(3)
    with torch.no_grad():
        batched = backbone.fill(x, mask)
        for i in range(3):
            alone = backbone.fill(x[i : i + 1], mask[i : i + 1])
            torch.testing.assert_close(batched[i : i + 1], alone, rtol=0, atol=1e-5)


def test_fill_depends_only_on_visible_pixels(backbone):
    """Changing pixels under the mask cannot change the fill (the encoder never sees them)."""
    x = torch.randn(2, 3, 224, 224)
    mask = _masks(2)
    pixel_mask = mask.reshape(2, 1, 14, 14).repeat_interleave(16, 2).repeat_interleave(16, 3)
    y = torch.where(pixel_mask, torch.randn_like(x) * 5, x)
    with torch.no_grad():
        torch.testing.assert_close(backbone.fill(x, mask), backbone.fill(y, mask), rtol=0, atol=1e-5)


def test_all_masked_and_none_masked(backbone):
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        everything = backbone.fill(x, torch.ones(2, 196, dtype=torch.bool))
        nothing = backbone.fill(x, torch.zeros(2, 14, 14, dtype=torch.bool))
    assert torch.isfinite(everything).all()
    assert torch.equal(nothing, x)


def test_save_load_exact_and_safetensors_only(backbone, tmp_path):
    backbone.save_pretrained(tmp_path)
    assert weight_files(tmp_path) == ["model.safetensors"]
    reloaded = ViTLatentBackbone.from_pretrained(tmp_path)
    assert_state_dicts_equal(backbone, reloaded)


def test_from_mae_pretrained_local_directory(tmp_path):
    """The Hub route (facebook/vit-mae-base) exercised on a local ViTMAEForPreTraining checkpoint."""
    mae = ViTMAEForPreTraining(preset_config("tiny").vit_config.mae_config).eval()
    mae.save_pretrained(tmp_path)
    backbone = ViTLatentBackbone.from_mae_pretrained(tmp_path).eval()
    assert backbone.config.mae_config.to_dict() == {
        **mae.config.to_dict(),
        "architectures": ["ViTMAEForPreTraining"],
    } or (
        backbone.config.mae_config.hidden_size == mae.config.hidden_size
        and backbone.config.mae_config.decoder_hidden_size == mae.config.decoder_hidden_size
    )
    assert backbone.config.latent_source == "decoder_embed" and backbone.config.latent_dim == 32
    assert_state_dicts_equal(mae, backbone.mae)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.isfinite(backbone(x, patch_mask=_masks(1)).reconstruction).all()
    assert not ViTLatentBackbone.from_mae_pretrained(tmp_path).training  # eval, as from_pretrained gives models


def test_from_mae_pretrained_refuses_what_would_leave_random_weights(tmp_path):
    from transformers import ViTMAEModel

    config = preset_config("tiny").vit_config.mae_config
    ViTMAEModel(config).save_pretrained(tmp_path / "encoder_only")  # no decoder: the latents' decoder_embed
    with pytest.raises(ValueError, match=r"lacks MAE weights \(decoder\..*an encoder-only checkpoint"):
        ViTLatentBackbone.from_mae_pretrained(tmp_path / "encoder_only")
    ViTLatentBackbone(preset_config("tiny").vit_config).save_pretrained(tmp_path / "ours")
    with pytest.raises(ValueError, match=r"holds a 'latent-ofer-vit-latents' model, not a ViT MAE"):
        ViTLatentBackbone.from_mae_pretrained(tmp_path / "ours")


@pytest.mark.parametrize(
    "bad,message",
    [
        (torch.randn(1, 1, 224, 224), "3 channels"),
        (torch.randn(1, 3, 112, 112), "224x224"),
        (torch.randn(3, 224, 224), "4 dimensions"),
        (torch.full((1, 3, 224, 224), float("nan")), "NaN"),
        (torch.zeros(1, 3, 224, 224, dtype=torch.uint8), "floating-point"),
        ([[0.0]], "torch.Tensor"),
    ],
)
def test_bad_pixel_values(backbone, bad, message):
    with input_value_checks(), pytest.raises(ValueError, match=message):  # value checks (NaN) only when asked
        backbone(bad)


def test_bad_patch_mask(backbone):
    x = torch.randn(2, 3, 224, 224)
    with pytest.raises(ValueError, match="shape"):
        backbone(x, patch_mask=torch.zeros(2, 195, dtype=torch.bool))
    with pytest.raises(ValueError, match="batch size"):
        backbone(x, patch_mask=torch.zeros(3, 196, dtype=torch.bool))
    with input_value_checks(), pytest.raises(ValueError, match="0 and 1"):
        backbone(x, patch_mask=torch.full((2, 196), 0.5))


def test_bad_config():
    with pytest.raises(ValueError, match="latent_source"):
        ViTLatentBackboneConfig(latent_source="cls")
    with pytest.raises(ValueError, match="multiple"):
        ViTLatentBackboneConfig(mae_config={"image_size": 100, "patch_size": 16})
    base = preset_config("tiny").vit_config.mae_config.to_dict()
    for change, message in (
        ({"hidden_size": -8}, "mae_config.hidden_size must be a positive integer"),
        ({"image_size": -224}, "mae_config.image_size must be a positive integer"),
        ({"patch_size": 0}, "mae_config.patch_size must be a positive integer"),
        ({"num_attention_heads": 3}, "must be a multiple of num_attention_heads 3"),
        ({"hidden_act": "nope"}, "mae_config.hidden_act must be a transformers activation name"),
        ({"layer_norm_eps": -1.0}, "mae_config.layer_norm_eps must be > 0"),
        ({"initializer_range": -1.0}, "mae_config.initializer_range must be >= 0"),
    ):
        with pytest.raises(ValueError, match=message):
            ViTLatentBackboneConfig(mae_config={**base, **change})
    from latent_ofer_hf import ExpressionRecognizerConfig

    with pytest.raises(ValueError, match="num_labels must be at least 2"):
        ExpressionRecognizerConfig(num_labels=1)
    with pytest.raises(ValueError, match="got -3"):  # the value given, not what transformers makes of it
        ExpressionRecognizerConfig(num_labels=-3)
