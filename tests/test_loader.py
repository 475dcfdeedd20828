import numpy as np
import pytest

from keras_rra.data import load
from keras_rra.data.loader import parse_name

SMALL = {"num_classes": 4, "image_size": 32, "examples_per_class": 6, "seed": 2}


def test_element_format_images_and_labels():
    dataset, names = load("synthetic", "train", batch_size=5, **SMALL)
    images, labels = next(iter(dataset))
    assert images.shape == (5, 32, 32, 3) and images.dtype.name == "float32"
    assert labels.dtype.name == "int32"
    assert 0 <= float(np.min(images)) and float(np.max(images)) <= 255
    assert float(np.max(images)) > 1  # pixels, not [0, 1]
    assert names == ["red_circle", "green_square", "blue_triangle", "yellow_ring"]
    assert sum(int(batch[1].shape[0]) for batch in dataset) == 24


def test_element_format_with_boxes():
    dataset, _ = load(
        "synthetic", "test", batch_size=3, boxes="part", num_boxes=2, **SMALL
    )
    inputs, _ = next(iter(dataset))
    assert set(inputs) == {"images", "boxes"}
    assert inputs["boxes"].shape == (3, 2, 4)


def test_shuffle_order_is_fixed_by_the_seed():
    def labels(seed):
        dataset, _ = load("synthetic", "train", batch_size=4, **dict(SMALL, seed=seed))
        return np.concatenate([batch[1] for batch in dataset])

    np.testing.assert_array_equal(labels(2), labels(2))
    test, _ = load("synthetic", "test", batch_size=4, **SMALL)
    first = np.concatenate([b[1] for b in test])
    second = np.concatenate([b[1] for b in test])
    np.testing.assert_array_equal(first, second)  # the test split is not shuffled


def test_bad_names():
    with pytest.raises(ValueError, match="needs a folder: write cub:PATH"):
        load("cub", "train")
    with pytest.raises(ValueError, match="Unknown dataset kind 'zip'"):
        load("zip:/tmp/x", "train")
    with pytest.raises(ValueError, match="on_bad_image='ignore'"):
        load("synthetic", "train", on_bad_image="ignore", **SMALL)
    with pytest.raises(ValueError, match="boxes='object' does not apply"):
        load("synthetic", "train", boxes="object", **SMALL)
    with pytest.raises(FileNotFoundError, match="Boxes file 'random' does not"):
        load("synthetic", "train", boxes="random", **SMALL)
    with pytest.raises(ValueError, match="batch_size"):
        load("synthetic", "train", batch_size=0, **SMALL)


def test_every_dataset_kind_is_a_registered_source_with_its_settings():
    from keras_rra.data.sources import DATA_SOURCES
    from keras_rra.settings.data_settings import SOURCE_SETTINGS

    assert set(DATA_SOURCES) == set(SOURCE_SETTINGS)
    for kind, source in DATA_SOURCES.items():
        assert source.kind == kind and source.settings is SOURCE_SETTINGS[kind]
    for name in ("synthetic", "synthetic:hard", "folder:/x", "cub:/x", "aircraft:/x"):
        assert parse_name(name)[0] in DATA_SOURCES
    assert parse_name("caltech_birds2011")[0] in DATA_SOURCES


def test_a_source_takes_its_own_settings_only():
    with pytest.raises(ValueError, match="`aircraft_level` applies to aircraft"):
        load("synthetic", "train", aircraft_level="family", examples_per_class=1)
    # At its default, another source's setting is harmless (a run's config
    # lists every source's settings).
    load("synthetic", "train", aircraft_level="variant", examples_per_class=1)
    with pytest.raises(TypeError, match="unknown setting.*examples\\b"):
        load("synthetic", "train", examples=3)
    with pytest.raises(ValueError, match="`num_classes` must be >= 2"):
        load("synthetic", "train", num_classes=1)


def test_a_validation_split_is_carved_from_the_training_split():
    settings = dict(SMALL, validation_fraction=0.25, batch_size=100, shuffle=False)
    train, _ = load("synthetic", "train", **settings)
    validation, _ = load("synthetic", "validation", **settings)
    whole, _ = load("synthetic", "train", **dict(settings, validation_fraction=0.0))
    rows = {
        name: next(iter(data))[0].numpy().reshape(-1, 32 * 32 * 3)
        for name, data in (("train", train), ("validation", validation), ("all", whole))
    }
    assert len(rows["train"]) + len(rows["validation"]) == len(rows["all"]) == 24
    assert 0 < len(rows["validation"]) < 12
    seen = {row.tobytes() for row in rows["train"]}
    assert not any(row.tobytes() in seen for row in rows["validation"])
    assert int(train.cardinality()) == 1
    again, _ = load("synthetic", "validation", **settings)
    np.testing.assert_array_equal(
        next(iter(again))[0].numpy(), next(iter(validation))[0].numpy()
    )
    with pytest.raises(ValueError, match="validation_fraction.*\\[0, 1\\)"):
        load("synthetic", "train", **dict(settings, validation_fraction=1.0))


def test_a_small_training_split_still_gives_a_validation_split():
    # 2 classes x 2 images at 10%: 0.4 of an image rounds to none; one is
    # held out all the same, and one stays for training.
    settings = dict(
        num_classes=2,
        examples_per_class=2,
        image_size=32,
        validation_fraction=0.1,
        batch_size=100,
    )
    validation, _ = load("synthetic", "validation", **settings)
    train, _ = load("synthetic", "train", **settings)
    assert len(next(iter(validation))[0]) == 1
    assert len(next(iter(train))[0]) == 3
