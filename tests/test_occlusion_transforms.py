"""Occlusion protocols (paper §1 Fig. 1, §4.1, §5): random patches, grad occlusion, free-form masks, object paste."""

from __future__ import annotations

import dataclasses
from functools import partial

import numpy as np
import pytest
import torch
from PIL import Image

from latent_ofer_hf.data.occlusion import (
    IMAGENET_MEAN_RGB,
    NVIDIA_COVERAGE_BUCKETS,
    GradCAM,
    ObjectPaste,
    OcclusionResult,
    OcclusionTransform,
    anchor_point,
    as_dataset_transform,
    example_rng,
    free_form_mask,
    free_form_occlusion,
    grad_occlusion,
    load_occluder_images,
    paste_occluder,
    patch_to_pixel_mask,
    pixel_to_patch_mask,
    random_patch_mask,
    random_patch_occlusion,
    top_patches_from_cam,
)

SIZE = 224


def make_image(seed: int = 0, size: int = SIZE, low: int = 1, high: int = 200) -> np.ndarray:
    """Procedural test image with values in [low, high) (so black and magenta fills are always visible)."""
    return np.random.default_rng(seed).integers(low, high, size=(size, size, 3), dtype=np.uint8)


def disc_occluder(diameter: int, color=(255, 0, 255), alpha: int = 255) -> np.ndarray:
    yy, xx = np.mgrid[:diameter, :diameter]
    center = (diameter - 1) / 2
    inside = (yy - center) ** 2 + (xx - center) ** 2 <= (diameter / 2) ** 2
    occluder = np.zeros((diameter, diameter, 4), dtype=np.uint8)
    occluder[..., :3] = color
    occluder[..., 3] = np.where(inside, alpha, 0)
    return occluder


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    padded = np.pad(mask, radius)
    out = np.zeros_like(mask)
    for dy in range(2 * radius + 1):
        for dx in range(2 * radius + 1):
            out |= padded[dy : dy + mask.shape[0], dx : dx + mask.shape[1]]
    return out


def results_equal(a: OcclusionResult, b: OcclusionResult) -> bool:
    return (
        np.array_equal(np.asarray(a.image), np.asarray(b.image))
        and np.array_equal(a.pixel_mask, b.pixel_mask)
        and np.array_equal(a.patch_mask, b.patch_mask)
    )


# --------------------------------------------------------------------------------------------- masks


def test_pixel_to_patch_mask_threshold_and_round_trip():
    pixel = np.zeros((SIZE, SIZE), dtype=bool)
    pixel[0:8, 0:16] = True  # patch (0, 0): exactly half
    pixel[16:23, 16:32] = True  # patch (1, 1): 112 / 256 < half
    pixel[200, 200] = True  # patch (12, 12): a single pixel
    patch = pixel_to_patch_mask(pixel)
    assert patch.shape == (14, 14) and patch.dtype == bool
    assert patch[0, 0] and not patch[1, 1] and not patch[12, 12] and patch.sum() == 1
    assert pixel_to_patch_mask(pixel, min_fraction=1e-9).sum() == 3
    assert pixel_to_patch_mask(pixel, min_fraction=1.0).sum() == 0

    mask = np.random.default_rng(0).random((14, 14)) < 0.4
    expanded = patch_to_pixel_mask(mask, SIZE)
    assert expanded.shape == (SIZE, SIZE)
    assert np.array_equal(expanded[::16, ::16], mask) and expanded.sum() == mask.sum() * 256
    assert np.array_equal(pixel_to_patch_mask(expanded, min_fraction=1.0), mask)
    assert np.array_equal(patch_to_pixel_mask(mask.ravel(), SIZE), expanded)


# --------------------------------------------------------------------------------------------- random patches


@pytest.mark.parametrize(("ratio", "expected"), [(0.0, 0), (0.1, 20), (0.3, 59), (0.5, 98), (1.0, 196)])
def test_random_patch_count_is_exact(ratio, expected):
    assert random_patch_mask(ratio, seed=3).sum() == expected
    assert random_patch_occlusion(make_image(), ratio, seed=3).patch_mask.sum() == expected


def test_random_patch_pixels_and_masks_align():
    image = make_image()
    result = random_patch_occlusion(image, 0.3, seed=1)
    out = result.image
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == image.shape
    assert np.array_equal(result.pixel_mask, patch_to_pixel_mask(result.patch_mask, SIZE))
    assert (out[result.pixel_mask] == 0).all()  # default fill: black
    assert np.array_equal(out[~result.pixel_mask], image[~result.pixel_mask])
    assert np.array_equal((out != image).any(axis=2), result.pixel_mask)
    assert image.min() >= 1  # the input was not modified in place


def test_random_patch_fills_and_pil_round_trip():
    image = make_image()
    pil = Image.fromarray(image)
    result = random_patch_occlusion(pil, 0.25, seed=2, fill="mean")
    assert isinstance(result.image, Image.Image) and result.image.mode == "RGB"
    out = np.asarray(result.image)
    assert (out[result.pixel_mask] == IMAGENET_MEAN_RGB).all()
    assert np.array_equal(out[~result.pixel_mask], image[~result.pixel_mask])
    colored = random_patch_occlusion(image, 0.25, seed=2, fill=(255, 0, 255))
    assert np.array_equal(colored.patch_mask, result.patch_mask)  # fill does not change the patches
    assert (colored.image[colored.pixel_mask] == (255, 0, 255)).all()
    noisy = random_patch_occlusion(image, 0.25, seed=2, fill="noise")
    assert np.array_equal(noisy.patch_mask, result.patch_mask)
    assert len(np.unique(noisy.image[noisy.pixel_mask].reshape(-1, 3), axis=0)) > 1000


def test_random_patch_other_grid():
    result = random_patch_occlusion(make_image(size=64), 0.5, seed=0, grid=8)
    assert result.patch_mask.shape == (8, 8) and result.patch_mask.sum() == 32
    assert np.array_equal(result.pixel_mask, patch_to_pixel_mask(result.patch_mask, 64))


# --------------------------------------------------------------------------------------------- grad occlusion


def test_top_patches_from_known_cam():
    rng = np.random.default_rng(0)
    scores = rng.permutation(196).reshape(14, 14).astype(np.float64)
    cam = np.kron(scores, np.ones((16, 16)))  # constant within each patch
    mask = top_patches_from_cam(cam, 0.3)
    assert mask.sum() == 59
    assert np.array_equal(mask, scores >= 196 - 59)
    # a CAM at a lower resolution, and ties broken by patch index
    flat = np.zeros((112, 112))
    assert np.array_equal(np.flatnonzero(top_patches_from_cam(flat, 0.05)), np.arange(10))
    tied = np.zeros((14, 14))
    tied[5, 5] = tied[2, 7] = tied[9, 1] = 1.0
    mask = top_patches_from_cam(np.kron(tied, np.ones((4, 4))), 2 / 196)
    assert set(np.flatnonzero(mask)) == {2 * 14 + 7, 5 * 14 + 5}


def test_grad_occlusion_masks_top_k_of_a_cam():
    image = make_image()
    yy, xx = np.mgrid[:SIZE, :SIZE]
    cam = np.exp(-((yy - 60.0) ** 2 + (xx - 150.0) ** 2) / (2 * 30.0**2))
    result = grad_occlusion(image, cam, ratio=0.1)
    assert np.array_equal(result.patch_mask, top_patches_from_cam(cam, 0.1))
    assert result.patch_mask.sum() == 20 and result.patch_mask[60 // 16, 150 // 16]
    assert np.array_equal(result.pixel_mask, patch_to_pixel_mask(result.patch_mask, SIZE))
    assert (result.image[result.pixel_mask] == 0).all()
    assert np.array_equal(result.image[~result.pixel_mask], image[~result.pixel_mask])
    via_callable = grad_occlusion(Image.fromarray(image), lambda img: cam, ratio=0.1)
    assert isinstance(via_callable.image, Image.Image)
    assert np.array_equal(via_callable.patch_mask, result.patch_mask)


class QuadrantNet(torch.nn.Module):
    """Sees only the top-left quadrant of its input; class 0 has positive weights, class 1 negative ones."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, kernel_size=4, stride=4, bias=False)
        self.act = torch.nn.ReLU()
        self.head = torch.nn.Linear(4, 2, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.rand_like(self.conv.weight) + 0.1)
            self.head.weight.copy_(torch.tensor([[1.0, 2.0, 0.5, 1.5], [-1.0, -1.0, -1.0, -1.0]]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        quadrant = torch.zeros_like(x)
        quadrant[..., : x.shape[-2] // 2, : x.shape[-1] // 2] = 1
        features = self.act(self.conv(x * quadrant))
        return self.head(features.mean(dim=(2, 3)))


def to_unit(image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(image)).permute(2, 0, 1).float().div(255).unsqueeze(0)


def test_grad_cam_on_a_known_model():
    model = QuadrantNet().train()
    image = make_image(seed=5)
    cam_fn = GradCAM(model, model.act, preprocess=to_unit)
    cam = cam_fn(image)
    assert cam_fn.last_target == 0  # the predicted class (positive weights, positive features)
    assert cam.shape == (SIZE, SIZE) and cam.dtype == np.float32
    assert cam.min() == 0.0 and cam.max() == pytest.approx(1.0)
    top_left = cam[: SIZE // 2, : SIZE // 2].sum()
    assert top_left / cam.sum() > 0.98
    # for linear-on-global-average-pooling, Grad-CAM is the classic CAM: ReLU(sum_k w_ck A_k), normalised
    with torch.no_grad():
        x = to_unit(image)
        quadrant = torch.zeros_like(x)
        quadrant[..., :112, :112] = 1
        features = model.act(model.conv(x * quadrant))
        expected = torch.relu(torch.einsum("k,bkhw->bhw", model.head.weight[0], features))[:, None]
        expected = torch.nn.functional.interpolate(expected, size=(SIZE, SIZE), mode="bilinear", align_corners=False)
        expected = expected[0, 0].numpy()
    expected = (expected - expected.min()) / (expected.max() - expected.min())
    np.testing.assert_allclose(cam, expected, atol=1e-5)
    # the top-k patches of the grad occlusion all lie in the top-left 7x7 quadrant
    result = grad_occlusion(image, cam_fn, ratio=0.2)
    rows, cols = np.nonzero(result.patch_mask)
    assert result.patch_mask.sum() == 39 and (rows < 7).all() and (cols < 7).all()
    # a class with only negative evidence gives an empty CAM; the model is left as it was
    assert (cam_fn(image, target=1) == 0).all()
    assert model.training and all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="class index"):
        cam_fn(image, target=2)


def test_grad_cam_on_a_transformers_model_with_logits_output():
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], num_labels=3)
    model = ResNetForImageClassification(config).eval()
    cam_fn = GradCAM(model, model.resnet.encoder.stages[-1])
    cam = cam_fn(Image.fromarray(make_image()))
    assert cam.shape == (SIZE, SIZE) and 0.0 <= cam.min() and cam.max() <= 1.0
    assert cam_fn.last_target == int(cam_fn.last_logits.argmax())
    np.testing.assert_array_equal(cam, cam_fn(make_image()))


def test_grad_cam_on_vit_style_tokens():
    class TokenNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Conv2d(3, 8, kernel_size=16, stride=16)
            self.block = torch.nn.Linear(8, 8)
            self.head = torch.nn.Linear(8, 3)

        def forward(self, x):
            tokens = self.embed(x).flatten(2).transpose(1, 2)
            tokens = torch.cat([tokens.mean(1, keepdim=True), tokens], dim=1)  # a cls token
            return (self.head(torch.tanh(self.block(tokens))[:, 1:].mean(1)),)

    model = TokenNet()
    cam = GradCAM(model, model.block)(make_image())
    assert cam.shape == (SIZE, SIZE) and np.isfinite(cam).all()


# --------------------------------------------------------------------------------------------- free-form masks


@pytest.mark.parametrize("bucket", NVIDIA_COVERAGE_BUCKETS)
def test_free_form_coverage_in_bucket_and_deterministic(bucket):
    low, high = bucket
    masks = [free_form_mask(SIZE, seed, coverage=bucket) for seed in range(4)]
    for mask in masks:
        assert mask.shape == (SIZE, SIZE) and mask.dtype == bool
        assert low <= mask.mean() <= high and mask.any()
    assert np.array_equal(masks[0], free_form_mask(SIZE, 0, coverage=bucket))
    assert not np.array_equal(masks[0], masks[1])


def test_free_form_occlusion_pixels_and_patch_mask():
    image = make_image()
    result = free_form_occlusion(image, seed=4, coverage=(0.3, 0.4), min_patch_fraction=0.5)
    assert 0.3 <= result.pixel_mask.mean() <= 0.4
    assert np.array_equal((result.image != image).any(axis=2), result.pixel_mask)
    assert np.array_equal(result.patch_mask, pixel_to_patch_mask(result.pixel_mask, 14, 0.5))
    assert result.patch_mask.any() and not result.patch_mask.all()
    loose = free_form_occlusion(image, seed=4, coverage=(0.3, 0.4), min_patch_fraction=0.01)
    assert np.array_equal(loose.pixel_mask, result.pixel_mask) and loose.patch_mask.sum() > result.patch_mask.sum()


# --------------------------------------------------------------------------------------------- object paste


def test_paste_mask_equals_landed_alpha_and_outside_is_untouched():
    image = make_image()
    occluder = disc_occluder(56)  # scale 0.25 of a 224 face -> no resize
    result = paste_occluder(image, occluder, seed=0, anchor="eyes", scale=0.25, jitter=0.0)
    cx, cy = 0.5 * SIZE, 0.38 * SIZE
    top, left = round(cy - 28), round(cx - 28)
    expected = np.zeros((SIZE, SIZE), dtype=bool)
    expected[top : top + 56, left : left + 56] = occluder[..., 3] > 127
    assert np.array_equal(result.pixel_mask, expected)
    assert (result.image[expected] == (255, 0, 255)).all()
    assert np.array_equal(result.image[~expected], image[~expected])
    assert np.array_equal(result.patch_mask, pixel_to_patch_mask(expected))
    assert result.info["anchor"] == "eyes"


def test_paste_semi_transparent_alpha_blends_but_only_opaque_counts():
    image = np.full((SIZE, SIZE, 3), 100, dtype=np.uint8)
    occluder = np.zeros((40, 40, 4), dtype=np.uint8)
    occluder[..., :3] = 200
    occluder[:, :20, 3] = 100  # blended, not occluding
    occluder[:, 20:, 3] = 200  # occluding
    result = paste_occluder(image, occluder, seed=0, anchor="nose", scale=40 / SIZE, jitter=0.0)
    changed = (result.image != image).any(axis=2)
    assert result.pixel_mask.sum() == 40 * 20 and changed.sum() == 40 * 40
    assert (changed & ~result.pixel_mask).sum() == 40 * 20


def test_paste_anchor_follows_landmarks():
    image = make_image()
    landmarks = {
        "left_eye": (80, 90),
        "right_eye": (140, 90),
        "nose": (110, 120),
        "mouth_left": (88, 150),
        "mouth_right": (132, 150),
    }
    assert anchor_point("eyes", (0, 0, SIZE, SIZE), landmarks) == (110.0, 90.0)
    assert anchor_point("mouth", (0, 0, SIZE, SIZE), landmarks) == (110.0, 150.0)
    assert anchor_point("mouth", (0, 0, SIZE, SIZE)) == pytest.approx((112.0, 0.75 * SIZE))
    shifted = {key: (x + 32, y + 16) for key, (x, y) in landmarks.items()}
    kwargs = {"anchor": "mouth", "scale": 0.2, "jitter": 0.0}
    a = paste_occluder(image, disc_occluder(44), seed=0, landmarks=landmarks, **kwargs)
    b = paste_occluder(image, disc_occluder(44), seed=0, landmarks=shifted, **kwargs)
    assert a.pixel_mask.any() and a.pixel_mask.sum() == b.pixel_mask.sum()
    assert np.array_equal(np.roll(a.pixel_mask, (16, 32), axis=(0, 1)), b.pixel_mask)
    ys, xs = np.nonzero(a.pixel_mask)
    assert abs(ys.mean() - 150) < 1.5 and abs(xs.mean() - 110) < 1.5


def test_paste_face_box_scale_and_border_clipping():
    image = make_image()
    occluder = disc_occluder(64)
    small = paste_occluder(image, occluder, seed=0, anchor="mouth", scale=0.5, face_box=(56, 56, 168, 168), jitter=0)
    ys, xs = np.nonzero(small.pixel_mask)
    assert ys.max() - ys.min() + 1 == pytest.approx(56, abs=2)  # 0.5 of a 112-pixel face
    assert abs(ys.mean() - (56 + 0.75 * 112)) < 1.5
    clipped = paste_occluder(image, occluder, seed=0, anchor="chin", scale=0.6, face_box=(0, 100, 224, 224), jitter=0)
    assert clipped.pixel_mask[-1].any()  # cut at the bottom border
    full = np.pi * (0.6 * 224 / 2) ** 2
    assert 0.2 * full < clipped.pixel_mask.sum() < 0.9 * full


def test_object_paste_sources_and_callable_signature():
    seen_sizes = []

    def procedural(rng: np.random.Generator, size: int) -> np.ndarray:
        seen_sizes.append(size)
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        return disc_occluder(size, color=color)

    paste = ObjectPaste(
        [disc_occluder(30), Image.fromarray(disc_occluder(50, color=(0, 255, 0))), procedural], scale=(0.2, 0.4)
    )
    image = make_image()
    results = [paste(image, seed=s) for s in range(30)]
    assert {r.info["occluder_index"] for r in results} == {0, 1, 2}
    assert len({r.info["anchor"] for r in results}) >= 4
    assert seen_sizes and all(0.2 * SIZE - 1 <= s <= 0.4 * SIZE + 1 for s in seen_sizes)
    for r in results:
        # resized occluders get soft (antialiased) alpha edges: blended, not counted, but only at the border
        changed = (np.asarray(r.image) != image).any(axis=2)
        assert r.pixel_mask.any() and changed[r.pixel_mask].mean() > 0.95
        assert not (changed & ~dilate(r.pixel_mask, 2)).any()
    fixed = paste(Image.fromarray(image), seed=1, anchor="forehead")
    assert isinstance(fixed.image, Image.Image) and fixed.info["anchor"] == "forehead"


def test_load_occluder_images(tmp_path):
    Image.fromarray(disc_occluder(20)).save(tmp_path / "a_disc.png")
    rgb = np.full((10, 12, 3), 255, dtype=np.uint8)
    rgb[2:5, 3:9] = (10, 20, 30)
    Image.fromarray(rgb).save(tmp_path / "b_on_white.png")
    (tmp_path / "notes.txt").write_text("not an image")
    occluders = load_occluder_images(tmp_path)
    assert len(occluders) == 2 and all(o.dtype == np.uint8 and o.shape[2] == 4 for o in occluders)
    assert np.array_equal(occluders[0], disc_occluder(20))
    assert np.array_equal(occluders[1][..., 3] > 0, (rgb != 255).any(axis=2))
    ObjectPaste(occluders)(make_image(), seed=0)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no occluder images"):
        load_occluder_images(empty)


# --------------------------------------------------------------------------------------------- determinism


TRANSFORMS = {
    "random_patch": partial(random_patch_occlusion, ratio=0.3, fill="noise"),
    "grad": partial(
        grad_occlusion, cam=lambda img: np.asarray(img, dtype=np.float64).mean(axis=2), ratio=0.3, fill="noise"
    ),
    "free_form": partial(free_form_occlusion, coverage=(0.2, 0.3)),
    "paste": partial(paste_occluder, occluder_rgba=disc_occluder(60), anchor="random"),
    "object_paste": ObjectPaste([disc_occluder(40), disc_occluder(70, color=(0, 0, 255))]),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_is_deterministic_under_its_seed(name):
    fn = TRANSFORMS[name]
    image = make_image(seed=9)
    first, again, other = fn(image, seed=123), fn(image.copy(), seed=123), fn(image, seed=124)
    assert results_equal(first, again)
    assert not results_equal(first, other)
    generator_a = fn(image, seed=np.random.default_rng(7))
    generator_b = fn(image, seed=np.random.default_rng(7))
    assert results_equal(generator_a, generator_b)
    assert dataclasses.fields(first)[0].name == "image"


# --------------------------------------------------------------------------------------------- datasets


def test_dataset_transform_is_deterministic_and_order_independent():
    from datasets import ClassLabel, Dataset, Features
    from datasets import Image as ImageFeature

    images = [Image.fromarray(make_image(seed=s)) for s in range(5)]
    features = Features({"image": ImageFeature(), "label": ClassLabel(names=["a", "b", "c"])})
    base = Dataset.from_dict({"image": images, "label": [0, 1, 2, 0, 1]}, features=features)
    transform = as_dataset_transform(partial(random_patch_occlusion, ratio=0.3), seed=11)
    ds = base.with_transform(transform)

    batch = ds[0:5]
    assert set(batch) == {"image", "label", "pixel_mask", "patch_mask"}
    assert batch["label"] == [0, 1, 2, 0, 1]
    assert all(isinstance(im, Image.Image) for im in batch["image"])
    assert all(m.dtype == bool and m.shape == (14, 14) and m.sum() == 59 for m in batch["patch_mask"])
    assert all(m.dtype == bool and m.shape == (SIZE, SIZE) for m in batch["pixel_mask"])
    again = ds[0:5]
    for key in ("pixel_mask", "patch_mask"):
        assert all(np.array_equal(x, y) for x, y in zip(batch[key], again[key], strict=True))
    reordered = ds[[4, 2, 0]]
    for position, index in enumerate([4, 2, 0]):
        assert np.array_equal(reordered["patch_mask"][position], batch["patch_mask"][index])
        assert np.array_equal(np.asarray(reordered["image"][position]), np.asarray(batch["image"][index]))
    single = ds[3]
    assert single["label"] == 0 and np.array_equal(single["patch_mask"], batch["patch_mask"][3])
    # the same as calling the transform directly with the per-example generator
    direct = random_patch_occlusion(images[1], 0.3, seed=example_rng(11, images[1]))
    assert np.array_equal(direct.patch_mask, batch["patch_mask"][1])
    # examples differ from each other, and another seed gives other masks
    assert not np.array_equal(batch["patch_mask"][0], batch["patch_mask"][1])
    other = base.with_transform(as_dataset_transform(partial(random_patch_occlusion, ratio=0.3), seed=12))[0:5]
    assert not np.array_equal(other["patch_mask"][0], batch["patch_mask"][0])


def test_dataset_transform_custom_column_and_errors():
    transform = OcclusionTransform(ObjectPaste([disc_occluder(40)]), seed=0, image_column="face")
    out = transform({"face": [make_image(seed=1), make_image(seed=2)], "id": ["x", "y"]})
    assert out["id"] == ["x", "y"] and len(out["pixel_mask"]) == 2 and isinstance(out["face"][0], np.ndarray)
    with pytest.raises(ValueError, match="no column 'face'"):
        transform({"image": [make_image()]})
    with pytest.raises(ValueError, match="non-negative int"):
        OcclusionTransform(ObjectPaste([disc_occluder(40)]), seed=np.random.default_rng(0))


# --------------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: random_patch_occlusion(make_image(), 1.5, seed=0), r"ratio must be in \[0, 1\]"),
        (lambda: random_patch_occlusion(make_image(), -0.1, seed=0), r"ratio must be in \[0, 1\]"),
        (lambda: random_patch_occlusion(make_image(), float("nan"), seed=0), "finite"),
        (lambda: top_patches_from_cam(np.zeros((SIZE, SIZE)), 1.5), r"ratio must be in \[0, 1\]"),
        (lambda: random_patch_occlusion(np.zeros((224, 196, 3), np.uint8), 0.3, seed=0), "must be square"),
        (lambda: random_patch_occlusion(np.zeros((225, 225, 3), np.uint8), 0.3, seed=0), "not divisible"),
        (lambda: free_form_occlusion(np.zeros((100, 100, 3), np.uint8), seed=0), "not divisible"),
        (lambda: random_patch_occlusion(np.zeros((224, 224), np.uint8), 0.3, seed=0), r"shape \[H, W, 3\]"),
        (lambda: random_patch_occlusion(np.zeros((224, 224, 4), np.uint8), 0.3, seed=0), r"shape \[H, W, 3\]"),
        (lambda: random_patch_occlusion(np.zeros((224, 224, 3), np.float32), 0.3, seed=0), "uint8"),
        (lambda: random_patch_occlusion(make_image(), 0.3, seed=0, fill="blue"), "fill must be"),
        (lambda: random_patch_occlusion(make_image(), 0.3, seed=-1), "seed must be"),
        (lambda: grad_occlusion(make_image(), np.zeros((100, 100)), 0.3), "not divisible"),
        (lambda: grad_occlusion(make_image(), np.full((SIZE, SIZE), np.nan), 0.3), "NaN"),
        (lambda: free_form_mask(SIZE, 0, coverage=(0.3, 0.2)), "low < high"),
        (lambda: paste_occluder(make_image(), np.zeros((10, 10, 3), np.uint8), seed=0), r"\[h, w, 4\]"),
        (lambda: paste_occluder(make_image(), disc_occluder(10), seed=0, anchor="ear"), "anchor must be"),
        (lambda: paste_occluder(make_image(), disc_occluder(10), seed=0, landmarks={"nose": (1, 2)}), "missing"),
        (lambda: paste_occluder(make_image(), disc_occluder(10), seed=0, face_box=(10, 10, 5, 20)), "face_box"),
        (lambda: ObjectPaste([]), "at least one occluder"),
        (lambda: ObjectPaste([disc_occluder(10)], anchors=["ear"]), "anchors must be"),
        (lambda: pixel_to_patch_mask(np.zeros((SIZE, SIZE), np.uint8)), "bool"),
        (lambda: patch_to_pixel_mask(np.zeros((14, 14), bool), 100), "divisible"),
        (lambda: GradCAM(QuadrantNet(), torch.nn.ReLU()), "inside model"),
    ],
)
def test_bad_inputs_raise_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_a_dataset_transform_never_overwrites_mask_columns_the_data_already_has(tmp_path):
    from latent_ofer_hf.data.synthfer import synthfer_dataset

    faces = synthfer_dataset(2, occlusion="seen")  # its pixel_mask: the ground truth of a drawn occluder
    transform = as_dataset_transform(partial(random_patch_occlusion, ratio=0.3), seed=0)
    with pytest.raises(ValueError, match=r"already has column\(s\) \['pixel_mask'\]"):
        faces.with_transform(transform)[0]
    renamed = OcclusionTransform(
        partial(random_patch_occlusion, ratio=0.3), seed=0, pixel_mask_column="random_pixels"
    )  # named apart: both kept
    row = faces.with_transform(renamed)[0]
    assert row["patch_mask"].sum() == 59 and np.asarray(row["pixel_mask"]).any()
    (tmp_path / "a.png").write_bytes(b"not a PNG")
    with pytest.raises(ValueError, match=r"occluder image '.*a\.png' cannot be read"):
        load_occluder_images(tmp_path)
