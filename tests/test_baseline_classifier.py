import numpy as np
import pytest

from keras_rra.models import BaselineClassifier
from tests.helpers import run_model_test


def test_model_contract():
    images = np.random.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    run_model_test(
        BaselineClassifier,
        {
            "num_classes": 3,
            "backbone": "tiny",
            "image_size": 32,
            "class_names": ["a", "b", "c"],
        },
        images,
        np.array([0, 1, 2, 0]),
        {"logits": (4, 3)},
    )


def test_compile_defaults_measure_accuracy_on_logits():
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    model.compile()
    images = np.random.uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    labels = np.array([0, 1, 2, 0, 1, 2])
    metrics = model.evaluate(images, labels, verbose=0, return_dict=True)
    predicted = np.argmax(model.predict(images, verbose=0)["logits"], -1)
    assert metrics["accuracy"] == pytest.approx(np.mean(predicted == labels))
    assert metrics["top5_accuracy"] == 1.0  # k is capped at 3 classes


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes.*1"):
        BaselineClassifier(num_classes=1, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match="Unknown `backbone`='nope'"):
        BaselineClassifier(num_classes=3, backbone="nope", image_size=32)
