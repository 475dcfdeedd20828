import hashlib

import numpy as np
import pytest

from keras_rra.data import synthetic
from keras_rra.data.part_scenes import SCENES


def _scene(preset, size=128, count=12, split="train"):
    return synthetic.generate(
        split,
        num_classes=12,
        image_size=size,
        examples_per_class=count,
        seed=3,
        preset=preset,
    )


def _sides(data, size):
    boxes = data["part_boxes"] * size
    return boxes[:, 2] - boxes[:, 0]


@pytest.mark.parametrize("preset", synthetic.SCENE_PRESETS)
def test_twelve_classes_of_shape_and_colour_same_seed_same_images(preset):
    data = _scene(preset, count=2)
    assert len(set(data["class_names"])) == 12 == synthetic.max_classes(preset)
    assert data["class_names"][:2] == ["red_circle", "red_square"]
    np.testing.assert_array_equal(data["images"], _scene(preset, count=2)["images"])
    with pytest.raises(ValueError, match="between 2 and 12"):
        synthetic.generate("train", num_classes=13, image_size=128, preset=preset)


def test_plain_parts_vary_twice_in_size_and_have_no_frame():
    data = _scene("plain", count=20)
    sides = _sides(data, 128)
    assert sides.max() / sides.min() > 1.7
    radii = SCENES["plain"][0]
    assert radii[1] / radii[0] == 2.0
    # No beacon: no black frame around the part (synthetic:hard has one).
    for image, box in zip(data["images"][:20], data["part_boxes"][:20], strict=True):
        y1, x1, y2, x2 = np.clip((box * 128).round().astype(int), 0, 127)
        ring = np.concatenate(
            [image[y1, x1:x2], image[y2, x1:x2], image[y1:y2, x1], image[y1:y2, x2]]
        )
        assert (ring.max(axis=-1) < 20).mean() < 0.5


def test_the_class_colour_is_at_the_part_in_plain_images():
    data = _scene("plain", count=6)
    for image, label, box in zip(
        data["images"], data["labels"], data["part_boxes"], strict=True
    ):
        colour = np.array(synthetic.PART_COLOURS[synthetic.scene_parts(12)[label][1]])
        match = np.all(image == colour, axis=-1)
        y1, x1, y2, x2 = (box * 128).round().astype(int)
        assert match[y1 : y2 + 1, x1 : x2 + 1].sum() >= 4


def _class_coloured_pixels(image):
    red, blue = (np.array(synthetic.PART_COLOURS[c]) for c in ("red", "blue"))
    return np.all(image == red, axis=-1) | np.all(image == blue, axis=-1)


def test_distractor_marks_are_filled_class_colours_away_from_the_part():
    data = _scene("distractors", size=192, count=6)
    away = []
    for image, label, box in zip(
        data["images"], data["labels"], data["part_boxes"], strict=True
    ):
        colour = np.array(synthetic.PART_COLOURS[synthetic.scene_parts(12)[label][1]])
        y1, x1, y2, x2 = (box * 192).round().astype(int)
        # The part: filled, in the class colour itself (full contrast).
        assert np.all(image[y1 : y2 + 1, x1 : x2 + 1] == colour, axis=-1).sum() >= 8
        mask = _class_coloured_pixels(image)
        mask[max(y1 - 2, 0) : y2 + 3, max(x1 - 2, 0) : x2 + 3] = False
        away.append(mask.sum())
    # Four filled marks of class colours lie elsewhere in a typical image.
    assert np.median(away) > 40
    radii = SCENES["distractors"][0]
    assert radii[1] * 192 < 8


def test_faint_marks_are_thin_and_mixed_with_what_lies_behind_them():
    data = _scene("faint", size=192, count=6)
    away = []
    for image, box in zip(data["images"], data["part_boxes"], strict=True):
        # Faint: the marks are mixed with what lies behind them, so look for
        # pixels much closer to a class colour than to grey.
        reddish = (image[..., 0].astype(int) - image[..., 1:].max(-1)) > 80
        bluish = (image[..., 2].astype(int) - image[..., :2].max(-1)) > 80
        y1, x1, y2, x2 = (box * 192).round().astype(int)
        mask = reddish | bluish
        mask[max(y1 - 2, 0) : y2 + 3, max(x1 - 2, 0) : x2 + 3] = False
        away.append(mask.sum())
    assert np.median(away) > 10
    # Faint: no pixel of the class colours themselves.
    assert not any(_class_coloured_pixels(image).any() for image in data["images"])


def test_faint_draws_the_images_distractors_drew_before_it_was_renamed():
    # The benchmark's faint runs were measured as synthetic:distractors.
    assert SCENES["faint"] == ((0.04, 0.05), True, 0.6, 4)
    first = _scene("faint", size=192, count=1)
    # The images' digest under synthetic:distractors at commit 4b9fcb3
    # (measured there with the same call).
    digest = hashlib.sha256(first["images"].tobytes()).hexdigest()
    assert digest[:16] == "aa98e91bf47b57e2"
    assert not np.array_equal(
        first["images"], _scene("distractors", size=192, count=1)["images"]
    )


def test_scene_presets_set_the_source_size_of_a_run():
    from keras_rra.training.config import TrainConfig

    for dataset, size in (
        ("synthetic:plain", 128),
        ("synthetic:distractors", 192),
        ("synthetic:faint", 192),
    ):
        config = TrainConfig(dataset=dataset)
        config.validate()
        assert config.input_size == size
