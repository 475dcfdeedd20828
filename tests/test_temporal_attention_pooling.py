import numpy as np
import pytest

from keras_rra.layers import TemporalAttentionPooling
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        TemporalAttentionPooling,
        {},
        np.random.normal(size=(2, 4, 8)).astype("float32"),
        expected_output_shape=((2, 8), (2, 4)),
        expected_num_trainable_weights=2,
    )


def test_weights_are_a_softmax_of_shared_scores():
    states = np.random.normal(size=(3, 5, 6)).astype("float32")
    layer = TemporalAttentionPooling()
    pooled, weights = (np.asarray(t) for t in layer(states))
    kernel, bias = (np.asarray(w) for w in layer.score.weights)
    scores = states @ kernel[:, 0] + bias[0]
    expected = np.exp(scores - scores.max(1, keepdims=True))
    expected /= expected.sum(1, keepdims=True)
    np.testing.assert_allclose(weights, expected, atol=1e-6)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(pooled, (expected[..., None] * states).sum(1), atol=1e-5)


def test_identical_states_pool_to_that_state():
    state = np.random.normal(size=(1, 1, 6)).astype("float32")
    pooled, _ = TemporalAttentionPooling()(np.repeat(state, 4, axis=1))
    np.testing.assert_allclose(pooled, state[:, 0], atol=1e-6)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match=r"\(batch, timesteps, units\).*\(2, 3\)"):
        TemporalAttentionPooling()(np.ones((2, 3), "float32"))


def test_a_single_step_has_weight_one_and_no_warning():
    import warnings

    states = np.random.normal(size=(2, 1, 6)).astype("float32")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pooled, weights = TemporalAttentionPooling()(states)
    assert not [w for w in caught if "softmax" in str(w.message)]
    np.testing.assert_allclose(weights, 1.0)
    np.testing.assert_allclose(pooled, states[:, 0], atol=1e-6)
