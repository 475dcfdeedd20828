import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rra.training.training_checkpoint import TrainingCheckpoint


def _model():
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_save_restore_and_keep(tmp_path):
    model = _model()
    checkpoint = TrainingCheckpoint(str(tmp_path), model, tf.distribute.get_strategy())
    for step in (1, 2, 3):
        model.get_layer("dense").kernel.assign(np.full((3, 2), step, "float32"))
        checkpoint.save(epoch=0, step_in_epoch=step, global_step=step)
    assert sorted(os.listdir(tmp_path)) == [
        "latest.json",
        "step-00000002",
        "step-00000003",
    ]
    with open(tmp_path / "latest.json") as file:
        assert json.load(file)["global_step"] == 3
    model.get_layer("dense").kernel.assign(np.zeros((3, 2), "float32"))
    state = checkpoint.restore()
    assert state["step_in_epoch"] == 3
    assert np.all(model.get_layer("dense").kernel.numpy() == 3)


def test_a_partial_write_is_ignored(tmp_path):
    model = _model()
    checkpoint = TrainingCheckpoint(str(tmp_path), model, tf.distribute.get_strategy())
    checkpoint.save(epoch=1, step_in_epoch=0, global_step=4)
    # A process killed while writing the next one leaves only this behind.
    os.makedirs(tmp_path / "step-00000008.partial")
    assert checkpoint.latest()["global_step"] == 4
    assert checkpoint.restore()["epoch"] == 1


def test_a_latest_file_naming_a_missing_checkpoint(tmp_path):
    checkpoint = TrainingCheckpoint(
        str(tmp_path), _model(), tf.distribute.get_strategy()
    )
    with open(tmp_path / "latest.json", "w") as file:
        json.dump({"name": "step-00000009"}, file)
    with pytest.raises(ValueError, match="step-00000009.*missing"):
        checkpoint.latest()


def test_no_checkpoint_restores_nothing(tmp_path):
    checkpoint = TrainingCheckpoint(
        str(tmp_path), _model(), tf.distribute.get_strategy()
    )
    assert checkpoint.restore() is None
