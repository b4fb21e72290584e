"""SynthFER: determinism, masks, disjoint occluder families and identities, datasets export, learnability."""

import datasets
import numpy as np
import pytest
import torch
from transformers import ResNetConfig, ResNetModel

from latent_ofer_hf.data.contact_sheet import contact_sheet
from latent_ofer_hf.data.occlusion import pixel_to_patch_mask, random_patch_occlusion
from latent_ofer_hf.data.synthfer import (
    OCCLUDER_FAMILIES,
    SEEN_OCCLUDERS,
    UNSEEN_OCCLUDERS,
    load_synthfer,
    synthfer_batch,
    synthfer_dataset,
    synthfer_sample,
)
from latent_ofer_hf.data.synthfer.generate import identity_for


def test_same_arguments_same_sample_and_different_seeds_differ():
    a, b = synthfer_sample(5, seed=1, occlusion="seen"), synthfer_sample(5, seed=1, occlusion="seen")
    assert np.array_equal(a.image, b.image) and np.array_equal(a.pixel_mask, b.pixel_mask)
    assert a.occluder == b.occluder and np.array_equal(a.action_units, b.action_units)
    assert not np.array_equal(a.image, synthfer_sample(5, seed=2, occlusion="seen").image)
    assert a.image.shape == (224, 224, 3) and a.image.dtype == np.uint8


def test_labels_are_balanced_and_in_rafdb_order():
    _, labels, _, _ = synthfer_batch(70, split="validation")
    assert np.bincount(labels, minlength=7).tolist() == [10] * 7


def test_seen_and_unseen_families_are_disjoint_and_used_as_asked():
    seen, unseen = {f.name for f in SEEN_OCCLUDERS}, {f.name for f in UNSEEN_OCCLUDERS}
    assert seen and unseen and not seen & unseen
    assert {f.name for f in OCCLUDER_FAMILIES["seen"]} == seen
    for mode, names in (("seen", seen), ("unseen", unseen)):
        used = {synthfer_sample(i, occlusion=mode).occluder for i in range(40)}
        assert used <= names and len(used) >= 3
    assert {synthfer_sample(i).occluder for i in range(10)} == {""}


def test_masks_match_the_pasted_pixels():
    for index in range(12):
        clean = synthfer_sample(index, split="test")
        occluded = synthfer_sample(index, split="test", occlusion="unseen")
        assert not clean.pixel_mask.any() and not clean.patch_mask.any()
        assert occluded.pixel_mask.any()
        changed = (clean.image != occluded.image).any(-1)
        # every changed pixel lies within 2 px of the mask (resized occluders have soft edges)
        near = occluded.pixel_mask.copy()
        for _ in range(2):
            grown = near.copy()
            grown[1:] |= near[:-1]
            grown[:-1] |= near[1:]
            grown[:, 1:] |= near[:, :-1]
            grown[:, :-1] |= near[:, 1:]
            near = grown
        assert not (changed & ~near).any()
        assert (changed & occluded.pixel_mask).mean() > 0.8 * occluded.pixel_mask.mean()
        assert np.array_equal(occluded.patch_mask, pixel_to_patch_mask(occluded.pixel_mask, grid=14, min_fraction=0.5))


def test_splits_use_different_people():
    train = {identity_for(0, "train", i) for i in range(50)}
    test = {identity_for(0, "test", i) for i in range(50)}
    assert not train & test


def test_datasets_export_and_reload(tmp_path):
    dataset = synthfer_dataset(14, split="test", occlusion="seen")
    assert dataset.features["label"].names[0] == "surprise"
    row = dataset[3]
    sample = synthfer_sample(3, split="test", occlusion="seen")
    assert np.array_equal(np.asarray(row["image"]), sample.image)
    assert np.array_equal(np.asarray(row["occlusion_mask"], dtype=bool), sample.patch_mask)
    assert np.array_equal(np.asarray(row["pixel_mask"]) > 0, sample.pixel_mask)
    assert row["occluder"] == sample.occluder and row["label"] == 3
    splits = load_synthfer({"train": 7, "test": 7}, occlusion={"train": "seen", "test": "unseen"})
    splits.save_to_disk(str(tmp_path / "synthfer"))
    reloaded = datasets.load_from_disk(str(tmp_path / "synthfer"))
    assert set(reloaded) == {"train", "test"} and reloaded["test"][0]["occluder"] in {f.name for f in UNSEEN_OCCLUDERS}
    reloaded["train"].to_parquet(str(tmp_path / "train.parquet"))
    assert (tmp_path / "train.parquet").stat().st_size > 0


def test_worker_processes_draw_the_same_faces_as_one():
    one = synthfer_dataset(5, split="test", occlusion="seen")
    two = synthfer_dataset(5, split="test", occlusion="seen", num_proc=2)
    assert two["index"][:] == list(range(5))
    for a, b in zip(one, two, strict=True):
        assert np.array_equal(np.asarray(a["image"]), np.asarray(b["image"])) and a["occluder"] == b["occluder"]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="split"):
        synthfer_sample(0, split="dev")
    with pytest.raises(ValueError, match="occlusion"):
        synthfer_sample(0, occlusion="some")
    with pytest.raises(ValueError, match="num_images"):
        synthfer_dataset(0)
    for kwargs, message in (
        ({"occlusion_probability": 2}, "occlusion_probability must be a number in"),
        ({"occlusion_probability": float("nan")}, "occlusion_probability must be a number in"),
        ({"occlusion_probability": "0.5"}, "occlusion_probability must be a number in"),
        ({"seed": -1}, "seed must be a non-negative integer"),
        ({"seed": 1.5}, "seed must be a non-negative integer"),
        ({"num_proc": 0}, "num_proc must be a positive integer"),
        ({"image_size": 238}, "multiple of 16"),
    ):
        with pytest.raises(ValueError, match=message):
            synthfer_dataset(2, occlusion="seen", **kwargs)
    with pytest.raises(ValueError, match="index must be a non-negative integer"):
        synthfer_sample(-1)
    with pytest.raises(ValueError, match=r"occlusion: unknown split\(s\) \['valid'\]"):  # not built clean silently
        load_synthfer({"train": 3, "validation": 2}, occlusion={"train": "seen", "valid": "seen"})
    for bad in (7.0, {}, True):
        with pytest.raises(ValueError, match="num_images"):
            load_synthfer(bad)
    with pytest.raises(ValueError, match=r"num_images\['test'\] must be a positive integer, got 0"):  # which split
        load_synthfer({"train": 3, "test": 0})
    assert len(synthfer_dataset(np.int64(2))) == 2  # NumPy integers are integers


def test_contact_sheet_has_a_tile_per_class_and_mode():
    sheet = contact_sheet(per_column=1, tile=32)
    assert sheet.size == (70 + 3 * 32, 18 + 7 * 32)


def _to_tensor(images: np.ndarray, size: int = 64) -> torch.Tensor:
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x - 0.5) / 0.25


def test_a_small_resnet_learns_synthfer_and_suffers_from_occlusion():
    """Modest bars (exact figures: benchmarks/synthfer_baseline.py): well above chance (1/7) on clean faces, and
    clearly worse under 30 % random-patch occlusion and under occluders."""
    torch.manual_seed(0)
    train_images, train_labels, _, _ = synthfer_batch(2100, split="train")
    test_images, test_labels, _, _ = synthfer_batch(280, split="test")
    object_images, _, _, _ = synthfer_batch(280, split="test", occlusion="seen")
    patch_images = np.stack([random_patch_occlusion(img, 0.3, seed=i).image for i, img in enumerate(test_images)])
    trunk = ResNetModel(
        ResNetConfig(layer_type="basic", depths=[1, 1, 1, 1], hidden_sizes=[16, 32, 64, 128], embedding_size=16)
    )
    head = torch.nn.Linear(128, 7)
    params = [*trunk.parameters(), *head.parameters()]
    optimizer = torch.optim.AdamW(params, lr=3e-3, weight_decay=1e-4)
    x, y = _to_tensor(train_images), torch.from_numpy(train_labels)
    epochs = 6
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 4e-3, total_steps=epochs * ((len(x) + 63) // 64))

    def logits(batch: torch.Tensor) -> torch.Tensor:
        return head(trunk(batch).pooler_output.flatten(1))

    for _ in range(epochs):
        trunk.train()
        for batch in torch.randperm(len(x)).split(64):
            loss = torch.nn.functional.cross_entropy(logits(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    trunk.eval()
    with torch.no_grad():

        def accuracy(images: np.ndarray) -> float:
            return float((logits(_to_tensor(images)).argmax(1).numpy() == test_labels).mean())

        clean, patches, objects = accuracy(test_images), accuracy(patch_images), accuracy(object_images)
    print(f"clean {clean:.3f}, 30 % random patches {patches:.3f}, seen occluders {objects:.3f}")
    assert clean > 0.45, clean  # chance is 0.14
    assert patches < clean - 0.05, (clean, patches)
    assert objects < clean - 0.03, (clean, objects)


def test_procedural_occluders_plug_into_object_paste_on_any_face():
    from latent_ofer_hf.data.occlusion import ObjectPaste

    paste = ObjectPaste([family.draw for family in UNSEEN_OCCLUDERS], scale=(0.3, 0.5))
    face = synthfer_sample(0, split="test").image
    first, again = paste(face, seed=3), paste(face, seed=3)
    assert first.pixel_mask.any() and np.array_equal(first.image, again.image)
    outside = (face != first.image).any(-1) & ~first.pixel_mask  # only the occluder's soft edge may leak
    assert outside.mean() < 0.01


def test_identity_ids_are_global_and_other_sizes_work():
    train = {synthfer_sample(i, split="train").identity for i in range(60)}
    test = {synthfer_sample(i, split="test").identity for i in range(60)}
    assert not train & test and max(train) < 2000 <= min(test)
    small = synthfer_dataset(3, split="validation", image_size=112, occlusion="seen")
    assert np.asarray(small[0]["occlusion_mask"]).shape == (7, 7) and small[0]["image"].size == (112, 112)
    with pytest.raises(ValueError, match="at least 3"):
        load_synthfer(2)


def test_occluders_draw_at_tiny_sizes():
    rng = np.random.default_rng(0)
    for family in (*SEEN_OCCLUDERS, *UNSEEN_OCCLUDERS):
        for size in (4, 9, 20):
            rgba = family.draw(rng, size)
            assert rgba.ndim == 3 and rgba.shape[2] == 4 and rgba[..., 3].any()


def test_the_contact_sheet_command_checks_its_options_and_makes_its_folder(tmp_path, capsys):
    from latent_ofer_hf.data.contact_sheet import main

    out = tmp_path / "new" / "sheet.png"
    main(["--out", str(out), "--per-column", "1", "--tile", "32"])
    from PIL import Image

    assert Image.open(out).size[0] > 0
    for bad, message in (
        (["--split", "bogus"], "invalid choice"),
        (["--per-column", "0"], "--per-column must be"),
        (["--seed", "-1"], "--seed must be a non-negative integer"),
        (["--out", str(tmp_path / "sheet.txt")], "give an image file name"),
        (["--out", str(tmp_path)], "give an image file name"),
    ):
        with pytest.raises(SystemExit):
            main(["--out", str(out), *bad])
        assert message in capsys.readouterr().err
