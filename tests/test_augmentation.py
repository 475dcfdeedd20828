import numpy as np
import pytest
import tensorflow as tf

from keras_rra.data import Augmentation


def _image_with_white_box(height=60, width=80, box=(10, 50, 30, 70)):
    """A dark image with a white rectangle at pixel box (y1, x1, y2, x2)."""
    image = np.full((height, width, 3), 20, "uint8")
    y1, x1, y2, x2 = box
    image[y1:y2, x1:x2] = 255
    normalised = np.array(
        [[y1 / height, x1 / width, y2 / height, x2 / width]], "float32"
    )
    return image, normalised


def _mean_inside(image, box):
    height, width = image.shape[:2]
    y1, x1, y2, x2 = np.round(np.asarray(box) * [height, width, height, width]).astype(
        int
    )
    return float(np.asarray(image)[y1:y2, x1:x2].mean())


def test_paper_resizes_to_a_square_without_randomness():
    augmentation = Augmentation("paper", image_size=32)
    image, boxes = _image_with_white_box()
    resized, resized_boxes = augmentation.resize(image, boxes)
    assert resized.shape == (32, 32, 3) and resized.dtype == tf.uint8
    first, _ = augmentation.finish(resized, resized_boxes, training=True, seed=[1, 2])
    second, _ = augmentation.finish(resized, resized_boxes, training=True, seed=[3, 4])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(resized_boxes, boxes)


def test_paper_at_the_same_size_keeps_the_pixels():
    image = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype="uint8")
    resized, _ = Augmentation("paper", image_size=32).resize(image)
    np.testing.assert_array_equal(resized, image)


def test_standard_resizes_the_shorter_side_and_crops():
    augmentation = Augmentation("standard", image_size=32, resize_size=40)
    image, _ = _image_with_white_box(60, 80)
    resized, _ = augmentation.resize(image)
    assert resized.shape == (40, 53, 3)
    cropped, _ = augmentation.finish(resized, training=False)
    assert cropped.shape == (32, 32, 3) and cropped.dtype == tf.float32
    # The centre crop is the middle of the resized image.
    np.testing.assert_array_equal(cropped, np.asarray(resized)[4:36, 10:42])
    assert Augmentation("standard", image_size=224).shorter_side == 256


def test_standard_training_is_random_but_fixed_by_the_seed():
    augmentation = Augmentation("standard", image_size=32, resize_size=48)
    image = np.random.default_rng(1).integers(0, 255, (60, 80, 3), dtype="uint8")
    resized, _ = augmentation.resize(image)
    outputs = [
        np.asarray(augmentation.finish(resized, training=True, seed=[0, s])[0])
        for s in range(8)
    ]
    again = augmentation.finish(resized, training=True, seed=[0, 3])[0]
    np.testing.assert_array_equal(outputs[3], again)
    assert len({output.tobytes() for output in outputs}) > 4


@pytest.mark.parametrize("seed", range(6))
def test_boxes_follow_the_crop_and_flip(seed):
    augmentation = Augmentation("standard", image_size=32, resize_size=40)
    image, boxes = _image_with_white_box()
    resized, resized_boxes = augmentation.resize(image, boxes)
    output, moved = augmentation.finish(
        resized, resized_boxes, training=True, seed=[seed, 7]
    )
    moved = np.asarray(moved)[0]
    assert np.all((moved >= 0) & (moved <= 1))
    if moved[2] - moved[0] > 0.05 and moved[3] - moved[1] > 0.05:
        assert _mean_inside(output, moved) > 200


def test_bad_settings():
    with pytest.raises(ValueError, match="augmentation.*'heavy'"):
        Augmentation("heavy")
    with pytest.raises(
        ValueError, match="resize_size=100 is smaller than image_size=224"
    ):
        Augmentation("standard", image_size=224, resize_size=100)
