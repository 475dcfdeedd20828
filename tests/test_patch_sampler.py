import numpy as np
import pytest
import tensorflow as tf

from keras_rra.layers import PatchSampler
from tests.helpers import run_layer_test


def _reference(image, box, size):
    """Bilinear sampling at pixel centres, written with loops."""
    height, width = image.shape[:2]
    y1, x1, y2, x2 = box
    ys = np.clip(
        (y1 + (y2 - y1) * (np.arange(size) + 0.5) / size) * height - 0.5, 0, height - 1
    )
    xs = np.clip(
        (x1 + (x2 - x1) * (np.arange(size) + 0.5) / size) * width - 0.5, 0, width - 1
    )
    out = np.zeros((size, size, image.shape[2]))
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            y1_, x1_ = min(y0 + 1, height - 1), min(x0 + 1, width - 1)
            wy, wx = y - y0, x - x0
            out[i, j] = (
                image[y0, x0] * (1 - wy) * (1 - wx)
                + image[y0, x1_] * (1 - wy) * wx
                + image[y1_, x0] * wy * (1 - wx)
                + image[y1_, x1_] * wy * wx
            )
    return out


def _images(shape=(2, 20, 24, 3)):
    return np.random.uniform(0, 255, shape).astype("float32")


def test_layer_contract():
    run_layer_test(
        PatchSampler,
        {"patch_size": 8},
        {
            "images": _images((2, 16, 16, 3)),
            "boxes": np.array([[0.1, 0.2, 0.6, 0.9], [0.0, 0.0, 1.0, 1.0]], "float32"),
        },
        expected_output_shape=(2, 8, 8, 3),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_matches_bilinear_reference():
    images = _images()
    boxes = np.array([[0.1, 0.2, 0.6, 0.9], [0.3, 0.05, 0.95, 0.55]], "float32")
    patches = np.asarray(PatchSampler(12)(images, boxes))
    for b in range(2):
        np.testing.assert_allclose(
            patches[b], _reference(images[b], boxes[b], 12), atol=1e-3
        )


def test_whole_image_at_its_own_size_is_the_image():
    images = _images()
    boxes = np.tile([[0.0, 0.0, 1.0, 1.0]], (2, 1)).astype("float32")
    np.testing.assert_allclose(PatchSampler((20, 24))(images, boxes), images, atol=1e-4)


def test_several_boxes_are_folded_image_major():
    images = _images()
    boxes = np.array(
        [
            [[0.0, 0.0, 0.5, 0.5], [0.5, 0.5, 1.0, 1.0]],
            [[0.2, 0.2, 0.7, 0.7], [0.0, 0.0, 1.0, 1.0]],
        ],
        "float32",
    )
    patches = np.asarray(PatchSampler(6)(images, boxes))
    assert patches.shape == (4, 6, 6, 3)
    for b in range(2):
        for k in range(2):
            expected = _reference(images[b], boxes[b, k], 6)
            np.testing.assert_allclose(patches[b * 2 + k], expected, atol=1e-3)


def test_gradients_reach_image_and_box():
    images = tf.constant(_images())
    boxes = tf.constant([[0.13, 0.21, 0.61, 0.77], [0.3, 0.3, 0.8, 0.9]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([images, boxes])
        patches = PatchSampler(8)(images, boxes)
        loss = tf.reduce_sum(patches * tf.random.normal(patches.shape))
    image_grad = tf.convert_to_tensor(tape.gradient(loss, images))
    box_grad = tape.gradient(loss, boxes)
    assert np.abs(image_grad.numpy()).sum() > 0
    assert np.all(np.abs(box_grad.numpy()) > 0)


def test_traced_call_clamps_boxes_outside_the_image():
    sampler = PatchSampler(4)
    images = _images()
    boxes = tf.constant([[-0.5, -0.5, 1.5, 1.5], [0.0, 0.0, 1.0, 1.0]])
    patches = tf.function(sampler)(images, boxes).numpy()
    assert np.isfinite(patches).all()
    assert patches.min() >= images.min() - 1e-3 and patches.max() <= images.max() + 1e-3


@pytest.mark.parametrize(
    "box, match",
    [
        ([-0.1, 0.0, 0.5, 0.5], r"\[-0.1.*outside \[0, 1\]"),
        ([0.0, 0.0, 1.2, 0.5], r"1.2.*outside \[0, 1\]"),
        ([0.6, 0.0, 0.4, 0.5], r"y2 <= y1"),
        ([0.0, 0.5, 0.5, 0.5], r"x2 <= x1"),
        ([0.0, np.nan, 0.5, 0.5], r"not finite"),
    ],
)
def test_bad_boxes_are_named(box, match):
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], box], "float32")
    with pytest.raises(ValueError, match=match):
        PatchSampler(4)(_images(), boxes)


def test_wrong_image_rank_or_box_shape():
    with pytest.raises(ValueError, match=r"images of shape.*\(2, 20, 24\)"):
        PatchSampler(4)(np.zeros((2, 20, 24), "float32"), np.zeros((2, 4), "float32"))
    with pytest.raises(ValueError, match=r"boxes of shape.*\(2, 3\)"):
        PatchSampler(4)(_images(), np.zeros((2, 3), "float32"))


def test_bad_patch_size():
    with pytest.raises(ValueError, match="patch_size"):
        PatchSampler(0)


def test_patch_geometry_is_exact_under_bfloat16():
    # 448 -> 224 as in the paper; pixel values 0/1 are exact in bfloat16, so
    # any difference comes from where the samples land.
    rng = np.random.default_rng(0)
    images = rng.integers(0, 2, (2, 448, 448, 3)).astype("float32")
    starts = rng.uniform(0.0, 0.45, (2, 2))
    boxes = np.concatenate([starts, starts + 0.5], axis=-1).astype("float32")
    exact = PatchSampler(224)(images, boxes)
    mixed = PatchSampler(224, dtype="mixed_bfloat16")(images, boxes)
    assert mixed.dtype == "bfloat16"
    difference = np.abs(np.asarray(mixed, "float32") - np.asarray(exact))
    # Interpolation weights in bfloat16 round by < 1%; a sample point moved
    # by a fraction of a pixel would change 0/1 pixels by up to 1.
    assert difference.max() < 0.02, difference.max()
