import os

import numpy as np
import pytest

from keras_rra.data import BadDataWarning
from keras_rra.data import load
from keras_rra.data.cub import cub_examples
from tests.dataset_files import colour_of
from tests.dataset_files import write_cub


def _batches(dataset):
    inputs, labels = zip(*[(x, np.asarray(y)) for x, y in dataset], strict=True)
    return inputs, np.concatenate(labels)


def test_splits_classes_and_labels(tmp_path):
    folder = write_cub(str(tmp_path))
    train, names = load(f"cub:{folder}", "train", batch_size=8, image_size=32)
    assert names == ["Bird_0", "Bird_1", "Bird_2"]
    images, labels = _batches(train)
    assert sorted(labels.tolist()) == [0, 0, 1, 2]
    assert [colour_of(image) for image in images[0]] == labels.tolist()
    test, _ = load(f"cub:{folder}", "test", batch_size=8, image_size=32)
    assert sorted(_batches(test)[1].tolist()) == [0, 1, 2]


def test_the_parent_folder_and_data_dir_work(tmp_path):
    write_cub(str(tmp_path))
    dataset, _ = load("cub", "test", data_dir=str(tmp_path), image_size=32)
    assert len(_batches(dataset)[1]) == 3


def test_object_boxes_are_normalised(tmp_path):
    folder = write_cub(str(tmp_path), size=(40, 60))
    dataset, _ = load(
        f"cub:{folder}", "test", image_size=32, augmentation="paper", boxes="object"
    )
    inputs, _ = next(iter(dataset))
    assert inputs["boxes"].shape == (3, 1, 4)
    # x=10, y=5, w=20, h=10 pixels of a 60 x 40 image.
    np.testing.assert_allclose(
        inputs["boxes"][:, 0], [[5 / 40, 10 / 60, 15 / 40, 30 / 60]] * 3, atol=1e-6
    )


def test_a_label_file_naming_a_missing_image(tmp_path):
    folder = write_cub(str(tmp_path))
    os.remove(os.path.join(folder, "images", "002.Bird_1", "Bird_1_0001.jpg"))
    with pytest.warns(
        BadDataWarning, match=r"(?s)skipped 1 .*Bird_1_0001.jpg: no such"
    ):
        dataset, _ = load(f"cub:{folder}", "train", image_size=32)
    assert len(_batches(dataset)[1]) == 3
    with pytest.raises(ValueError, match=r"Bird_1_0001\.jpg: no such file"):
        load(f"cub:{folder}", "train", on_bad_image="error")


def test_an_image_without_a_label(tmp_path):
    folder = write_cub(str(tmp_path))
    path = os.path.join(folder, "image_class_labels.txt")
    with open(path) as file:
        lines = file.read().splitlines()
    with open(path, "w") as file:
        file.write("\n".join(lines[1:]) + "\n")
    with pytest.warns(BadDataWarning, match="image 1 .*no class"):
        examples = cub_examples(folder, "test")
        load(f"cub:{folder}", "test")
    assert len(examples) == 2


def test_missing_and_malformed_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load(f"cub:{tmp_path}/nothing", "train")
    folder = write_cub(str(tmp_path))
    with open(os.path.join(folder, "bounding_boxes.txt"), "a") as file:
        file.write("99 1.0 2.0\n")
    with pytest.raises(ValueError, match=r"bounding_boxes.txt, line 8: expected 5"):
        load(f"cub:{folder}", "train")
    os.remove(os.path.join(folder, "classes.txt"))
    with pytest.raises(FileNotFoundError, match="classes.txt"):
        load(f"cub:{folder}", "train")
    with pytest.raises(ValueError, match="splits train, test"):
        cub_examples(folder, "val")
