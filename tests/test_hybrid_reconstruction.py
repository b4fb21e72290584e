"""Hybrid reconstruction network (U-Net + self-assembly), its discriminators and losses, and the RePaint backend."""

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_state_dicts_equal, weight_files
from transformers import AutoModel

from latent_ofer_hf import (
    HybridReconstructionConfig,
    HybridReconstructionNetwork,
    LatentOferModel,
    ReconstructionDiscriminators,
    ReconstructionDiscriminatorsConfig,
    RePaintReconstructor,
    RePaintReconstructorConfig,
    input_value_checks,
    preset_config,
)
from latent_ofer_hf.models.hybrid_reconstruction import (
    consistency_loss,
    discriminator_loss,
    generator_losses,
    recognizer_teacher,
    relativistic_discriminator_loss,
    relativistic_generator_loss,
    semantic_consistency_loss,
)

TINY = {"image_size": 64, "ngf": 4, "num_downs": 6, "assembly_level": 3}
TINY_DISCRIMINATORS = {
    "ndf": 4,
    "feature_width": 8,
    "feature_backbone_config": {"layer_type": "basic", "depths": [1, 1], "hidden_sizes": [8, 16], "embedding_size": 8},
}
TINY_UNET = {
    "sample_size": 32,
    "block_out_channels": [8, 16],
    "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
    "up_block_types": ["AttnUpBlock2D", "UpBlock2D"],
    "layers_per_block": 1,
    "norm_num_groups": 4,
    "attention_head_dim": 4,
}


def _masks(batch: int) -> torch.Tensor:
    masks = torch.zeros(batch, 14, 14, dtype=torch.bool)
    masks[0, 9:, 3:11] = True  # lower face
    if batch > 1:
        masks[1, 2:5, :] = True  # eyes band, touching both borders
    if batch > 2:
        masks[2, :, :7] = True  # left half
    return masks


def _tiny_network() -> HybridReconstructionNetwork:
    return HybridReconstructionNetwork(HybridReconstructionConfig(**TINY)).eval()


# ------------------------------------------------------------------------------------------------ architecture
def test_paper_sizes_match_the_official_networks():
    with torch.device("meta"):
        generator = HybridReconstructionNetwork(HybridReconstructionConfig())
        discriminators = ReconstructionDiscriminators(
            ReconstructionDiscriminatorsConfig(
                feature_backbone_config={"layer_type": "basic", "depths": [2, 2], "hidden_sizes": [64, 256]}
            )
        )
    assert (
        sum(p.numel() for p in generator.parameters()) == 86_479_363
    )  # UnetGeneratorHybrid, docs/method.md#refinement-u-net
    assert sum(p.numel() for p in discriminators.image_discriminator.parameters()) == 2_766_529
    # with 256 input channels (VGG relu3_3's width) F has the official PFDiscriminator's size
    assert sum(p.numel() for p in discriminators.feature_discriminator.parameters()) == 10_487_296
    assert generator.config.assembly_size == 32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_size": 224, "num_downs": 8}, "divisible"),
        ({"assembly_level": 8}, "below num_downs"),
        ({"assembly_level": 4}, "max_channel_multiplier"),
        ({"ngf": 0}, "ngf"),
        ({"lambda_sc": -1.0}, "lambda_sc"),
    ],
)
def test_config_rejects_inconsistent_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HybridReconstructionConfig(**kwargs)


# ------------------------------------------------------------------------------------------------------ forward
@pytest.mark.parametrize("batch", [1, 3])
def test_forward_shapes_and_visible_pixels_kept(batch):
    network = _tiny_network()
    x, coarse = torch.randn(batch, 3, 224, 224), torch.randn(batch, 3, 224, 224)
    with torch.no_grad():
        out = network(x, coarse_pixel_values=coarse, patch_mask=_masks(batch), target_pixel_values=x)
    assert out.reconstruction.shape == x.shape and out.generated.shape == (batch, 3, 64, 64)
    assert out.feature_mask.shape == (batch, 8, 8) and out.assembly_features.shape == (batch, 32, 8, 8)
    visible = ~out.pixel_mask.expand_as(x)
    assert torch.equal(out.reconstruction[visible], x[visible])
    assert not torch.allclose(out.reconstruction[~visible], x[~visible])
    assert out.loss is not None and torch.isfinite(out.loss)
    # the feature mask follows each sample's own hole (no first-sample cache, docs/method.md#official-code-deviations)
    if batch > 1:
        assert not torch.equal(out.feature_mask[0], out.feature_mask[1])


def test_works_at_the_system_resolution_224():
    network = HybridReconstructionNetwork(HybridReconstructionConfig(image_size=224, ngf=4, num_downs=5)).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = network(x, coarse_pixel_values=x, patch_mask=_masks(2))
    assert out.generated.shape == (2, 3, 224, 224) and out.feature_mask.shape == (2, 28, 28)


def test_batch_equals_one_by_one():
    network = _tiny_network()
    network.disable_slicing()  # the whole batch through the U-Net at once (the CPU default slices it)
    x, coarse, masks = torch.randn(3, 3, 224, 224), torch.randn(3, 3, 224, 224), _masks(3)
    with torch.no_grad():
        batched = network(x, coarse_pixel_values=coarse, patch_mask=masks).reconstruction
        single = torch.cat(
            [
                network(x[i : i + 1], coarse_pixel_values=coarse[i : i + 1], patch_mask=masks[i : i + 1]).reconstruction
                for i in range(3)
            ]
        )
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)


def test_mirror_stream_flips_width_only_and_uses_the_coarse_fill_in_the_hole():
    network = _tiny_network()
    image, coarse = torch.randn(2, 3, 8, 8), torch.randn(2, 3, 8, 8)
    hole = torch.zeros(2, 1, 8, 8, dtype=torch.bool)
    hole[:, :, 4:] = True
    inputs = network._network_inputs(image, coarse, hole)
    assert torch.equal(inputs[:, 6:9], inputs[:, 0:3].flip(-1))  # color order kept (the official flip reverses RGB)
    assert torch.equal(inputs[:, 9:12], inputs[:, 3:6].flip(-1))
    assert torch.equal(inputs[:, :3, 4:], coarse[:, :, 4:]) and torch.equal(inputs[:, :3, :4], image[:, :, :4])
    assert (inputs[:, 3:6, 4:] == 0).all() and torch.equal(inputs[:, 3:6, :4], image[:, :, :4])


def test_degenerate_holes_are_defined():
    network = _tiny_network()
    x, coarse = torch.randn(2, 3, 224, 224), torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        empty = network(x, coarse_pixel_values=coarse, patch_mask=torch.zeros(2, 196, dtype=torch.bool))
        full = network(x, coarse_pixel_values=coarse, patch_mask=torch.ones(2, 196, dtype=torch.bool))
    assert torch.equal(empty.reconstruction, x) and not empty.feature_mask.any()
    assert torch.isfinite(full.reconstruction).all() and full.feature_mask.all()


def test_pixel_mask_input_for_free_form_holes():
    network = _tiny_network()
    x = torch.randn(1, 3, 224, 224)
    hole = torch.zeros(1, 1, 224, 224, dtype=torch.bool)
    hole[..., 100:180, 40:90] = True
    with torch.no_grad():
        out = network(x, coarse_pixel_values=x, pixel_mask=hole)
    visible = ~hole.expand_as(x)
    assert torch.equal(out.pixel_mask, hole) and torch.equal(out.reconstruction[visible], x[visible])


def test_bad_inputs_raise_clear_errors():
    network = _tiny_network()
    x = torch.randn(1, 3, 224, 224)
    with pytest.raises(ValueError, match="coarse_pixel_values is required"):
        network(x, patch_mask=_masks(1))
    with pytest.raises(ValueError, match="exactly one"):
        network(x, coarse_pixel_values=x)
    with pytest.raises(ValueError, match="exactly one"):
        network(x, coarse_pixel_values=x, patch_mask=_masks(1), pixel_mask=torch.zeros(1, 1, 224, 224))
    with pytest.raises(ValueError, match="pixel_mask must have shape"):
        network(x, coarse_pixel_values=x, pixel_mask=torch.zeros(1, 1, 100, 100))
    with input_value_checks(), pytest.raises(ValueError, match="NaN"):  # value checks only when asked
        network(torch.full_like(x, float("nan")), coarse_pixel_values=x, patch_mask=_masks(1))
    with pytest.raises(ValueError, match="channels"):
        network(torch.randn(1, 4, 224, 224), coarse_pixel_values=x, patch_mask=_masks(1))
    three = torch.randn(3, 3, 224, 224)
    for targets in (1, 5):  # one target per face, sliced or not (a wrong count once gave a silent NaN loss)
        with pytest.raises(ValueError, match="one target per face"):
            network(
                three,
                coarse_pixel_values=three,
                patch_mask=_masks(3),
                target_pixel_values=torch.randn(targets, 3, 224, 224),
            )


# ---------------------------------------------------------------------------------------------- save and load
def test_residual_refinement_starts_at_the_mae_fill_and_adds_its_correction_at_full_resolution(tmp_path):
    network = HybridReconstructionNetwork(HybridReconstructionConfig(**TINY, residual_refinement=True)).eval()
    torch.manual_seed(0)
    x, coarse, masks = torch.randn(2, 3, 224, 224), torch.randn(2, 3, 224, 224), _masks(2)
    with torch.no_grad():
        out = network(x, coarse_pixel_values=coarse, patch_mask=masks)
    hole = out.pixel_mask.expand_as(x)
    assert torch.allclose(out.reconstruction, torch.where(hole, coarse, x), atol=1e-5)  # untrained = the MAE fill
    assert torch.equal(out.generated, out.coarse)
    # one training step moves the zero head, and then the correction is added to the full-resolution fill
    network.train()
    loss = network(x, coarse_pixel_values=coarse, patch_mask=masks, target_pixel_values=torch.zeros_like(x)).loss
    loss.backward()
    assert network.unet.head[1].weight.grad.abs().sum() > 0
    with torch.no_grad():
        for parameter in network.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)
        out = network.eval()(x, coarse_pixel_values=coarse, patch_mask=masks)
        correction = F.interpolate(out.generated - out.coarse, size=(224, 224), mode="bilinear", align_corners=False)
        expected = network.to_unit_range(coarse) + correction
        assert torch.allclose(network.to_unit_range(out.reconstruction)[hole], expected[hole], atol=1e-4)
        assert not torch.allclose(out.reconstruction[hole], coarse[hole], atol=1e-3)
    network.save_pretrained(tmp_path / "net")  # the trained head is loaded, not zeroed again
    assert_state_dicts_equal(network, AutoModel.from_pretrained(tmp_path / "net"))


def test_save_load_exact_network_and_discriminators(tmp_path):
    network = _tiny_network()
    with torch.no_grad():  # move every parameter away from its initial value
        for parameter in network.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.01)
    network.save_pretrained(tmp_path / "net")
    assert weight_files(tmp_path / "net") == ["model.safetensors"]
    reloaded = AutoModel.from_pretrained(tmp_path / "net")
    assert isinstance(reloaded, HybridReconstructionNetwork)
    assert_state_dicts_equal(network, reloaded)

    discriminators = ReconstructionDiscriminators(ReconstructionDiscriminatorsConfig(**TINY_DISCRIMINATORS))
    discriminators.save_pretrained(tmp_path / "disc")
    assert weight_files(tmp_path / "disc") == ["model.safetensors"]
    assert_state_dicts_equal(discriminators, AutoModel.from_pretrained(tmp_path / "disc"))


# ------------------------------------------------------------------------------------------------------- losses
def _teacher_setup():
    system = LatentOferModel(preset_config("tiny"))
    network, recognizer = system.reconstructor.train(), system.recognizer
    clean = torch.randn(2, 3, 224, 224)
    masks = _masks(2)
    occluded = clean.masked_fill(masks.repeat_interleave(16, 1).repeat_interleave(16, 2)[:, None], 0.0)
    with torch.no_grad():
        latents = system.vit(clean).patch_latents
        coarse = system.vit.fill(occluded, masks)
    return network, recognizer, clean, occluded, coarse, masks, latents


def _generator_grad_norm(network, loss) -> float:
    grads = torch.autograd.grad(loss, [p for p in network.parameters()], retain_graph=True, allow_unused=True)
    return sum(float(g.abs().sum()) for g in grads if g is not None)


def test_semantic_and_consistency_losses_reach_the_generator():
    network, recognizer, clean, occluded, coarse, masks, latents = _teacher_setup()
    teacher = recognizer_teacher(recognizer, latents)
    out = network(occluded, coarse_pixel_values=coarse, patch_mask=masks)
    losses = generator_losses(network, out, clean, teacher=teacher)
    assert losses.semantic_consistency > 0 and losses.consistency > 0
    assert _generator_grad_norm(network, losses.semantic_consistency) > 0  # the official L_sc is detached
    assert _generator_grad_norm(network, losses.consistency) > 0  # the official L_c is a constant
    assert all(not p.requires_grad for p in recognizer.parameters())  # the teacher stays frozen
    expected = (
        network.config.lambda_re * losses.reconstruction
        + network.config.lambda_c * losses.consistency
        + network.config.lambda_sc * losses.semantic_consistency
    )
    torch.testing.assert_close(losses.total, expected)


def test_adversarial_losses_train_generator_and_discriminators_apart():
    network, _, clean, occluded, coarse, masks, _ = _teacher_setup()
    discriminators = ReconstructionDiscriminators(ReconstructionDiscriminatorsConfig(**TINY_DISCRIMINATORS)).train()
    assert not discriminators.feature_backbone.training
    out = network(occluded, coarse_pixel_values=coarse, patch_mask=masks)
    losses = generator_losses(network, out, clean, discriminators=discriminators)
    assert losses.adversarial is not None and _generator_grad_norm(network, losses.adversarial) > 0
    d_loss = discriminator_loss(network, discriminators, out, clean)
    d_loss.backward()
    assert all(p.grad is None for p in network.parameters())  # the D step never reaches G
    assert all(p.grad is None for p in discriminators.feature_backbone.parameters())  # frozen network
    assert all(p.grad is not None for p in discriminators.trainable_parameters())
    backbone_ids = {id(p) for p in discriminators.feature_backbone.parameters()}
    assert not backbone_ids & {id(p) for p in discriminators.trainable_parameters()}


def test_relativistic_lsgan_values():
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, -2.0])  # means 2 and -1
    expected_d = 0.5 * (((real + 1 - 1) ** 2).mean() + ((fake - 2 + 1) ** 2).mean())
    expected_g = 0.5 * (((real + 1 + 1) ** 2).mean() + ((fake - 2 - 1) ** 2).mean())
    torch.testing.assert_close(relativistic_discriminator_loss(real, fake), expected_d)
    torch.testing.assert_close(relativistic_generator_loss(real, fake), expected_g)


def test_semantic_consistency_is_the_soft_cross_entropy():
    logits_by_image = {0: torch.tensor([[2.0, 0.0, -1.0]]), 1: torch.tensor([[0.0, 1.0, 0.0]])}
    teacher = lambda images: logits_by_image[int(images.flatten()[0])]  # noqa: E731
    loss = semantic_consistency_loss(teacher, torch.ones(1, 1), torch.zeros(1, 1))
    target = torch.softmax(logits_by_image[0], -1)
    torch.testing.assert_close(loss, -(target * torch.log_softmax(logits_by_image[1], -1)).sum())


def test_consistency_loss_counts_masked_positions_only():
    features, target = torch.zeros(1, 2, 2, 2), torch.zeros(1, 2, 2, 2)
    target[0, :, 0, 0] = 3.0  # a masked position
    target[0, :, 1, 1] = 100.0  # an unmasked position: ignored
    mask = torch.tensor([[[True, False], [False, False]]])
    torch.testing.assert_close(consistency_loss(features, target, mask), torch.tensor(9.0))
    assert consistency_loss(features, target, torch.zeros_like(mask)) == 0


# ---------------------------------------------------------------------------------------------------- RePaint
def _tiny_repaint() -> RePaintReconstructor:
    config = RePaintReconstructorConfig(unet_config=TINY_UNET, num_inference_steps=4, jump_length=2, jump_n_sample=2)
    return RePaintReconstructor(config).eval()


def test_repaint_backend_contract_and_determinism(tmp_path):
    backend = _tiny_repaint()
    x = torch.randn(2, 3, 224, 224)
    first = backend(x, patch_mask=_masks(2), generator=torch.Generator().manual_seed(0))
    again = backend(x, patch_mask=_masks(2), generator=torch.Generator().manual_seed(0))
    assert first.reconstruction.shape == x.shape and torch.isfinite(first.reconstruction).all()
    assert torch.equal(first.reconstruction, again.reconstruction)
    visible = ~first.pixel_mask.expand_as(x)
    assert torch.equal(first.reconstruction[visible], x[visible])
    backend.save_pretrained(tmp_path)
    assert weight_files(tmp_path) == ["model.safetensors"]
    assert_state_dicts_equal(backend, AutoModel.from_pretrained(tmp_path))
    # its remote code is the RePaint backend and the shared contract only: no U-Net, no self-assembly layer
    code = sorted(path.name for path in tmp_path.glob("*.py"))
    assert "modeling_repaint_reconstruction.py" in code and "reconstruction.py" in code
    assert not {"modeling_hybrid_reconstruction.py", "self_assembly.py", "unet_blocks.py"} & set(code), code


def test_repaint_from_a_local_diffusers_ddpm(tmp_path):
    from diffusers import DDPMScheduler, UNet2DModel

    unet = UNet2DModel(**TINY_UNET)
    unet.save_pretrained(tmp_path)
    DDPMScheduler(num_train_timesteps=500, beta_end=0.03).save_pretrained(tmp_path)
    backend = RePaintReconstructor.from_diffusers(tmp_path, num_inference_steps=3)
    assert_state_dicts_equal(unet, backend.unet)
    assert backend.config.scheduler_config["num_train_timesteps"] == 500
    assert backend.config.num_inference_steps == 3


def test_composite_reconstruction_modes():
    system = LatentOferModel(preset_config("tiny")).eval()
    assert system.config.reconstruction == "hybrid"
    x, masks = torch.randn(2, 3, 224, 224), _masks(2)
    with torch.no_grad():
        hybrid = system.reconstruct(x, masks)
        mae = system.reconstruct(x, masks, reconstruction="mae")
        for mode in ("hybrid", "mae", "none"):
            assert system(x, reconstruction=mode).logits.shape == (2, 7)
    assert hybrid.generated is not None and mae.generated is None
    assert not torch.allclose(hybrid.reconstruction, mae.reconstruction)
    with pytest.raises(ValueError, match="needs a RePaintReconstructorConfig"):
        system(x, reconstruction="diffusion")

    diffusion = LatentOferModel.from_components(
        system.vit, system.detector, system.recognizer, reconstructor=_tiny_repaint()
    )
    assert diffusion.config.reconstruction == "diffusion"
    out = diffusion.reconstruct(x, masks, generator=torch.Generator().manual_seed(0))
    assert out.reconstruction.shape == x.shape
    bare = LatentOferModel.from_components(system.vit, system.detector, system.recognizer)
    assert bare.reconstructor is None and bare.config.reconstruction == "mae"
    with pytest.raises(ValueError, match="needs a HybridReconstructionConfig"):
        bare(x, reconstruction="hybrid")


def test_composite_with_diffusion_backend_saves_and_loads(tmp_path):
    system = LatentOferModel(preset_config("tiny"))
    diffusion = LatentOferModel.from_components(
        system.vit, system.detector, system.recognizer, reconstructor=_tiny_repaint()
    )
    diffusion.save_pretrained(tmp_path)
    reloaded = LatentOferModel.from_pretrained(tmp_path)
    assert isinstance(reloaded.reconstructor, RePaintReconstructor)
    assert reloaded.config.reconstruction == "diffusion"
    assert_state_dicts_equal(diffusion, reloaded)
    x, masks = torch.randn(1, 3, 224, 224), _masks(1)
    with torch.no_grad():  # the same sampler with the same seed: the reloaded system fills the hole the same way
        before = diffusion.eval().reconstruct(x, masks, generator=torch.Generator().manual_seed(3)).reconstruction
        after = reloaded.reconstruct(x, masks, generator=torch.Generator().manual_seed(3)).reconstruction
    # equal up to float rounding: weights read from disk sit at other memory alignments than freshly allocated ones,
    # and AVX-512 convolution kernels then sum in another order (measured: 7e-7 per U-Net call, 5e-6 after sampling;
    # the same weights cloned into fresh memory give bit-identical output)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-4)
    assert not torch.equal(before, x)


def test_frozen_feature_network_statistics_never_move():
    discriminators = ReconstructionDiscriminators(ReconstructionDiscriminatorsConfig(**TINY_DISCRIMINATORS))
    assert not discriminators.feature_backbone.training
    before = {k: v.clone() for k, v in discriminators.feature_backbone.state_dict().items()}
    discriminators.frozen_features(torch.randn(4, 3, 64, 64))
    discriminators.train()(torch.randn(2, 3, 64, 64))
    after = discriminators.feature_backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_composite_forward_passes_reconstruction_kwargs_and_rejects_unknown_ones():
    system = LatentOferModel(preset_config("tiny"))
    diffusion = LatentOferModel.from_components(
        system.vit, system.detector, system.recognizer, reconstructor=_tiny_repaint()
    ).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        runs = [
            diffusion(x, reconstruction_kwargs={"generator": torch.Generator().manual_seed(0)}).reconstruction
            for _ in range(2)
        ]
        assert torch.equal(runs[0], runs[1])
        with pytest.raises(TypeError, match="reconstuction"):
            diffusion(x, reconstuction="none")


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_attention_implementation_reaches_the_vit_only(tmp_path, attention):
    LatentOferModel(preset_config("tiny")).save_pretrained(tmp_path)
    loaded = LatentOferModel.from_pretrained(tmp_path, attn_implementation=attention)
    assert loaded.vit.config._attn_implementation == attention


def test_inference_in_place_self_assembly_equals_the_autograd_forward():
    """Without autograd the U-Net lets the layer overwrite its conv output; the result must not change."""
    network = _tiny_network()
    x, coarse, masks = torch.randn(3, 3, 224, 224), torch.randn(3, 3, 224, 224), _masks(3)
    with torch.no_grad():
        fast = network(x, coarse_pixel_values=coarse, patch_mask=masks)
    slow = network(x, coarse_pixel_values=coarse, patch_mask=masks)  # parameters require grad: no in-place path
    assert slow.reconstruction.requires_grad
    torch.testing.assert_close(fast.reconstruction, slow.reconstruction.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(fast.assembly_features, slow.assembly_features.detach(), atol=1e-5, rtol=1e-5)


def test_slicing_gives_the_batched_results_and_loss():
    network = _tiny_network()
    x, coarse, target, masks = (
        torch.randn(3, 3, 224, 224),
        torch.randn(3, 3, 224, 224),
        torch.randn(3, 3, 224, 224),
        _masks(3),
    )
    assert network._slices(3, torch.device("cpu")) is None  # a tiny U-Net: whole batches even on CPU
    assert network._slices(3, torch.device("cuda")) is None
    large = HybridReconstructionNetwork(HybridReconstructionConfig(image_size=256, ngf=32, num_downs=8))
    assert large._slices(3, torch.device("cpu")) == 1 and large._slices(3, torch.device("cuda")) is None  # base
    assert large._slices(1, torch.device("cpu")) is None  # a single face needs no slicing
    network.disable_slicing()
    whole = network(x, coarse_pixel_values=coarse, patch_mask=masks, target_pixel_values=target)
    network.enable_slicing(2)  # slices of 2 and 1
    sliced = network(x, coarse_pixel_values=coarse, patch_mask=masks, target_pixel_values=target)
    assert set(sliced.keys()) == set(whole.keys())
    for name in whole.keys():
        torch.testing.assert_close(sliced[name], whole[name], atol=1e-5, rtol=1e-5)
    sliced.loss.backward()  # one graph through the slices
    assert network.unet.stem.weight.grad.abs().sum() > 0
    network.reset_slicing()
    assert network.slice_size == "auto"
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="slice_size"):
            network.enable_slicing(bad)
