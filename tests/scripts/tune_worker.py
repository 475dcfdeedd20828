"""A keras-rra search in a child process of a test.

Usage: python tune_worker.py mirrored DIRECTORY OUTPUT.json

Splits the CPU into two logical devices and runs one trial of a tiny
search under a MirroredStrategy, recording the replicas each trial's `fit`
ran with and the summary in OUTPUT.json.
"""

import json
import os
import sys

import tensorflow as tf

# The repository's root, for the tests' shared settings.
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

MODE, DIRECTORY, OUTPUT = sys.argv[1:4]
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2
)

from keras_rra.training import TrainConfig  # noqa: E402
from keras_rra.tuning import ClassifierHyperModel  # noqa: E402
from keras_rra.tuning import tune  # noqa: E402
from tests.helpers import TINY_RRA_RUN  # noqa: E402

seen = []
fit = ClassifierHyperModel.fit


def recording_fit(self, hp, model, *args, **kwargs):
    strategy = model.distribute_strategy
    seen.append(
        {
            "replicas": strategy.num_replicas_in_sync,
            "mirrored_variables": isinstance(
                model.trainable_variables[0].value, tf.distribute.DistributedValues
            ),
        }
    )
    return fit(self, hp, model, *args, **kwargs)


ClassifierHyperModel.fit = recording_fit
config = TrainConfig(**TINY_RRA_RUN)
summary = tune(
    config,
    fixed=["timesteps", "lstm_units", "patch_size"],
    tune_names=["learning_rate"],
    strategy=tf.distribute.MirroredStrategy(),
    verbose=0,
    directory=DIRECTORY,
    max_trials=1,
)
summary.pop("table")
with open(OUTPUT, "w", encoding="utf-8") as file:
    json.dump({"fits": seen, "summary": summary}, file)
