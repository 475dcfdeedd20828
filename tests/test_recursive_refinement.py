import numpy as np
import pytest

from keras_rra.layers import RecursiveRefinement
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        RecursiveRefinement,
        {"units": 8, "num_layers": 2, "timesteps": 3},
        np.random.normal(size=(4, 5)).astype("float32"),
        expected_output_shape=(4, 3, 8),
        # kernel, recurrent kernel and bias per LSTM
        expected_num_trainable_weights=6,
    )


def test_steps_refine_the_state():
    layer = RecursiveRefinement(units=6, num_layers=2, timesteps=4)
    states = np.asarray(layer(np.random.normal(size=(2, 5)).astype("float32")))
    # The input is the same at every step; only the recurrence changes it.
    assert not np.allclose(states[:, 0], states[:, -1])


def test_unrolled_equals_loop():
    embedding = np.random.normal(size=(3, 5)).astype("float32")
    unrolled = RecursiveRefinement(units=4, num_layers=2, timesteps=5, unroll=True)
    looped = RecursiveRefinement(units=4, num_layers=2, timesteps=5, unroll=False)
    unrolled(embedding)
    looped(embedding)
    looped.set_weights(unrolled.get_weights())
    np.testing.assert_allclose(unrolled(embedding), looped(embedding), atol=1e-6)


def test_one_step_is_a_single_lstm_step():
    layer = RecursiveRefinement(units=4, num_layers=1, timesteps=1)
    assert tuple(layer(np.ones((2, 3), "float32")).shape) == (2, 1, 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"timesteps": 0}, "timesteps.*0"),
        ({"timesteps": -2}, "timesteps.*-2"),
        ({"units": 0}, "units.*0"),
        ({"num_layers": 0}, "num_layers.*0"),
        ({"timesteps": 2.5}, "timesteps.*2.5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RecursiveRefinement(**kwargs)


def test_wrong_input_rank():
    with pytest.raises(ValueError, match=r"\(batch, features\).*\(2, 3, 4\)"):
        RecursiveRefinement(units=4, timesteps=2)(np.ones((2, 3, 4), "float32"))
