"""Where a model looks, scored against the true part boxes."""

import numpy as np
import pytest
import tensorflow as tf

from keras_rra.models import BaselineClassifier
from keras_rra.training.localization import dataset_localization
from keras_rra.training.localization import localization_scores
from keras_rra.training.localization import teacher_scores
from tests.helpers import tiny_rra


def test_scores_of_boxes_against_part_boxes():
    part = np.array([[0.0, 0.0, 0.2, 0.2], [0.5, 0.5, 0.7, 0.7]])
    boxes = np.array([[0.0, 0.0, 0.4, 0.4], [0.0, 0.0, 0.4, 0.4]])
    scores = localization_scores(boxes, part)
    # The first box holds its part's centre, the second does not.
    assert scores["part_centre_hit_rate"] == pytest.approx(0.5)
    assert scores["mean_iou"] == pytest.approx((0.04 / 0.16 + 0) / 2)
    assert scores["mean_box_area"] == pytest.approx(0.16)
    with pytest.raises(ValueError, match=r"two \(N, 4\) arrays"):
        localization_scores(boxes[:1], part)


def _part_box_batches(images, part_boxes, batch_size):
    inputs = {"images": images, "boxes": part_boxes[:, None]}
    labels = np.zeros(len(images), "int32")
    return tf.data.Dataset.from_tensor_slices((inputs, labels)).batch(batch_size)


def test_a_dataset_of_part_boxes_scores_the_chosen_region():
    model = tiny_rra(num_classes=3, input_size=64, patch_size=24)
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (5, 64, 64, 3)).astype("float32")
    corner = rng.uniform(0, 0.7, (5, 2)).astype("float32")
    part_boxes = np.concatenate([corner, corner + 0.3], -1)
    # Over batches of 2, 2 and 1: the same scores as all images at once.
    scores = dataset_localization(model, _part_box_batches(images, part_boxes, 2))
    chosen = model.predict(images, verbose=0)["patch_boxes"][:, 0]
    expected = localization_scores(chosen, part_boxes)
    # A learned navigator's teacher is scored too, on the same labels.
    teacher = model.teacher_boxes(images, np.zeros(5, "int32"))
    expected.update(teacher_scores(teacher, part_boxes))
    assert set(expected) == {
        "part_centre_hit_rate",
        "mean_iou",
        "mean_box_area",
        "teacher_part_centre_hit_rate",
        "teacher_mean_iou",
        "teacher_mean_box_area",
    }
    assert scores == pytest.approx(expected, abs=1e-6)


def test_the_teachers_box_is_the_one_its_losses_train_towards():
    from keras_rra.models.navigator_losses import navigator_losses

    model = tiny_rra(num_classes=3, input_size=64, patch_size=24)
    images = np.random.default_rng(1).uniform(0, 255, (4, 64, 64, 3))
    images, labels = images.astype("float32"), np.array([0, 1, 2, 0])
    _, boxes = navigator_losses(
        images,
        labels,
        model(images)["navigator_scores"],
        model.teacher_backbone,
        model.part_teacher,
        model.anchor_pooling,
        3,
        training=False,
    )
    np.testing.assert_allclose(
        model.teacher_boxes(images, labels), np.asarray(boxes)[:, 0]
    )
    # Without a navigator there is no teacher.
    assert tiny_rra(num_classes=3, patch="center").teacher_boxes(images, labels) is None


def test_a_model_that_chooses_no_region_has_no_localization():
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    images = np.zeros((2, 32, 32, 3), "float32")
    boxes = np.array([[0.1, 0.1, 0.3, 0.3]] * 2, "float32")
    assert dataset_localization(model, _part_box_batches(images, boxes, 2)) is None


def test_with_part_weights_the_chosen_box_is_the_heaviest():
    from keras_rra.training.localization import chosen_boxes

    boxes = np.array(
        [[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]], [[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]],
        "float32",
    )
    weights = np.array([[0.3, 0.7], [0.9, 0.1]], "float32")
    np.testing.assert_array_equal(
        chosen_boxes({"patch_boxes": boxes, "part_weights": weights}),
        [[0.5, 0.5, 1, 1], [0, 0, 0.5, 0.5]],
    )
    np.testing.assert_array_equal(chosen_boxes({"patch_boxes": boxes}), boxes[:, 0])
