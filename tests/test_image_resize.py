import keras
import numpy as np
import pytest

from keras_rra.layers import ImageResize
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        ImageResize,
        {"size": (16, 24)},
        np.random.uniform(0, 255, (2, 32, 48, 3)).astype("float32"),
        expected_output_shape=(2, 16, 24, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_same_pixels_as_keras_resizing():
    images = np.random.uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(
        ImageResize(32)(images), keras.layers.Resizing(32, 32)(images), atol=1e-4
    )


def test_layers_after_it_stay_in_inference_mode():
    # keras.layers.Resizing's training=True default reaches the layers after
    # it; a batch normalisation after this layer must use its moving
    # statistics when the model is called without `training`.
    inputs = keras.Input((8, 8, 1))
    outputs = keras.layers.BatchNormalization()(ImageResize(4)(inputs))
    model = keras.Model(inputs, outputs)
    images = np.random.uniform(0, 255, (3, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(model(images), model(images, training=False))
    assert not np.allclose(model(images), model(images, training=True))


def test_bad_rank_is_named():
    with pytest.raises(ValueError, match=r"\(batch, height, width, channels\)"):
        ImageResize(4)(np.zeros((8, 8, 3), "float32"))
