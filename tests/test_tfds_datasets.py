"""The tensorflow-datasets loaders, exercised by `tfds.testing.mock_data`."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_rra.data import load


@pytest.mark.parametrize(
    "name, num_classes",
    [
        ("caltech_birds2011", 200),
        ("stanford_dogs", 120),
        ("cars196", 196),
        ("oxford_flowers102", 102),
        ("oxford_iiit_pet", 37),
    ],
)
def test_known_datasets(name, num_classes, tmp_path):
    with tfds.testing.mock_data(num_examples=6):
        dataset, names = load(name, "train", batch_size=4, image_size=24, seed=3)
        images, labels = next(iter(dataset))
    assert len(names) == num_classes
    assert images.shape == (4, 24, 24, 3) and images.dtype.name == "float32"
    assert labels.dtype.name == "int32"
    assert np.all((0 <= labels) & (labels < num_classes))


@pytest.mark.parametrize("name", ["caltech_birds2011", "stanford_dogs", "cars196"])
def test_object_boxes(name):
    with tfds.testing.mock_data(num_examples=4):
        dataset, _ = load(
            name,
            "test",
            batch_size=4,
            image_size=24,
            boxes="object",
            augmentation="paper",
        )
        inputs, _ = next(iter(dataset))
    boxes = np.asarray(inputs["boxes"])
    assert boxes.shape == (4, 1, 4)
    assert np.all((boxes >= 0) & (boxes <= 1))
    assert np.all(boxes[..., 2] >= boxes[..., 0]) and np.all(
        boxes[..., 3] >= boxes[..., 1]
    )


def test_a_dataset_without_boxes_says_which_have_them():
    with tfds.testing.mock_data(num_examples=4):
        with pytest.raises(ValueError, match="no object boxes.*caltech_birds2011"):
            load("oxford_flowers102", "train", boxes="object")


def test_boxes_file_is_joined_by_file_name(tmp_path):
    with tfds.testing.mock_data(num_examples=4):
        keys = [
            e["file_name"].decode()
            for e in tfds.load("oxford_flowers102", split="test").as_numpy_iterator()
        ]
        path = tmp_path / "boxes.csv"
        path.write_text(
            "".join(f"{key},0.1,0.2,0.5,0.6\n" for key in keys[:3]), encoding="utf-8"
        )
        with pytest.warns(UserWarning, match="skipped 1 example"):
            dataset, _ = load(
                "oxford_flowers102",
                "test",
                batch_size=8,
                image_size=24,
                augmentation="paper",
                boxes=str(path),
            )
        inputs, labels = next(iter(dataset))
    assert inputs["boxes"].shape == (3, 1, 4)
    np.testing.assert_allclose(inputs["boxes"][:, 0], [[0.1, 0.2, 0.5, 0.6]] * 3)


def test_any_image_classification_dataset_by_name():
    with tfds.testing.mock_data(num_examples=4):
        dataset, names = load("tfds:beans", "train", batch_size=2, image_size=16)
        images, _ = next(iter(dataset))
    assert len(names) == 3 and images.shape == (2, 16, 16, 3)


def test_unknown_and_unsuitable_names():
    with pytest.raises(
        ValueError, match="Unknown dataset 'caltech_bird2011'.*caltech_birds2011"
    ):
        load("caltech_bird2011", "train")
    with tfds.testing.mock_data(num_examples=2):
        with pytest.raises(ValueError, match="not an image classification dataset"):
            load("coco", "train")


def test_a_failed_download_is_one_sentence(monkeypatch):
    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'www.robots.ox.ac.uk'")

    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(ValueError, match="could not be downloaded.*robots.ox.ac.uk"):
        load("oxford_flowers102", "train")
