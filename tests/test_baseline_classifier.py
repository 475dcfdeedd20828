import keras
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
    # With 3 classes a top-5 accuracy is always 1: it is not reported.
    assert set(metrics) == {"accuracy", "loss"}


def test_compile_defaults_report_top5_from_six_classes():
    model = BaselineClassifier(num_classes=6, backbone="tiny", image_size=32)
    model.compile()
    images = np.random.uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    metrics = model.evaluate(images, np.arange(6), verbose=0, return_dict=True)
    assert set(metrics) == {"accuracy", "top5_accuracy", "loss"}


def _initial_loss(loss, labels, metrics="auto"):
    keras.utils.set_random_seed(0)
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    images = np.random.RandomState(0).uniform(0, 255, (6, 32, 32, 3))
    return model.evaluate(images.astype("float32"), labels, verbose=0, return_dict=True)


LABELS = np.array([0, 1, 2, 0, 1, 2])


@pytest.mark.parametrize(
    "loss",
    [
        "sparse_categorical_crossentropy",
        "categorical_crossentropy",
        keras.losses.SparseCategoricalCrossentropy(),
        keras.losses.CategoricalCrossentropy(),
        keras.losses.sparse_categorical_crossentropy,
    ],
    ids=["sparse_name", "categorical_name", "sparse", "categorical", "function"],
)
@pytest.mark.parametrize("one_hot", [False, True], ids=["indices", "one_hot"])
def test_keras_loss_names_and_objects_train_on_logits(loss, one_hot):
    # Keras' cross-entropies default to probabilities; the model outputs
    # logits, so each is applied from_logits: an untrained classifier's
    # logits are near zero and its loss near ln 3 (from_logits=False gave
    # 5.58), with integer and one-hot labels alike.
    labels = np.eye(3)[LABELS] if one_hot else LABELS
    expected = _initial_loss("auto", LABELS)
    metrics = _initial_loss(loss, labels, metrics=["accuracy"])
    assert metrics["loss"] == pytest.approx(np.log(3), abs=0.05)
    assert metrics["loss"] == pytest.approx(expected["loss"], abs=1e-5)
    assert metrics["accuracy"] == pytest.approx(expected["accuracy"])


def test_crossentropy_metrics_are_measured_on_logits():
    metrics = _initial_loss(
        "auto",
        LABELS,
        metrics=["sparse_categorical_crossentropy"],
    )
    assert metrics["sparse_categorical_crossentropy"] == pytest.approx(
        metrics["loss"], abs=1e-5
    )


def test_one_hot_labels_train_with_the_default_compile():
    metrics = _initial_loss("auto", np.eye(3)[LABELS])
    assert metrics["loss"] == pytest.approx(_initial_loss("auto", LABELS)["loss"])


@pytest.mark.parametrize(
    "loss",
    [
        "binary_crossentropy",
        "mse",
        keras.losses.KLDivergence(),
        keras.losses.kl_divergence,
    ],
)
def test_losses_made_for_probabilities_or_regression_are_refused(loss):
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match="not a classification loss of class logits"):
        model.compile(loss=loss)


def test_unknown_loss_name_is_one_sentence():
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match="Unknown loss 'nope'"):
        model.compile(loss="nope")


def test_own_loss_function_receives_labels_and_logits():
    seen = []

    def loss(labels, logits):
        seen.append(tuple(logits.shape))
        return keras.ops.mean(keras.ops.square(logits), axis=-1)

    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    model.compile(loss=loss)
    images = np.zeros((2, 32, 32, 3), "float32")
    model.evaluate(images, np.array([0, 1]), verbose=0)
    assert seen and seen[0][-1] == 3


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_classes.*1"):
        BaselineClassifier(num_classes=1, backbone="tiny", image_size=32)
    with pytest.raises(ValueError, match="Unknown `backbone`='nope'"):
        BaselineClassifier(num_classes=3, backbone="nope", image_size=32)


def test_predict_brings_other_sizes_through_the_models_converter():
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    images = np.random.RandomState(0).uniform(0, 255, (2, 100, 80, 3))
    images = images.astype("float32")
    converted = keras.ops.convert_to_numpy(model.image_converter(images))
    np.testing.assert_allclose(
        model.predict(images, verbose=0)["logits"],
        model.predict(converted, verbose=0)["logits"],
        atol=1e-6,
    )


def test_images_of_another_size_elsewhere_are_one_sentence_naming_both():
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    model.compile()
    images = np.zeros((2, 100, 80, 3), "float32")
    expected = r"expects images of shape \(batch, 32, 32, 3\).*\((2|None), 100, 80, 3\)"
    with pytest.raises(ValueError, match=expected):
        model(images)
    with pytest.raises(ValueError, match=expected):
        model.fit(images, np.array([0, 1]), verbose=0)
