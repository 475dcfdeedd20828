import os
import tempfile

import keras
import numpy as np
import pytest

from keras_rra.layers import ProbabilityAverage
from tests.helpers import run_layer_test


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _logits(count=2):
    return [np.random.normal(size=(3, 5)).astype("float32") * 3 for _ in range(count)]


def test_layer_contract():
    run_layer_test(
        ProbabilityAverage,
        {"num_inputs": 2},
        _logits(),
        expected_output_shape=(3, 5),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_softmax_of_the_result_is_the_mean_probability():
    a, b, c = _logits(3)
    out = np.asarray(ProbabilityAverage(3)([a, b, c]))
    np.testing.assert_allclose(
        _softmax(out), (_softmax(a) + _softmax(b) + _softmax(c)) / 3, atol=1e-6
    )
    # Already normalised: the result is a log-probability.
    np.testing.assert_allclose(np.exp(out).sum(axis=-1), 1.0, atol=1e-6)


def test_a_head_with_zero_weight_is_left_out():
    a, b = _logits()
    b[0, 0] = 1e4  # extreme: must not leak into the result
    layer = ProbabilityAverage(2)
    layer([a, b])
    layer.set_input_weights([1.0, 0.0])
    out = np.asarray(layer([a, b]))
    assert np.isfinite(out).all()
    np.testing.assert_allclose(_softmax(out), _softmax(a), atol=1e-6)


def test_weights_are_saved_with_the_model():
    a, b = _logits()
    inputs = [keras.Input((5,)), keras.Input((5,))]
    layer = ProbabilityAverage(2)
    model = keras.Model(inputs, layer(inputs))
    layer.set_input_weights([0.25, 0.75])
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "m.keras")
        model.save(path)
        restored = keras.saving.load_model(path)
    np.testing.assert_allclose(restored([a, b]), model([a, b]), atol=1e-6)
    np.testing.assert_allclose(
        _softmax(np.asarray(restored([a, b]))),
        0.25 * _softmax(a) + 0.75 * _softmax(b),
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "weights, message",
    [([0.5], "Expected 2"), ([1.5, -0.5], "non-negative"), ([0.3, 0.3], "sum to 1")],
)
def test_rejects_bad_weights(weights, message):
    layer = ProbabilityAverage(2)
    layer(_logits())
    with pytest.raises(ValueError, match=message):
        layer.set_input_weights(weights)


def test_rejects_wrong_number_of_inputs():
    with pytest.raises(ValueError, match="list of 3 logits"):
        ProbabilityAverage(3)(_logits(2))
