import numpy as np
import pytest

from keras_rra.layers import AnchorPooling
from keras_rra.layers.anchor_pooling import anchor_membership
from keras_rra.layers.part_navigator import anchor_grid
from tests.helpers import run_layer_test


def test_layer_contract():
    run_layer_test(
        AnchorPooling,
        {"anchor_grid_size": 4, "anchor_sizes": [0.5, 0.25]},
        np.random.uniform(size=(2, 16, 16, 3)).astype("float32"),
        expected_output_shape=(2, 32, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_each_box_averages_the_cells_whose_centres_it_holds():
    # An 8x8 map whose value is the cell's row; boxes from a 4x4 grid.
    rows = np.repeat(np.arange(8, dtype="float32"), 8).reshape(1, 8, 8, 1)
    pooled = np.asarray(AnchorPooling(4, (0.25,), reduction="mean")(rows))[0, :, 0]
    # Box (row 1, any column) spans y in [0.25, 0.5]: cells 2 and 3.
    np.testing.assert_allclose(pooled.reshape(4, 4)[1], 2.5)
    # A box of the top row, shifted inside the image, holds cells 0 and 1.
    np.testing.assert_allclose(pooled.reshape(4, 4)[0], 0.5)


def test_each_box_takes_the_largest_value_of_its_cells():
    rows = np.repeat(np.arange(8, dtype="float32"), 8).reshape(1, 8, 8, 1)
    pooled = np.asarray(AnchorPooling(4, (0.25,))(rows))[0, :, 0].reshape(4, 4)
    # Box row 1 holds cell rows 2 and 3; the top row, shifted inside, 0 and 1.
    np.testing.assert_allclose(pooled[1], 3.0)
    np.testing.assert_allclose(pooled[0], 1.0)


@pytest.mark.parametrize("reduction", ["max", "mean"])
@pytest.mark.parametrize("sizes", [(0.25,), (0.3, 0.6), (0.05, 0.9)])
def test_pooling_matches_the_cells_of_every_box(reduction, sizes):
    # Boxes of several shapes (shifted at the border, smaller than a cell)
    # come back in the navigator's order.
    feature_map = np.random.default_rng(0).normal(size=(2, 12, 12, 5))
    anchors = anchor_grid((6, 6), sizes)
    members = anchor_membership(anchors, (12, 12)) > 0
    flat = feature_map.reshape(2, -1, 5)
    reduce = np.max if reduction == "max" else np.mean
    expected = np.stack([reduce(flat[:, cells], axis=1) for cells in members], 1)
    pooled = AnchorPooling(6, sizes, reduction=reduction)(feature_map.astype("float32"))
    np.testing.assert_allclose(np.asarray(pooled), expected, rtol=1e-5, atol=1e-5)


def test_an_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="reduction"):
        AnchorPooling(4, reduction="sum")


def test_a_box_smaller_than_a_cell_takes_the_nearest_cell():
    anchors = anchor_grid((8, 8), (0.05,))
    weights = anchor_membership(anchors, (2, 2))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert np.all((weights == 1.0).sum(axis=1) == 1)


def test_a_map_of_unknown_size_is_refused():
    with pytest.raises(ValueError, match="known size"):
        AnchorPooling(4).build((None, None, None, 3))


def test_box_scale_pools_the_central_square_of_each_box():
    rows = np.repeat(np.arange(16, dtype="float32"), 16).reshape(1, 16, 16, 1)
    whole = np.asarray(AnchorPooling(4, (0.25,))(rows))[0, :, 0].reshape(4, 4)
    central = np.asarray(AnchorPooling(4, (0.25,), box_scale=0.5)(rows))
    # Box row 1 spans y in [0.25, 0.5]: cells 4-7; its central half 5-6.
    np.testing.assert_allclose(whole[1], 7.0)
    np.testing.assert_allclose(central[0, :, 0].reshape(4, 4)[1], 6.0)
