import numpy as np
import pytest
import tensorflow as tf

from keras_rra.layers import DifferentiableZoom
from keras_rra.layers import PatchSampler
from tests.helpers import run_layer_test


def _images(shape=(2, 32, 32, 3)):
    return np.random.uniform(0, 255, shape).astype("float32")


def _box_saliency(box, size=32):
    """A map that is 1 inside the normalised box (given in pixels) and 0 out."""
    y1, x1, y2, x2 = box
    saliency = np.zeros((1, size, size, 1), "float32")
    saliency[0, y1:y2, x1:x2] = 1.0
    return saliency


def test_layer_contract():
    run_layer_test(
        DifferentiableZoom,
        {"output_size": 16},
        {
            "images": _images(),
            "saliency": np.random.uniform(size=(2, 32, 32, 1)).astype("float32"),
        },
        expected_output_shape=((2, 16, 16, 3), (2, 4)),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def _soft(half):
    # The zoom's soft cap of a half-extent.
    return 0.5 * np.tanh(2 * half)


def test_uniform_mass_over_a_box_gives_its_centre_and_soft_capped_extent():
    zoom = DifferentiableZoom(16, keep_aspect=False)
    _, boxes = zoom(_images((1, 32, 32, 3)), _box_saliency((4, 8, 12, 24)))
    cy, cx, hy, hx = 8 / 32, 16 / 32, _soft(4 / 32), _soft(8 / 32)
    np.testing.assert_allclose(
        boxes[0], [cy - hy, cx - hx, cy + hy, cx + hx], atol=1e-4
    )
    # Small boxes come back nearly unchanged.
    assert _soft(4 / 32) == pytest.approx(4 / 32, rel=0.06)


def test_keep_aspect_enlarges_the_short_side_about_the_centre():
    zoom = DifferentiableZoom(16)
    _, boxes = zoom(_images((1, 32, 32, 3)), _box_saliency((4, 8, 12, 24)))
    # 8 x 16 pixels -> square, same centre (8, 16).
    half = _soft(8 / 32)
    np.testing.assert_allclose(
        boxes[0], [0.25 - half, 0.5 - half, 0.25 + half, 0.5 + half], atol=1e-4
    )


def test_zoomed_image_is_the_patch_of_the_box():
    images = _images((1, 32, 32, 3))
    zoomed, boxes = DifferentiableZoom(16)(images, _box_saliency((8, 8, 24, 24)))
    np.testing.assert_allclose(
        zoomed, PatchSampler(16)(images, boxes), rtol=0, atol=1e-3
    )


def test_uniform_saliency_gives_the_central_three_quarters_with_a_gradient():
    saliency = tf.Variable(np.full((2, 32, 32, 1), 0.5, "float32"))
    weights = tf.constant(np.random.normal(size=(2, 16, 16, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        zoomed, boxes = DifferentiableZoom(16)(_images(), saliency)
        loss = tf.reduce_sum(zoomed * weights)
    half = _soft(0.5)
    np.testing.assert_allclose(
        boxes, [[0.5 - half, 0.5 - half, 0.5 + half, 0.5 + half]] * 2, atol=1e-4
    )
    # An untrained saliency map is nearly uniform: training must start here.
    assert np.abs(np.asarray(tape.gradient(loss, saliency))).max() > 0


def test_small_mass_gets_the_minimum_extent_and_stays_inside():
    saliency = np.zeros((1, 32, 32, 1), "float32")
    saliency[0, 0, 31] = 1.0  # one corner pixel
    _, boxes = DifferentiableZoom(16, min_extent=0.25)(
        _images((1, 32, 32, 3)), saliency
    )
    np.testing.assert_allclose(boxes[0], [0.0, 0.75, 0.25, 1.0], atol=1e-4)


@pytest.mark.parametrize("fill", [0.0, np.nan, np.inf, -1.0])
def test_empty_or_non_finite_saliency_falls_back_to_the_whole_image(fill):
    images = _images((1, 32, 32, 3))
    saliency = tf.Variable(np.full((1, 32, 32, 1), fill, "float32"))
    zoom = DifferentiableZoom(16)
    with tf.GradientTape() as tape:
        zoomed, boxes = zoom(images, saliency)
        loss = tf.reduce_sum(zoomed)
    gradient = tape.gradient(loss, saliency)
    np.testing.assert_allclose(boxes, [[0, 0, 1, 1]], atol=1e-6)
    np.testing.assert_allclose(zoomed, PatchSampler(16)(images, boxes), atol=1e-3)
    assert np.isfinite(zoomed.numpy()).all()
    assert gradient is None or np.isfinite(np.asarray(gradient)).all()


def test_partly_non_finite_saliency_ignores_the_bad_pixels():
    saliency = _box_saliency((8, 8, 16, 16))
    saliency[0, 30, 30] = np.nan
    _, boxes = DifferentiableZoom(16)(_images((1, 32, 32, 3)), saliency)
    half = _soft(4 / 32)
    np.testing.assert_allclose(
        boxes[0], [0.375 - half, 0.375 - half, 0.375 + half, 0.375 + half], atol=1e-4
    )


def test_gradients_reach_the_saliency():
    images = _images((1, 32, 32, 3))
    start = np.random.uniform(0.1, 1.0, (1, 32, 32, 1)).astype("float32")
    start[0, 4:12, 20:28] += 3.0
    saliency = tf.Variable(start)
    weights = tf.constant(np.random.normal(size=(1, 16, 16, 3)).astype("float32"))
    with tf.GradientTape() as tape:
        zoomed, _ = DifferentiableZoom(16)(images, saliency)
        loss = tf.reduce_sum(zoomed * weights)
    gradient = np.asarray(tape.gradient(loss, saliency))
    assert np.isfinite(gradient).all()
    assert np.abs(gradient).max() > 0


def test_rejects_bad_arguments_and_shapes():
    with pytest.raises(ValueError, match="spread"):
        DifferentiableZoom(16, spread=0)
    with pytest.raises(ValueError, match="min_extent"):
        DifferentiableZoom(16, min_extent=0)
    with pytest.raises(ValueError, match="saliency map of shape"):
        DifferentiableZoom(16)(_images(), np.zeros((2, 32, 32, 3), "float32"))
