import numpy as np
import pytest

from keras_rra.data.augmentation import Augmentation
from keras_rra.layers import ImageConverter
from tests.helpers import run_layer_test


def test_layer_checks_of_the_shared_helper():
    images = np.random.default_rng(0).uniform(0, 255, (2, 40, 24, 3))
    run_layer_test(
        ImageConverter,
        {"image_size": 16, "augmentation": "standard", "resize_size": 20},
        images.astype("float32"),
        expected_output_shape=(2, 16, 16, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


@pytest.mark.parametrize("augmentation", ["paper", "standard"])
def test_pixels_equal_the_evaluation_pipelines(augmentation):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (45, 30, 3), dtype="uint8")
    converter = ImageConverter(24, augmentation=augmentation)
    transform = Augmentation(augmentation, 24)
    expected, _ = transform.resize(image)
    expected, _ = transform.finish(expected, training=False)
    np.testing.assert_array_equal(np.asarray(converter(image)), np.asarray(expected))
    batch = np.asarray(converter(np.stack([image, image])))
    np.testing.assert_array_equal(batch[1], np.asarray(expected))


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match="makes square images.*\\(16, 24\\)"):
        ImageConverter((16, 24))
    with pytest.raises(ValueError, match="resize_size=10 is smaller"):
        ImageConverter(16, augmentation="standard", resize_size=10)
    with pytest.raises(ValueError, match="Unknown `augmentation`='crop'"):
        ImageConverter(16, augmentation="crop")
    with pytest.raises(ValueError, match="RGB images.*\\(2, 8, 8, 1\\)"):
        ImageConverter(16)(np.zeros((2, 8, 8, 1), "uint8"))
