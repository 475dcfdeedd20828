import numpy as np
import pytest

from keras_rra.explain import pointing_game
from keras_rra.explain import random_pointing_game
from keras_rra.explain import synthetic_pointing_game
from keras_rra.models import BaselineClassifier
from keras_rra.training import TrainConfig
from tests.helpers import tiny_synthetic


def test_a_peak_inside_the_part_box_scores():
    maps = np.zeros((2, 10, 10))
    maps[0, 2, 3] = 1  # inside the box below
    maps[1, 9, 9] = 1  # outside
    boxes = np.array([[0.1, 0.2, 0.4, 0.5]] * 2)
    assert pointing_game(maps, boxes) == 0.5
    assert random_pointing_game(boxes) == pytest.approx(0.3 * 0.3)
    with pytest.raises(ValueError, match=r"received \(2, 10, 10\) and \(3, 4\)"):
        pointing_game(maps, np.zeros((3, 4)))


def test_a_trained_model_points_at_the_part_more_than_chance():
    config = TrainConfig(
        model="baseline",
        backbone="tiny",
        image_size=64,
        num_classes=4,
        examples_per_class=150,
        test_examples_per_class=25,
        batch_size=16,
    )
    model = BaselineClassifier(num_classes=4, backbone="tiny", image_size=64)
    model.compile()
    train = tiny_synthetic(
        "train", examples_per_class=150, image_size=64, batch_size=16
    )
    model.fit(train, epochs=4, verbose=0)
    scores = synthetic_pointing_game(model, config)
    assert set(scores) == {"global_cam", "uniform_random"}
    assert scores["global_cam"] > 2 * scores["uniform_random"], scores
    assert synthetic_pointing_game(model, config.replace(dataset="folder:x")) is None
