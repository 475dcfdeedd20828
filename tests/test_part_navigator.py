import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rra.layers import PartNavigator
from keras_rra.layers.part_navigator import anchor_grid
from keras_rra.layers.part_navigator import box_overlaps
from tests.helpers import run_layer_test


def _features(batch=2, size=8, channels=16):
    return np.random.uniform(0, 1, (batch, size, size, channels)).astype("float32")


def _navigator_with_scores(scores, **kwargs):
    """A navigator whose score map is `scores` (batch, h, w, 1), whatever the
    features: the hidden layer passes them through and the score layer reads
    channel 0."""
    navigator = PartNavigator(hidden_channels=1, **kwargs)
    features = np.asarray(scores, "float32")
    navigator.build(features.shape)
    identity = np.zeros((3, 3, 1, 1), "float32")
    identity[1, 1] = 1.0
    navigator.hidden.set_weights([identity, np.zeros(1, "float32")])
    navigator.score.set_weights([np.ones((1, 1, 1, 1), "float32"), np.zeros(1)])
    return navigator, features


def test_layer_contract():
    run_layer_test(
        PartNavigator,
        {"num_parts": 2, "anchor_sizes": [0.25, 0.5], "hidden_channels": 8},
        _features(),
        expected_output_shape=((2, 2, 4), (2, 2), (2, 8, 8, 2)),
        expected_num_trainable_weights=4,
    )


def test_layer_contract_with_a_finer_grid_of_box_centres():
    run_layer_test(
        PartNavigator,
        {"num_parts": 2, "anchor_sizes": [0.25, 0.5], "anchor_density": 2},
        _features(size=4),
        expected_output_shape=((2, 2, 4), (2, 2), (2, 8, 8, 2)),
        expected_num_trainable_weights=4,
    )


def test_a_finer_grid_centres_boxes_between_the_cells():
    # Each cell's scores are its (row offset, column offset, size) block of
    # the finer grid: the score of channel (1, 0, size 1) at cell (2, 3) is
    # the box of size 1 at fine cell (2 * 2 + 1, 3 * 2 + 0).
    navigator = PartNavigator(
        num_parts=1, anchor_sizes=[0.25, 0.125], anchor_density=2, hidden_channels=1
    )
    features = np.zeros((1, 4, 4, 1), "float32")
    features[0, 2, 3, 0] = 1.0
    navigator.build(features.shape)
    identity = np.zeros((3, 3, 1, 1), "float32")
    identity[1, 1] = 1.0
    navigator.hidden.set_weights([identity, np.zeros(1, "float32")])
    kernel = np.zeros((1, 1, 1, 8), "float32")
    kernel[..., (1 * 2 + 0) * 2 + 1] = 1.0
    navigator.score.set_weights([kernel, np.zeros(8, "float32")])
    boxes, scores, score_map = navigator(features)
    assert navigator.grid_size == (8, 8)
    assert score_map.shape == (1, 8, 8, 2)
    assert float(score_map[0, 5, 6, 1]) == 1.0
    assert float(np.sum(score_map)) == 1.0
    # Centred at ((5 + 0.5) / 8, (6 + 0.5) / 8), 0.125 on a side.
    np.testing.assert_allclose(boxes[0, 0], [0.625, 0.75, 0.75, 0.875], atol=1e-6)
    np.testing.assert_allclose(scores[0], [1.0])


def test_anchor_grid_centres_boxes_on_cells_inside_the_image():
    anchors = anchor_grid((4, 4), (0.5,))
    assert anchors.shape == (16, 4)
    assert anchors.min() >= 0.0 and anchors.max() <= 1.0
    np.testing.assert_allclose(anchors[:, 2:] - anchors[:, :2], 0.5)
    # Cell (1, 2) is centred at (0.375, 0.625).
    np.testing.assert_allclose(anchors[1 * 4 + 2], [0.125, 0.375, 0.625, 0.875])


def test_chooses_the_highest_scores_best_first_and_apart():
    scores = np.zeros((1, 8, 8, 1), "float32")
    scores[0, 6, 1, 0] = 5.0
    scores[0, 6, 2, 0] = 4.0  # overlaps the best box: suppressed
    scores[0, 1, 5, 0] = 3.0
    navigator, features = _navigator_with_scores(scores, num_parts=2)
    boxes, chosen, score_map = navigator(features)
    anchors = navigator.anchors()
    np.testing.assert_allclose(boxes[0, 0], anchors[6 * 8 + 1])
    np.testing.assert_allclose(boxes[0, 1], anchors[1 * 8 + 5])
    np.testing.assert_allclose(chosen[0], [5.0, 3.0])
    np.testing.assert_allclose(score_map, scores)


def test_without_suppression_neighbours_are_chosen():
    scores = np.zeros((1, 8, 8, 1), "float32")
    scores[0, 6, 1, 0], scores[0, 6, 2, 0] = 5.0, 4.0
    navigator, features = _navigator_with_scores(
        scores, num_parts=2, overlap_threshold=1.0
    )
    boxes, _, _ = navigator(features)
    np.testing.assert_allclose(boxes[0, 1], navigator.anchors()[6 * 8 + 2])


def test_exploration_samples_while_training_and_never_at_inference():
    navigator = PartNavigator(num_parts=1, exploration=1.0, seed=3)
    features = _features(batch=64)
    first, _, _ = navigator(features, training=False)
    second, _, _ = navigator(features, training=False)
    np.testing.assert_array_equal(first, second)
    explored, _, _ = navigator(features, training=True)
    # Zero initial scores: exploration spreads the boxes over the image.
    assert len(np.unique(np.asarray(explored)[:, 0, :2], axis=0)) > 10
    # The default: the box it will look at, in training too.
    calm = PartNavigator(num_parts=1)
    calm_boxes, _, _ = calm(features, training=True)
    assert len(np.unique(np.asarray(calm_boxes)[:, 0, :2], axis=0)) == 1


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf, 0.0])
def test_non_finite_or_flat_scores_give_valid_boxes_and_finite_gradients(value):
    navigator = PartNavigator(num_parts=2)
    navigator.build((None, 8, 8, 4))
    scores = np.zeros((2, 64), "float32")
    scores[0, :] = value  # all of them
    scores[1, 5] = value  # one of them
    scores = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(scores)
        boxes, chosen = navigator.choose(scores, training=True)
        loss = tf.reduce_sum(chosen)
    gradient = np.asarray(tape.gradient(loss, scores))
    boxes, chosen = np.asarray(boxes), np.asarray(chosen)
    assert np.all(np.isfinite(boxes)) and np.all(np.isfinite(chosen))
    assert np.all(boxes[..., 2:] > boxes[..., :2])
    assert boxes.min() >= 0.0 and boxes.max() <= 1.0
    assert np.all(np.isfinite(gradient))


def test_a_flat_map_gives_the_first_candidates_at_inference():
    navigator = PartNavigator(num_parts=2, overlap_threshold=1.0)
    navigator.build((None, 8, 8, 4))
    boxes, _ = navigator.choose(np.zeros((1, 64), "float32"))
    np.testing.assert_allclose(boxes[0], navigator.anchors()[:2])


def test_gradients_reach_the_scores_of_the_chosen_boxes():
    navigator = PartNavigator(num_parts=2)
    features = tf.constant(_features())
    navigator.build(features.shape)
    with tf.GradientTape() as tape:
        _, scores, _ = navigator(features, training=True)
        loss = tf.reduce_sum(scores)
    gradients = tape.gradient(loss, navigator.trainable_variables)
    assert all(gradient is not None for gradient in gradients)
    assert np.abs(np.asarray(gradients[-2])).sum() > 0  # the score kernel


def test_box_overlaps_is_iou():
    boxes = np.array([[0, 0, 0.5, 0.5], [0.25, 0, 0.75, 0.5], [0.5, 0.5, 1, 1]])
    overlaps = box_overlaps(boxes)
    np.testing.assert_allclose(np.diag(overlaps), 1.0)
    assert overlaps[0, 1] == pytest.approx(1 / 3)
    assert overlaps[0, 2] == 0.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="num_parts=70 is more than the 64"):
        PartNavigator(num_parts=70)(_features())
    with pytest.raises(ValueError, match="anchor_sizes"):
        PartNavigator(anchor_sizes=(1.5,))
    with pytest.raises(ValueError, match="known size"):
        PartNavigator().build((None, None, None, 4))


def test_tflite_builtins_only_and_same_boxes():
    from tests.helpers import assert_tflite_matches

    inputs = keras.Input((8, 8, 4))
    boxes, scores, _ = PartNavigator(num_parts=2)(inputs)
    model = keras.Model(inputs, {"boxes": boxes, "scores": scores})
    assert_tflite_matches(model, _features(channels=4))
