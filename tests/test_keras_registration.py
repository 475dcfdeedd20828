"""`import keras_rra` is enough for `keras.saving.load_model` in a new
process, in whichever order Keras and keras-rra are imported."""

import inspect
import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

import keras_rra.layers
import keras_rra.models
from keras_rra.models.logits_crossentropy import LogitsCrossentropy
from keras_rra.training.multi_rate_sgd import MultiRateSGD

IMPORT_ORDERS = {
    "keras_rra_first": "import keras_rra\nimport keras",
    "keras_first": "import keras\nimport keras_rra",
    "tf_keras": "import keras_rra\nimport tensorflow as tf\nkeras = tf.keras",
    "data_only": "import keras_rra\nfrom keras_rra.data import load\nimport keras",
}


def _run(code, tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # a fresh process, away from the repository's folder
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def _serialisable_classes():
    classes = [
        value
        for module in (keras_rra.layers, keras_rra.models)
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, (keras.layers.Layer, keras.losses.Loss))
    ]
    return {f"keras_rra>{cls.__name__}" for cls in classes} | {
        "keras_rra>LogitsCrossentropy",
        "keras_rra>MultiRateSGD",
    }


@pytest.mark.parametrize("order", sorted(IMPORT_ORDERS))
def test_import_registers_every_serialisable_class(order, tmp_path):
    names = _run(
        IMPORT_ORDERS[order]
        + "\nimport json\nprint(json.dumps(sorted(keras.utils.get_custom_objects())))",
        tmp_path,
    )
    expected = _serialisable_classes() - {"keras_rra>FineGrainedClassifier"}
    assert expected <= set(names), sorted(expected - set(names))
    assert LogitsCrossentropy and MultiRateSGD  # the classes named above


def _models():
    from keras_rra.models import BaselineClassifier
    from keras_rra.models import Coarse2FineClassifier
    from keras_rra.models import RRAClassifier

    small = {"num_classes": 3, "backbone": "tiny", "image_size": 32}
    return {
        "baseline": BaselineClassifier(**small),
        "rra": RRAClassifier(
            **small, patch_size=16, timesteps=2, lstm_units=8, addon_channels=8
        ),
        "coarse2fine": Coarse2FineClassifier(**small, num_attention_maps=2),
    }


def test_saved_models_load_in_a_new_process_after_import_keras_rra(tmp_path):
    images = np.random.RandomState(0).uniform(0, 255, (2, 32, 32, 3))
    images = images.astype("float32")
    np.save(tmp_path / "images.npy", images)
    expected = {}
    optimizer = MultiRateSGD(learning_rate=0.01, momentum=0.9)
    for name, model in _models().items():
        model.compile(optimizer=optimizer if name == "rra" else "adam")
        model.fit(images, np.array([0, 1]), epochs=1, verbose=0)
        expected[name] = model.predict(images, verbose=0)["logits"].tolist()
        model.save(tmp_path / f"{name}.keras")
    loaded = _run(
        "import keras_rra\nimport keras\nimport json\nimport numpy as np\n"
        "images = np.load('images.npy')\nresult = {}\n"
        f"for name in {sorted(expected)!r}:\n"
        "    model = keras.saving.load_model(name + '.keras')  # safe mode\n"
        "    result[name] = {'logits': model.predict(images, verbose=0)['logits']"
        ".tolist(), 'optimizer': type(model.optimizer).__name__,\n"
        "        'loss': type(model.classification_loss).__name__}\n"
        "print(json.dumps(result))",
        tmp_path,
    )
    for name, logits in expected.items():
        np.testing.assert_allclose(loaded[name]["logits"], logits, atol=1e-5)
        assert loaded[name]["loss"] == "LogitsCrossentropy"
    assert loaded["rra"]["optimizer"] == "MultiRateSGD"


def test_import_keras_rra_alone_loads_no_tensorflow(tmp_path):
    loaded = _run(
        "import sys, json\nimport keras_rra\n"
        "print(json.dumps(['tensorflow' in sys.modules, 'keras' in sys.modules]))",
        tmp_path,
    )
    assert loaded == [False, False]
