import numpy as np
import pytest

from keras_rra.layers import CenterBoxes
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        CenterBoxes,
        {"fraction": 0.5},
        np.zeros((2, 8, 8, 3), "float32"),
        expected_output_shape=(2, 1, 4),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


@pytest.mark.parametrize("fraction", [0.25, 0.6, 1.0])
def test_box_is_centred_with_the_given_side(fraction):
    boxes = np.asarray(CenterBoxes(fraction)(np.zeros((3, 8, 8, 3), "float32")))
    low = (1 - fraction) / 2
    np.testing.assert_allclose(
        boxes,
        np.tile([[[low, low, low + fraction, low + fraction]]], (3, 1, 1)),
        atol=1e-6,
    )


@pytest.mark.parametrize("fraction", [0.0, 1.5, -1])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match=f"fraction.*{fraction}"):
        CenterBoxes(fraction)
