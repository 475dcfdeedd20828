import numpy as np
import pytest

from keras_rra.layers import ActivationPeakBoxes
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        ActivationPeakBoxes,
        {"fraction": 0.5},
        {
            "class_maps": np.random.normal(size=(2, 4, 4, 3)).astype("float32"),
            "logits": np.random.normal(size=(2, 3)).astype("float32"),
        },
        expected_output_shape=(2, 1, 4),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_box_is_centred_on_the_top_class_peak():
    maps = np.zeros((2, 8, 8, 2), "float32")
    maps[:, 2, 5, 0] = 4.0  # class 0 peaks at row 2, column 5
    maps[:, 6, 1, 1] = 4.0  # class 1 peaks at row 6, column 1
    logits = np.array([[3.0, 1.0], [1.0, 3.0]], "float32")
    boxes = np.asarray(ActivationPeakBoxes(0.25)(maps, logits))[:, 0]
    np.testing.assert_allclose(
        boxes,
        [
            [2.5 / 8 - 0.125, 5.5 / 8 - 0.125, 2.5 / 8 + 0.125, 5.5 / 8 + 0.125],
            [6.5 / 8 - 0.125, 1.5 / 8 - 0.125, 6.5 / 8 + 0.125, 1.5 / 8 + 0.125],
        ],
        atol=1e-6,
    )


def test_box_near_the_border_is_shifted_inside():
    maps = np.zeros((1, 4, 4, 1), "float32")
    maps[0, 3, 3, 0] = 1.0
    boxes = np.asarray(ActivationPeakBoxes(0.5)(maps, np.ones((1, 1), "float32")))
    np.testing.assert_allclose(boxes[0, 0], [0.5, 0.5, 1.0, 1.0], atol=1e-6)


def test_rejects_bad_fraction():
    with pytest.raises(ValueError, match="fraction"):
        ActivationPeakBoxes(1.5)


def test_tied_cells_give_their_mean_position():
    maps = np.zeros((1, 4, 4, 1), "float32")
    maps[0, 1, 1, 0] = maps[0, 1, 2, 0] = 2.0  # two equal peaks in row 1
    boxes = np.asarray(ActivationPeakBoxes(0.5)(maps, np.ones((1, 1), "float32")))
    # Centre (1.5 / 4, 2 / 4).
    np.testing.assert_allclose(boxes[0, 0], [0.125, 0.25, 0.625, 0.75], atol=1e-6)
    flat = np.ones((1, 4, 4, 1), "float32")
    boxes = np.asarray(ActivationPeakBoxes(0.5)(flat, np.ones((1, 1), "float32")))
    np.testing.assert_allclose(boxes[0, 0], [0.25, 0.25, 0.75, 0.75], atol=1e-6)
