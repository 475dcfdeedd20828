import os

import numpy as np

from keras_rra.data import load
from keras_rra.data import synthetic
from keras_rra.data.pipeline import cache_path


def _epochs(dataset, count=2):
    return [
        (
            np.concatenate([np.asarray(x) for x, _ in dataset]),
            np.concatenate([np.asarray(y) for _, y in dataset]),
        )
        for _ in range(count)
    ]


def _folder(tmp_path):
    return synthetic.write_image_folder(
        str(tmp_path / "images"),
        num_classes=3,
        image_size=40,
        examples_per_class=4,
        test_examples_per_class=2,
        seed=5,
    )


def test_same_seed_same_batches_and_each_epoch_differs(tmp_path):
    root = _folder(tmp_path)

    def run(seed):
        dataset, _ = load(
            f"folder:{root}", "train", batch_size=5, image_size=32, seed=seed
        )
        return _epochs(dataset)

    first, second = run(4), run(4)
    for (images_a, labels_a), (images_b, labels_b) in zip(first, second, strict=True):
        np.testing.assert_array_equal(images_a, images_b)
        np.testing.assert_array_equal(labels_a, labels_b)
    # New order and new crops in the second epoch.
    assert not np.array_equal(first[0][0], first[1][0])
    assert not np.array_equal(run(5)[0][0], first[0][0])


def test_a_cache_changes_nothing(tmp_path):
    root = _folder(tmp_path)
    settings = {"batch_size": 4, "image_size": 32, "seed": 1}
    plain = _epochs(load(f"folder:{root}", "train", **settings)[0])
    memory = _epochs(load(f"folder:{root}", "train", cache="memory", **settings)[0])
    folder = str(tmp_path / "cache")
    on_disk = _epochs(load(f"folder:{root}", "train", cache=folder, **settings)[0])
    for other in (memory, on_disk):
        for (images_a, labels_a), (images_b, labels_b) in zip(
            plain, other, strict=True
        ):
            np.testing.assert_array_equal(images_a, images_b)
            np.testing.assert_array_equal(labels_a, labels_b)
    assert any(name.startswith("keras_rra-") for name in os.listdir(folder))


def test_cache_files_are_named_by_their_settings(tmp_path):
    folder = str(tmp_path)
    assert cache_path(None, {}) is None and cache_path("memory", {}) == ""
    a = cache_path(folder, {"size": 32})
    assert a == cache_path(folder, {"size": 32}) != cache_path(folder, {"size": 48})


def test_evaluation_is_not_shuffled_or_augmented(tmp_path):
    root = _folder(tmp_path)
    dataset, _ = load(f"folder:{root}", "test", batch_size=4, image_size=32)
    first, second = _epochs(dataset)
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])


def test_synthetic_folder_round_trip_keeps_labels_and_boxes(tmp_path):
    root = _folder(tmp_path)
    data = synthetic.generate("test", 3, 40, 4, 2, seed=5)
    dataset, names = load(
        f"folder:{root}",
        "test",
        batch_size=32,
        image_size=40,
        augmentation="paper",
        boxes=os.path.join(root, "part_boxes.csv"),
        shuffle=False,
    )
    inputs, labels = next(iter(dataset))
    assert sorted(names) == sorted(data["class_names"])
    mapped = sorted(names[label] for label in np.asarray(labels))
    assert mapped == sorted(data["class_names"][label] for label in data["labels"])
    assert inputs["boxes"].shape == (6, 1, 4)
    # JPEG keeps the picture: the decoded images are close to the originals.
    assert inputs["images"].shape == (6, 40, 40, 3)
