import numpy as np
import pytest

from keras_rra.layers import PatchAverage
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        PatchAverage,
        {},
        {
            "values": np.random.normal(size=(6, 3)).astype("float32"),
            "boxes": np.zeros((2, 3, 4), "float32"),
        },
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_averages_each_images_patches():
    values = np.random.normal(size=(6, 2, 5)).astype("float32")
    averaged = np.asarray(PatchAverage()(values, np.zeros((3, 2, 4), "float32")))
    np.testing.assert_allclose(averaged, values.reshape(3, 2, 2, 5).mean(1), atol=1e-6)


def test_bad_boxes_shape():
    with pytest.raises(ValueError, match=r"\(batch, num_boxes, 4\).*\(3, 4\)"):
        PatchAverage()(np.zeros((3, 2), "float32"), np.zeros((3, 4), "float32"))


def test_weights_choose_how_much_each_patch_counts():
    values = np.random.normal(size=(6, 2, 5)).astype("float32")
    weights = np.array([[1.0, 0.0], [0.25, 0.75], [0.5, 0.5]], "float32")
    averaged = np.asarray(
        PatchAverage()(values, np.zeros((3, 2, 4), "float32"), weights)
    )
    expected = (values.reshape(3, 2, 2, 5) * weights[:, :, None, None]).sum(1)
    np.testing.assert_allclose(averaged, expected, atol=1e-6)
    np.testing.assert_allclose(averaged[0], values[0], atol=1e-6)
