import numpy as np
import pytest

from keras_rra.layers import PartAttention
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        PartAttention,
        {},
        {
            "features": np.random.normal(size=(6, 8)).astype("float32"),
            "boxes": np.zeros((2, 3, 4), "float32"),
        },
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=2,
    )


def test_weights_start_equal_as_a_mean_over_the_patches():
    features = np.random.normal(size=(8, 5)).astype("float32")
    weights = np.asarray(PartAttention()(features, np.zeros((4, 2, 4), "float32")))
    np.testing.assert_allclose(weights, 0.5, atol=1e-7)


def test_weights_are_a_softmax_over_each_images_patches():
    features = np.random.normal(size=(6, 4)).astype("float32")
    layer = PartAttention()
    layer(features, np.zeros((2, 3, 4), "float32"))
    kernel = np.random.normal(size=(4, 1)).astype("float32")
    layer.score.kernel.assign(kernel)
    layer.score.bias.assign([0.3])
    weights = np.asarray(layer(features, np.zeros((2, 3, 4), "float32")))
    scores = (features @ kernel[:, 0] + 0.3).reshape(2, 3)
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    # The patches of one image (adjacent rows) share one softmax.
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)


def test_a_single_patch_has_weight_one_and_no_warning():
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        weights = PartAttention()(np.ones((3, 4), "float32"), np.zeros((3, 1, 4)))
    assert not [w for w in caught if "softmax" in str(w.message)]
    np.testing.assert_allclose(weights, 1.0)


def test_bad_shapes_name_what_was_expected():
    with pytest.raises(ValueError, match=r"\(batch \* K, units\).*\(6, 2, 8\)"):
        PartAttention()(np.zeros((6, 2, 8), "float32"), np.zeros((2, 3, 4)))
