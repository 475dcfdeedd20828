import os
import warnings

import numpy as np
import pytest

from keras_rra.data import BadDataWarning
from keras_rra.data import load
from keras_rra.data.image_folder import folder_examples
from tests.dataset_files import colour_of
from tests.dataset_files import solid_image
from tests.dataset_files import write_split_folder


def _all(dataset):
    images, labels = [], []
    for batch_images, batch_labels in dataset:
        images.append(np.asarray(batch_images))
        labels.append(np.asarray(batch_labels))
    return np.concatenate(images), np.concatenate(labels)


def test_split_layout_labels_follow_the_pixels(tmp_path):
    root = write_split_folder(str(tmp_path), per_class=3)
    dataset, names = load(f"folder:{root}", "train", batch_size=4, image_size=32)
    assert names == ["class_0", "class_1", "class_2"]
    images, labels = _all(dataset)
    assert images.shape == (9, 32, 32, 3) and images.dtype == np.float32
    assert [colour_of(image) for image in images] == labels.tolist()
    test, _ = load(f"folder:{root}", "test", batch_size=4, image_size=32)
    assert len(_all(test)[1]) == 9


def test_same_classes_and_files_as_tfds_image_folder(tmp_path):
    import tensorflow_datasets as tfds

    root = write_split_folder(str(tmp_path), per_class=2)
    builder = tfds.folder_dataset.ImageFolder(root)
    assert builder.info.features["label"].names == sorted(
        folder_examples(root, "train").class_names
    )
    for split in ("train", "test"):
        ours = folder_examples(root, split)
        theirs = {
            (
                os.path.basename(os.path.dirname(p.decode())),
                os.path.basename(p.decode()),
            )
            for p in builder.as_dataset(split=split)
            .map(lambda e: e["image/filename"])
            .as_numpy_iterator()
        }
        mine = {
            (ours.class_names[label], os.path.basename(path))
            for path, label in zip(ours.paths, ours.labels, strict=True)
        }
        assert mine == theirs


def test_validation_split_alias(tmp_path):
    root = write_split_folder(str(tmp_path), splits=("train", "val"))
    dataset, _ = load(f"folder:{root}", "validation", batch_size=8, image_size=32)
    assert len(_all(dataset)[1]) == 6


def test_single_tree_is_split_by_seed(tmp_path):
    root = str(tmp_path)
    for c in range(2):
        for i in range(10):
            solid_image(os.path.join(root, f"class_{c}", f"{i}.png"), (c * 200, 0, 0))

    def split_paths(split, seed):
        return set(folder_examples(root, split, split_fraction=0.3, seed=seed).paths)

    train, test = split_paths("train", 1), split_paths("test", 1)
    assert len(test) == 6 and len(train) == 14 and not train & test
    assert split_paths("test", 1) == test
    assert split_paths("test", 2) != test
    with pytest.raises(ValueError, match="one class tree.*split='validation'"):
        folder_examples(root, "validation")


def test_missing_path_and_split(tmp_path):
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        load(f"folder:{tmp_path}/does-not-exist", "train")
    root = write_split_folder(str(tmp_path / "data"), splits=("train",))
    with pytest.raises(ValueError, match="no split 'test'; its splits are train"):
        load(f"folder:{root}", "test")


def test_data_dir_names_the_folder(tmp_path):
    root = write_split_folder(str(tmp_path))
    dataset, names = load("folder", "test", data_dir=root, image_size=32)
    assert len(names) == 3 and len(_all(dataset)[1]) == 6


def test_empty_class_folder_is_skipped_or_an_error(tmp_path):
    root = write_split_folder(str(tmp_path))
    os.makedirs(os.path.join(root, "train", "class_9"))
    with pytest.warns(BadDataWarning, match=r"(?s)skipped 1 example.*class_9: empty"):
        _, names = load(f"folder:{root}", "train", image_size=32)
    assert "class_9" not in names
    with pytest.raises(ValueError, match="class_9: empty class folder"):
        load(f"folder:{root}", "train", on_bad_image="error")


def test_class_only_in_test_is_skipped_or_an_error(tmp_path):
    root = write_split_folder(str(tmp_path))
    solid_image(os.path.join(root, "test", "class_new", "0.jpg"), (0, 0, 0))
    with pytest.warns(BadDataWarning, match=r"class_new: class folder not in"):
        dataset, names = load(f"folder:{root}", "test", image_size=32)
    assert names == ["class_0", "class_1", "class_2"]
    assert len(_all(dataset)[1]) == 6
    with pytest.raises(ValueError, match="class_new: class folder not in .*train"):
        load(f"folder:{root}", "test", on_bad_image="error")


def test_other_files_are_listed_not_read(tmp_path):
    root = write_split_folder(str(tmp_path))
    with open(os.path.join(root, "train", "class_0", "notes.txt"), "w") as file:
        file.write("not an image")
    with open(os.path.join(root, "train", "class_0", ".DS_Store"), "w") as file:
        file.write("hidden")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset, _ = load(f"folder:{root}", "train", image_size=32)
    messages = [str(w.message) for w in caught if w.category is BadDataWarning]
    assert len(messages) == 1 and "notes.txt" in messages[0]
    assert ".DS_Store" not in messages[0]
    assert len(_all(dataset)[1]) == 6


def test_a_folder_without_classes_is_an_error(tmp_path):
    os.makedirs(tmp_path / "train" / "empty")
    with pytest.raises(ValueError, match="no class folder with images"):
        load(f"folder:{tmp_path}", "train", on_bad_image="skip")
