import keras
import numpy as np
import pytest

from keras_rra.layers import AttentionMaps
from tests.helpers import run_layer_test


def _features(shape=(2, 6, 6, 16)):
    return np.random.normal(size=shape).astype("float32")


def test_layer_contract():
    run_layer_test(
        AttentionMaps,
        {"num_maps": 4},
        _features(),
        expected_output_shape=(2, 6, 6, 4),
        expected_num_trainable_weights=2,
    )


@pytest.mark.parametrize("channels, maps", [(16, 4), (32, 32), (128, 8)])
def test_orthogonal_initialisation_gives_orthonormal_columns(channels, maps):
    layer = AttentionMaps(num_maps=maps)
    layer.build((None, 5, 5, channels))
    kernel = keras.ops.convert_to_numpy(layer.projection.kernel).reshape(channels, maps)
    np.testing.assert_allclose(kernel.T @ kernel, np.eye(maps), atol=1e-5)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer.projection.bias), 0)


def test_ablation_kernel_is_not_orthonormal():
    layer = AttentionMaps(num_maps=8, orthogonal=False)
    layer.build((None, 5, 5, 64))
    kernel = keras.ops.convert_to_numpy(layer.projection.kernel).reshape(64, 8)
    gram = kernel.T @ kernel
    assert np.abs(gram - np.diag(np.diag(gram))).max() > 0.05


def test_maps_are_non_negative():
    maps = keras.ops.convert_to_numpy(AttentionMaps(num_maps=8)(_features()))
    assert maps.min() == 0.0
    assert maps.max() > 0.0


@pytest.mark.parametrize("maps", [0, -1, 2.5, True])
def test_rejects_bad_number_of_maps(maps):
    with pytest.raises(ValueError, match="num_maps"):
        AttentionMaps(num_maps=maps)


def test_rejects_more_orthonormal_maps_than_channels():
    with pytest.raises(ValueError, match=r"num_maps=32 .* 16 channels"):
        AttentionMaps(num_maps=32)(_features())
    # Without the orthogonal start any number of maps is fine.
    assert AttentionMaps(num_maps=32, orthogonal=False)(_features()).shape[-1] == 32


def test_rejects_non_image_features():
    with pytest.raises(ValueError, match=r"\(batch, h, w, channels\)"):
        AttentionMaps(num_maps=2)(np.zeros((2, 16), "float32"))
