import numpy as np
import pytest

from keras_rra.data import synthetic


def _small(split="train", **kwargs):
    options = {"num_classes": 6, "image_size": 48, "examples_per_class": 8, "seed": 5}
    options.update(kwargs)
    return synthetic.generate(split, **options)


def test_same_seed_same_data_other_seed_other_data():
    a, b = _small(), _small()
    np.testing.assert_array_equal(a["images"], b["images"])
    np.testing.assert_array_equal(a["labels"], b["labels"])
    c = _small(seed=6)
    assert not np.array_equal(a["images"], c["images"])


def test_fixed_splits_are_disjoint_and_balanced():
    train, test = _small("train"), _small("test", test_examples_per_class=3)
    assert len(train["labels"]) == 48 and len(test["labels"]) == 18
    assert np.bincount(train["labels"]).tolist() == [8] * 6
    flat_train = {image.tobytes() for image in train["images"]}
    assert not flat_train & {image.tobytes() for image in test["images"]}


def test_part_is_small_and_inside_the_image():
    data = _small(examples_per_class=20)
    boxes = data["part_boxes"]
    assert ((boxes >= 0) & (boxes <= 1)).all()
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert areas.max() <= synthetic.MAX_PART_AREA


def test_the_class_colour_is_inside_the_part_box():
    data = _small(examples_per_class=10)
    parts = synthetic.class_parts(6)
    size = data["images"].shape[1]
    for image, label, box in zip(
        data["images"], data["labels"], data["part_boxes"], strict=True
    ):
        colour = np.array(synthetic.PART_COLOURS[parts[label][1]])
        match = np.all(image == colour, axis=-1)
        y1, x1, y2, x2 = (np.array(box) * size).round().astype(int)
        inside = match[y1 : y2 + 1, x1 : x2 + 1].sum()
        assert inside >= 4
        assert inside >= 0.8 * match.sum()  # the colour is the part's, not clutter


def test_bodies_vary_independently_of_the_class():
    data = _small(examples_per_class=12)
    centres = (data["part_boxes"][:, :2] + data["part_boxes"][:, 2:]) / 2
    same_class = centres[data["labels"] == 0]
    assert same_class.std(axis=0).min() > 0.05  # pose varies within a class


def test_class_names_are_unique_and_interleaved():
    names = synthetic.class_names(36)
    assert len(set(names)) == 36
    assert names[:2] == ["red_circle", "green_square"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_classes": 1}, "between 2 and 36.*num_classes=1"),
        ({"num_classes": 37}, "num_classes=37"),
        ({"image_size": 16}, "image_size=16"),
        ({"examples_per_class": 0}, "examples_per_class"),
    ],
)
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _small(**kwargs)


def test_unknown_split():
    with pytest.raises(ValueError, match="split='validation'"):
        synthetic.generate("validation")


def test_candidate_boxes_start_with_the_part_in_context():
    data = _small()
    boxes = synthetic.candidate_boxes(data["part_boxes"], num_boxes=4, seed=1)
    assert boxes.shape == (48, 4, 4)
    assert ((boxes >= 0) & (boxes <= 1)).all()
    assert (boxes[..., 2] > boxes[..., 0]).all() and (
        boxes[..., 3] > boxes[..., 1]
    ).all()
    centres = (data["part_boxes"][:, :2] + data["part_boxes"][:, 2:]) / 2
    first = boxes[:, 0]
    assert ((first[:, :2] <= centres) & (centres <= first[:, 2:])).all()


def _hard(split="train", **kwargs):
    options = {
        "num_classes": 12,
        "image_size": 128,
        "examples_per_class": 4,
        "seed": 1,
        "preset": "hard",
    }
    options.update(kwargs)
    return synthetic.generate(split, **options)


def test_hard_preset_has_twelve_distinct_classes():
    names = synthetic.class_names(12, preset="hard")
    assert len(set(names)) == 12
    with pytest.raises(ValueError, match="between 2 and 12 classes"):
        synthetic.class_names(13, preset="hard")
    with pytest.raises(ValueError, match="Unknown synthetic preset 'medium'"):
        synthetic.generate(preset="medium")
    with pytest.raises(ValueError, match="at least 64 pixels"):
        synthetic.generate(image_size=48, preset="hard")


def test_hard_part_is_readable_at_full_size_only():
    import keras

    data = _hard()
    images, boxes = data["images"].astype("float32"), data["part_boxes"]
    half = np.asarray(keras.layers.Resizing(64, 64)(images))
    crops, half_crops = [], []
    for image, small, box in zip(images, half, boxes, strict=True):
        y1, x1, y2, x2 = (box * 128).round().astype(int)
        # Inside the black frame: the texture.
        crops.append(image[y1 + 2 : y2 - 2, x1 + 2 : x2 - 2])
        half_crops.append(
            small[(y1 + 2) // 2 : (y2 - 2) // 2, (x1 + 2) // 2 : (x2 - 2) // 2]
        )
    crops, half_crops = np.stack(crops), np.stack(half_crops)
    # At full size every class is a different texture...
    by_class = {}
    for crop, label in zip(crops, data["labels"], strict=True):
        by_class.setdefault(int(label), crop)
    textures = [crop.tobytes() for crop in by_class.values()]
    assert len(set(textures)) == 12
    # ...of strong contrast; at half size all of them are the same grey.
    assert crops.std(axis=(1, 2, 3)).min() > 60
    np.testing.assert_allclose(half_crops, 127.5, atol=0.6)


def test_hard_part_is_a_fixed_size_square_whose_place_varies():
    data = _hard(examples_per_class=20, num_classes=2)
    boxes = data["part_boxes"]
    assert ((boxes >= 0) & (boxes <= 1)).all()
    sides = boxes[:, 2:] - boxes[:, :2]
    np.testing.assert_allclose(sides, 12 / 128)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    assert centres.std(axis=0).min() > 0.1
