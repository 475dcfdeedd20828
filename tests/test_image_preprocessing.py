import keras
import numpy as np
import pytest

from keras_rra.layers import ImagePreprocessing
from tests.helpers import run_layer_test


def _pixels():
    return np.random.uniform(0, 255, (2, 4, 4, 3)).astype("float32")


def test_layer_contract():
    run_layer_test(
        ImagePreprocessing,
        {"mode": "caffe"},
        _pixels(),
        expected_output_shape=(2, 4, 4, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


@pytest.mark.parametrize(
    "mode, reference",
    [
        ("caffe", keras.applications.vgg16.preprocess_input),
        ("torch", keras.applications.densenet.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("unit", lambda x: x / 255.0),
        ("none", lambda x: x),
    ],
)
def test_matches_keras_applications(mode, reference):
    pixels = _pixels()
    expected = reference(pixels.copy())
    np.testing.assert_allclose(ImagePreprocessing(mode)(pixels), expected, atol=1e-4)


def test_unknown_mode_lists_modes():
    with pytest.raises(ValueError, match="'bgr'.*'caffe'"):
        ImagePreprocessing("bgr")


def test_channel_check():
    with pytest.raises(ValueError, match=r"3 channels.*\(2, 4, 4, 1\)"):
        ImagePreprocessing("caffe")(np.zeros((2, 4, 4, 1), "float32"))
