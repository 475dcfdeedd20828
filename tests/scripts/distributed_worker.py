"""Trains a tiny RRA model with the Trainer in a child process of a test.

Usage: python distributed_worker.py MODE OUTPUT.npz [MODEL[,MODEL...]]

MODE `multiworker` uses TF_CONFIG; `mirrored` splits the CPU into two
logical devices and trains with MirroredStrategy, then with one device, and
with `model.fit` in a MirroredStrategy scope, saving all three. MODEL is
`rra` (default, a centred patch), `navigator` (RRA with its navigator) or
`coarse2fine` (trained in two stages, one epoch of stage 1). Several models
run in one process (one TensorFlow start-up), each saved to OUTPUT with
`{model}` replaced by its name.
"""

import sys

import numpy as np
import tensorflow as tf

MODE, OUTPUT = sys.argv[1], sys.argv[2]
MODELS = sys.argv[3].split(",") if len(sys.argv) > 3 else ["rra"]
MODEL = MODELS[0]
if MODE == "mirrored":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )

import keras  # noqa: E402

from keras_rra.data.loader import load  # noqa: E402
from keras_rra.models.coarse2fine_classifier import Coarse2FineClassifier  # noqa: E402
from keras_rra.models.rra_classifier import RRAClassifier  # noqa: E402
from keras_rra.training.seed import set_seed  # noqa: E402
from keras_rra.training.trainer import Trainer  # noqa: E402
from keras_rra.training.two_stage_training import TwoStageTraining  # noqa: E402

STEPS = 6


def data():
    dataset, _ = load(
        "synthetic",
        "train",
        batch_size=16,
        seed=0,
        num_classes=4,
        examples_per_class=24,
        image_size=64 if MODEL == "navigator" else 32,
    )
    return dataset.take(STEPS)


def model():
    if MODEL == "coarse2fine":
        return Coarse2FineClassifier(
            num_classes=4,
            backbone="tiny",
            image_size=32,
            num_attention_maps=4,
            decoder_filters=8,
            fine_input="zoom",
        )
    return RRAClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=32,
        patch_size=16,
        timesteps=3,
        lstm_units=8,
        addon_channels=8,
        patch="navigator" if MODEL == "navigator" else "center",
        input_size=64 if MODEL == "navigator" else None,
        # Exploration noise is drawn per replica: without it one device and
        # two differ by rounding only.
        exploration=0.0,
        seed=0,
    )


LEARNING_RATE = 0.05


def optimizer(_, learning_rate=LEARNING_RATE):
    return keras.optimizers.SGD(learning_rate, momentum=0.9)


def callbacks():
    return [TwoStageTraining(1)] if MODEL == "coarse2fine" else []


def coarse_steps(trained):
    return int(trained.coarse_steps.numpy()) if MODEL == "coarse2fine" else -1


def epochs():
    # The navigator's box choices are argmaxes: the longer one device and two
    # train, the likelier rounding flips one and the runs part (measured
    # after 3 epochs: 0.2% of the weights beyond 2e-2 on a quiet machine,
    # 2.9% once in CI; after 1 epoch none, at most 6.6e-3).
    return 1 if MODEL == "navigator" else 3


def train(strategy, learning_rate=LEARNING_RATE):
    set_seed(0)
    trainer = Trainer(
        model,
        optimizer=lambda _: optimizer(_, learning_rate),
        strategy=strategy,
    )
    history = trainer.fit(data(), epochs=epochs(), callbacks=callbacks(), verbose=0)
    weights = [np.asarray(w) for w in trainer.model.get_weights()]
    return weights, history.history["loss"], trainer


def trainable(trainer):
    return flat([np.asarray(w) for w in trainer.model.trainable_weights])


def flat(weights):
    return np.concatenate([w.ravel() for w in weights])


if MODE == "multiworker":
    weights, losses, trainer = train("multiworker")
    np.savez(
        OUTPUT,
        weights=flat(weights),
        losses=np.array(losses),
        replicas=trainer.strategy.num_replicas_in_sync,
    )
else:
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for MODEL in MODELS:  # noqa: B007 (the functions above read it)
        keras.backend.clear_session()
        mirrored, mirrored_losses, trainer = train(two)
        try:
            trainer.check_dataset(data().unbatch().batch(15))
            odd_batch_error = ""
        except ValueError as error:
            odd_batch_error = str(error)
        mirrored_trainable = trainable(trainer)
        single, single_losses, single_trainer = train("default")
        single_trainable = trainable(single_trainer)
        # What an all-reduce that sums the replicas' gradients instead of
        # averaging them would train: the same steps at twice the rate. Only
        # the navigator's comparison is judged against it.
        summed = {}
        if MODEL == "navigator":
            _, _, summed_trainer = train("default", 2 * LEARNING_RATE)
            summed["summed_trainable"] = trainable(summed_trainer)
        set_seed(0)
        with two.scope():
            fitted = model()
            fitted.compile(optimizer=optimizer(None))
        fit_history = fitted.fit(data(), epochs=3, callbacks=callbacks(), verbose=0)
        np.savez(
            OUTPUT.replace("{model}", MODEL),
            mirrored=flat(mirrored),
            single=flat(single),
            mirrored_trainable=mirrored_trainable,
            single_trainable=single_trainable,
            **summed,
            fit=flat(fitted.get_weights()),
            mirrored_losses=np.array(mirrored_losses),
            single_losses=np.array(single_losses),
            fit_losses=np.array(fit_history.history["loss"]),
            replicas=trainer.strategy.num_replicas_in_sync,
            odd_batch_error=odd_batch_error,
            coarse_steps=[coarse_steps(trainer.model), coarse_steps(fitted)],
        )
