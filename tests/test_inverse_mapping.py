import numpy as np
import pytest

from keras_rra.layers import InverseMapping
from tests.helpers import run_layer_test


def _features(shape=(2, 8, 8, 16)):
    return np.random.normal(size=shape).astype("float32")


def test_layer_contract():
    layer = run_layer_test(
        InverseMapping,
        {"output_size": 64, "filters": 16},
        _features(),
        expected_output_shape=(2, 64, 64, 1),
        # 1×1 reduction, three ×2 transposed convolutions, the saliency conv.
        expected_num_trainable_weights=10,
    )
    assert len(layer.upsampling) == 3
    assert layer.resize is None


def test_saliency_is_a_probability_at_every_pixel():
    saliency = np.asarray(InverseMapping(output_size=32)(_features((3, 4, 4, 8))))
    assert saliency.shape == (3, 32, 32, 1)
    assert 0.0 < saliency.min() and saliency.max() < 1.0


def test_stride_that_is_not_a_power_of_two_is_resized():
    layer = InverseMapping(output_size=(50, 75), filters=8)
    saliency = layer(_features((1, 7, 7, 4)))
    assert saliency.shape == (1, 50, 75, 1)
    assert len(layer.upsampling) == 2  # 7 -> 28, then resized
    assert layer.resize is not None


def test_rejects_a_feature_map_too_small_to_decode():
    with pytest.raises(ValueError, match=r"\(1, 1\) is too small"):
        InverseMapping(output_size=64)(_features((1, 1, 1, 8)))


def test_rejects_a_feature_map_larger_than_the_output():
    with pytest.raises(ValueError, match="only upsamples"):
        InverseMapping(output_size=16)(_features((1, 32, 32, 8)))


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="output_size"):
        InverseMapping(output_size=0)
    with pytest.raises(ValueError, match="filters"):
        InverseMapping(output_size=8, filters=0)
