import os

import numpy as np
import pytest

from keras_rra.data import BadDataWarning
from keras_rra.data import load
from tests.dataset_files import AIRCRAFT_MANUFACTURERS
from tests.dataset_files import AIRCRAFT_VARIANTS
from tests.dataset_files import colour_of
from tests.dataset_files import write_aircraft


def _all(dataset):
    inputs, labels = zip(*[(x, np.asarray(y)) for x, y in dataset], strict=True)
    return inputs, np.concatenate(labels)


@pytest.mark.parametrize(
    "split, count", [("train", 8), ("val", 8), ("validation", 8), ("trainval", 16)]
)
def test_splits(tmp_path, split, count):
    root = write_aircraft(str(tmp_path))
    dataset, names = load(f"aircraft:{root}", split, batch_size=32, image_size=24)
    assert names == AIRCRAFT_VARIANTS
    assert len(_all(dataset)[1]) == count


def test_banner_is_cropped_and_labels_follow_pixels(tmp_path):
    root = write_aircraft(str(tmp_path))
    dataset, _ = load(
        f"aircraft:{root}", "test", batch_size=32, image_size=24, augmentation="paper"
    )
    (images,), labels = _all(dataset)
    images = np.asarray(images)
    # The white banner is gone: no row of any image is white.
    assert images.min(axis=-1).max() < 230
    assert [colour_of(image) for image in images] == labels.tolist()


def test_levels(tmp_path):
    root = write_aircraft(str(tmp_path))
    _, names = load(f"aircraft:{root}", "test", aircraft_level="manufacturer")
    assert names == AIRCRAFT_MANUFACTURERS
    with pytest.raises(ValueError, match="aircraft_level`='model'"):
        load(f"aircraft:{root}", "test", aircraft_level="model")


def test_object_boxes_are_relative_to_the_image_without_banner(tmp_path):
    root = write_aircraft(str(tmp_path), size=(60, 50))
    dataset, _ = load(
        f"aircraft:{root}", "val", image_size=24, augmentation="paper", boxes="object"
    )
    inputs, _ = next(iter(dataset))
    # xmin=6 ymin=11 xmax=25 ymax=30 (1-based) in a 50 x (60 - 20) image.
    np.testing.assert_allclose(
        inputs["boxes"][0, 0], [10 / 40, 5 / 50, 30 / 40, 25 / 50], atol=1e-6
    )


def test_unknown_class_in_a_label_file(tmp_path):
    root = write_aircraft(str(tmp_path))
    path = os.path.join(root, "data", "images_variant_test.txt")
    with open(path) as file:
        lines = file.read().splitlines()
    lines[0] = lines[0].split()[0] + " 747-400"
    with open(path, "w") as file:
        file.write("\n".join(lines) + "\n")
    with pytest.warns(BadDataWarning, match="unknown variant '747-400'"):
        dataset, _ = load(f"aircraft:{root}", "test", image_size=24)
    assert len(_all(dataset)[1]) == 7
    with pytest.raises(ValueError, match="unknown variant '747-400'"):
        load(f"aircraft:{root}", "test", on_bad_image="error")


def test_missing_split_file(tmp_path):
    root = write_aircraft(str(tmp_path))
    os.remove(os.path.join(root, "data", "images_variant_test.txt"))
    with pytest.raises(FileNotFoundError, match="images_variant_test.txt"):
        load(f"aircraft:{root}", "test")
    with pytest.raises(ValueError, match="splits train, val, trainval, test"):
        load(f"aircraft:{root}", "holdout")
