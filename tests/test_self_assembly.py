"""Self-assembly layer: the batched production layer against the per-position reference (the oracle)."""

import pytest
import torch

from latent_ofer_hf.models.hybrid_reconstruction import feature_mask_from_pixels, self_assembly, self_assembly_reference


def _masks(batch: int, size: int) -> torch.Tensor:
    """Different mask per sample: lower-face block, none, all, and border-touching shapes."""
    masks = torch.zeros(batch, size, size, dtype=torch.bool)
    masks[0, size // 2 :, 1 : size - 1] = True  # lower-face block
    # masks[1]: nothing masked
    masks[2] = True  # everything masked
    masks[3, 0, :] = True  # top row and right column: touches the borders
    masks[3, :, size - 1] = True
    masks[4] = torch.rand(size, size) < 0.4  # scattered
    return masks


def _inputs(batch=5, channels=6, size=7, dtype=torch.float64):
    features = torch.randn(batch, channels, size, size, dtype=dtype, requires_grad=True)
    mirror = torch.randn(batch, channels, size, size, dtype=dtype, requires_grad=True)
    return features, mirror, _masks(5, size)[:batch]


def test_batched_equals_reference_values_and_gradients():
    features, mirror, masks = _inputs()
    batched = self_assembly(features, mirror, masks)
    reference = self_assembly_reference(features, mirror, masks)
    assert (batched - reference).abs().max() <= 1e-12  # float64: the two agree to rounding (~1e-15)
    weights = torch.randn_like(batched)
    grads_batched = torch.autograd.grad((batched * weights).sum(), [features, mirror])
    grads_reference = torch.autograd.grad((reference * weights).sum(), [features, mirror])
    for got, expected in zip(grads_batched, grads_reference, strict=True):
        assert (got - expected).abs().max() <= 1e-12
    assert grads_batched[1].abs().sum() > 0  # the mirror stream gets gradient (the official layer drops it)


def test_inference_path_equals_reference():
    """Without autograd the layer takes its in-place path; same values, every mask kind (incl. all masked)."""
    features, mirror, masks = _inputs()
    with torch.no_grad():
        batched = self_assembly(features, mirror, masks)
        reference = self_assembly_reference(features, mirror, masks)
    assert (batched - reference).abs().max() <= 1e-12


def test_batched_equals_reference_in_float32_at_larger_size():
    torch.manual_seed(3)
    features = torch.randn(2, 16, 12, 12)
    mirror = torch.randn(2, 16, 12, 12)
    masks = torch.zeros(2, 12, 12, dtype=torch.bool)
    masks[0, 8:, 2:10] = True
    masks[1, 3:6, 0:12] = True
    expected = self_assembly_reference(features, mirror, masks)
    assert (self_assembly(features, mirror, masks) - expected).abs().max() <= 1e-4


def test_unmasked_positions_pass_through_and_masked_change():
    features, mirror, masks = _inputs()
    out = self_assembly(features, mirror, masks).detach()
    keep = ~masks[:, None].expand_as(out)
    assert torch.equal(out[keep], features.detach()[keep])
    assert not torch.allclose(out[0][:, masks[0]], features.detach()[0][:, masks[0]])


def test_degenerate_masks_are_defined():
    features, mirror, _ = _inputs(batch=2)
    none = torch.zeros(2, 7, 7, dtype=torch.bool)
    assert torch.equal(self_assembly(features, mirror, none), features)
    full = torch.ones(2, 7, 7, dtype=torch.bool)
    out = self_assembly(features, mirror, full)
    assert torch.isfinite(out).all()
    assert torch.allclose(out, self_assembly_reference(features, mirror, full))
    zeros = torch.zeros(1, 4, 5, 5, dtype=torch.float64)  # all similarities 0 → every position keeps its feature
    assert torch.equal(self_assembly(zeros, zeros, torch.ones(1, 5, 5, dtype=torch.bool)), zeros)


def test_first_masked_position_mixes_mirror_and_best_known_only():
    features = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    features[0, :, 0, 0] = torch.tensor([1.0, 0.0])  # known
    features[0, :, 0, 1] = torch.tensor([1.0, 1.0])  # masked (first and only)
    features[0, :, 0, 2] = torch.tensor([0.5, 1.0])  # known, the most similar to (1, 1)
    mirror = torch.zeros_like(features)
    mirror[0, :, 0, :] = torch.tensor([[0.0], [2.0]])  # mirror mean at every position = (0, 2)
    mask = torch.tensor([[[False, True, False]]])
    out = self_assembly(features, mirror, mask)[0, :, 0, 1]
    s_mirror = 2**-0.5  # cos((1, 1), (0, 2))
    s_known = 1.5 / (2**0.5 * 1.25**0.5)  # cos((1, 1), (0.5, 1))
    expected = (s_mirror * torch.tensor([0.0, 2.0]) + s_known * torch.tensor([0.5, 1.0])) / (s_mirror + s_known)
    assert torch.allclose(out, expected.double())


def test_second_masked_position_also_mixes_the_previous_output():
    """Eq. 3's third term, by hand: the second masked position mixes the mirror mean, the best known feature and
    the output just generated at the first masked position (raster order)."""
    features = torch.zeros(1, 2, 1, 3, dtype=torch.float64)
    features[0, :, 0, 0] = torch.tensor([1.0, 0.0])  # known: k
    features[0, :, 0, 1] = torch.tensor([1.0, 1.0])  # masked, first
    features[0, :, 0, 2] = torch.tensor([2.0, 1.0])  # masked, second
    mirror = torch.zeros_like(features)
    mirror[0, 1] = 1.0  # mirror (0, 1) everywhere, so its 3×3 mean m = (0, 1) at every position
    mask = torch.tensor([[[False, True, True]]])
    k, m = torch.tensor([1.0, 0.0], dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64)
    # first: cos((1,1), m) = cos((1,1), k) = 1/√2 and no previous output → the mean of m and k
    first = (m + k) / 2
    # second, p = (2, 1): cos(p, m) = 1/√5, cos(p, k) = 2/√5, cos(p, first = (½, ½)) = 3/√10
    w_m, w_k, w_prev = 5**-0.5, 2 * 5**-0.5, 3 * 10**-0.5
    second = (w_m * m + w_k * k + w_prev * first) / (w_m + w_k + w_prev)
    for layer in (self_assembly, self_assembly_reference):
        out = layer(features, mirror, mask)[0, :, 0]
        torch.testing.assert_close(out[:, 1], first, rtol=0, atol=1e-12)
        torch.testing.assert_close(out[:, 2], second, rtol=0, atol=1e-12)
        assert torch.equal(out[:, 0], k)


def test_feature_mask_from_pixels_matches_official_pooling():
    pixel_mask = torch.zeros(1, 1, 64, 64, dtype=torch.bool)
    pixel_mask[..., 32:, :] = True
    feature_mask = feature_mask_from_pixels(pixel_mask, levels=3, threshold=5 / 16)
    assert feature_mask.shape == (1, 8, 8)
    assert feature_mask[0, 4:].all() and not feature_mask[0, :4].any()
    assert not feature_mask_from_pixels(torch.zeros(1, 1, 64, 64), 3, 5 / 16).any()


def test_wrong_shapes_raise_clear_errors():
    features = torch.randn(1, 4, 5, 5)
    with pytest.raises(ValueError, match="mirror_features"):
        self_assembly(features, torch.randn(1, 4, 5, 6), torch.zeros(1, 5, 5, dtype=torch.bool))
    with pytest.raises(ValueError, match="feature_mask"):
        self_assembly(features, features, torch.zeros(1, 4, 4, dtype=torch.bool))


def test_half_precision_inputs_are_computed_in_float32():
    """Squared norms of large 512-d features overflow float16; the layer must not silently become the identity."""
    torch.manual_seed(1)
    features, mirror = torch.randn(1, 512, 8, 8) * 20, torch.randn(1, 512, 8, 8) * 20
    mask = torch.zeros(1, 8, 8, dtype=torch.bool)
    mask[0, 5:, 2:6] = True
    expected = self_assembly(features, mirror, mask)
    for dtype in (torch.float16, torch.bfloat16):
        got = self_assembly(features.to(dtype), mirror.to(dtype), mask)
        assert got.dtype == dtype and torch.isfinite(got).all()
        assert (got.float() - expected).abs().max() <= 0.02 * expected.abs().max()


def test_inplace_writes_into_a_channels_last_half_and_matches():
    """The U-Net's inference call: the face half of a channels-last conv output is overwritten with the result."""
    torch.manual_seed(4)
    conv_output = torch.randn(5, 12, 7, 7, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    face, mirror = conv_output.chunk(2, dim=1)
    masks = _masks(5, 7)
    expected = self_assembly_reference(face, mirror, masks)
    mirror_before = mirror.clone()
    with torch.no_grad():
        got = self_assembly(face, mirror, masks, inplace=True)
    assert got.data_ptr() == face.data_ptr()  # written into the input, no new map
    assert (got - expected).abs().max() <= 1e-10 and (face - expected).abs().max() <= 1e-10
    assert torch.equal(mirror, mirror_before)


def test_inplace_falls_back_to_a_new_tensor_unless_position_major_and_refuses_autograd():
    features, mirror, masks = _inputs()
    expected = self_assembly_reference(features, mirror, masks).detach()
    nchw, before = features.detach().clone(), features.detach().clone()
    with torch.no_grad():
        got = self_assembly(nchw, mirror.detach(), masks, inplace=True)  # NCHW: not position-major, a new result
        single = self_assembly(nchw[:1], mirror.detach()[:1], masks[:1], inplace=True)  # NCHW at batch 1 too
        shared = torch.randn(1, 6, 7, 7, dtype=torch.float64).expand(2, -1, -1, -1)  # overlapping rows
        from_shared = self_assembly(shared, shared, masks[:2], inplace=True)
    assert (got - expected).abs().max() <= 1e-10 and (single - expected[:1]).abs().max() <= 1e-10
    assert torch.equal(nchw, before)
    assert (from_shared - self_assembly_reference(shared, shared, masks[:2])).abs().max() <= 1e-10
    with pytest.raises(ValueError, match="autograd"):
        self_assembly(features, mirror, masks, inplace=True)


def test_equal_mask_sizes_and_padding_steps_agree():
    """Batches where every sample has the same masked count (no padding step) and where counts differ."""
    torch.manual_seed(5)
    features, mirror = torch.randn(3, 8, 6, 6, dtype=torch.float64), torch.randn(3, 8, 6, 6, dtype=torch.float64)
    same = torch.zeros(3, 6, 6, dtype=torch.bool)
    same[0, 4:, 1:5], same[1, 0, :4], same[1, 1, :4], same[2, :, 5], same[2, :2, 0] = True, True, True, True, True
    uneven = same.clone()
    uneven[2] = False
    for masks in (same, uneven):
        with torch.no_grad():
            got = self_assembly(features, mirror, masks)
        assert (got - self_assembly_reference(features, mirror, masks)).abs().max() <= 1e-10
