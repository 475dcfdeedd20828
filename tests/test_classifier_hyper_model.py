import os

import keras
import keras_tuner
import numpy as np
import pytest

from keras_rra.models import BaselineClassifier
from keras_rra.models import Coarse2FineClassifier
from keras_rra.models import RRAClassifier
from keras_rra.tuning import BaselineHyperModel
from keras_rra.tuning import ClassifierHyperModel
from keras_rra.tuning import Coarse2FineHyperModel
from keras_rra.tuning import RRAHyperModel
from tests.helpers import TINY_RRA_SETTINGS
from tests.helpers import tiny_synthetic

TINY = dict(backbone="tiny", image_size=32)
TINY_MODELS = {
    RRAHyperModel: (
        RRAClassifier,
        TINY_RRA_SETTINGS,
    ),
    Coarse2FineHyperModel: (
        Coarse2FineClassifier,
        dict(TINY, num_attention_maps=4, decoder_filters=8),
    ),
    BaselineHyperModel: (BaselineClassifier, dict(TINY)),
}
# The stages each epoch of a Coarse2Fine trial ran in (module level: the
# tuner deep-copies its callbacks).
STAGES = []


class RecordStage(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        STAGES.append(int(self.model.stage))


@pytest.mark.parametrize(
    "hypermodel_class", list(TINY_MODELS), ids=lambda c: c.__name__
)
def test_build_makes_the_trial_model_compiled_with_its_settings(hypermodel_class):
    model_class, settings = TINY_MODELS[hypermodel_class]
    hypermodel = hypermodel_class(class_names=["a", "b", "c"], **settings)
    hp = keras_tuner.HyperParameters()
    hp.Fixed("learning_rate", 0.004)
    hp.Fixed("dropout", 0.25)
    model = hypermodel.build(hp)
    assert isinstance(model, model_class)
    assert model.class_names == ["a", "b", "c"]
    assert model.dropout == 0.25
    assert float(model.optimizer.learning_rate) == pytest.approx(0.004)
    # The fixed keywords are not searched.
    assert not set(settings) & set(hypermodel.space.names())
    assert "learning_rate" in hp.values
    # A trial is built from the run's seed: the same settings, the same
    # weights; its second execution from the next seed.
    first = model.trainable_variables[0].numpy()
    second_execution = hypermodel.build(hp)
    assert not np.allclose(second_execution.trainable_variables[0].numpy(), first)
    another_trial = hypermodel.build(hp.copy())
    np.testing.assert_array_equal(another_trial.trainable_variables[0].numpy(), first)


def test_rra_trial_takes_the_searched_settings():
    hypermodel = RRAHyperModel(
        num_classes=3, search={"timesteps": [1, 3]}, **TINY, patch_size=16
    )
    hp = keras_tuner.HyperParameters()
    hp.Fixed("timesteps", 3)
    hp.Fixed("lstm_layers", 1)
    hp.Fixed("lstm_units", 64)
    model = hypermodel.build(hp)
    assert (model.timesteps, model.lstm_layers, model.lstm_units) == (3, 1, 64)
    assert hypermodel.trial_config(hp).timesteps == 3


def test_coarse2fine_trains_both_stages_inside_a_trial(tmp_path):
    STAGES.clear()
    _, settings = TINY_MODELS[Coarse2FineHyperModel]
    hypermodel = Coarse2FineHyperModel(
        num_classes=4, epochs=2, tune=["stage1_epochs"], **settings
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel,
        objective="val_accuracy",
        max_trials=1,
        directory=str(tmp_path),
        project_name="c2f",
        seed=0,
    )
    train = tiny_synthetic("train", examples_per_class=8)
    validation = tiny_synthetic("test", test_examples_per_class=4)
    tuner.search(
        train, validation_data=validation, callbacks=[RecordStage()], verbose=0
    )
    (trial,) = tuner.oracle.trials.values()
    assert trial.status == "COMPLETED"
    assert trial.hyperparameters.values["stage1_epochs"] == 1
    # One epoch of stage 1, then stage 2, as `keras-rra train` trains.
    assert STAGES == [1, 2]
    # keras-tuner's own callbacks were forwarded: its best-epoch checkpoint.
    trial_dir = os.path.join(str(tmp_path), "c2f", f"trial_{trial.trial_id}")
    assert os.path.isfile(os.path.join(trial_dir, "checkpoint.weights.h5"))
    assert np.isfinite(trial.score)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match="Give num_classes or class_names"):
        RRAHyperModel()
    with pytest.raises(ValueError, match="at least two classes"):
        RRAHyperModel(class_names=["only"])
    with pytest.raises(ValueError, match="num_classes=3 but 2 class names"):
        RRAHyperModel(num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="RRAHyperModel tunes model 'rra'.*'baseline'"):
        RRAHyperModel(model="baseline", num_classes=2)
    with pytest.raises(ValueError, match="schedule='cosine' needs steps_per_epoch"):
        ClassifierHyperModel(model="baseline", num_classes=2, schedule="cosine")
    with pytest.raises(ValueError, match="`timesteps` must be >= 1"):
        RRAHyperModel(num_classes=2, timesteps=0)


def test_the_keras_tuner_way_of_fixing_and_narrowing(tmp_path):
    _, settings = TINY_MODELS[RRAHyperModel]
    hp = keras_tuner.HyperParameters()
    hp.Fixed("learning_rate", 0.003)
    hp.Int("lstm_layers", 1, 2)
    tuner = keras_tuner.RandomSearch(
        RRAHyperModel(num_classes=3, **settings),
        objective="val_accuracy",
        max_trials=3,
        hyperparameters=hp,
        tune_new_entries=False,
        directory=str(tmp_path),
        seed=0,
    )
    trial = tuner.oracle.create_trial("t0")
    values = trial.hyperparameters.values
    assert set(values) == {"learning_rate", "lstm_layers"}
    assert values["learning_rate"] == 0.003 and values["lstm_layers"] in (1, 2)
    # Entries the tuner was told not to tune keep the run's values.
    config = tuner.hypermodel.trial_config(trial.hyperparameters.copy())
    assert (config.learning_rate, config.lstm_layers) == (0.003, values["lstm_layers"])
    assert (config.local_weight, config.lstm_units, config.timesteps) == (1.0, 8, 2)
