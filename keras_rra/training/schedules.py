"""Learning-rate schedules in epochs, turned into Keras schedules in steps."""

import keras

from keras_rra.settings.training_settings import SCHEDULES


def build_schedule(
    learning_rate,
    schedule="constant",
    steps_per_epoch=None,
    epochs=None,
    decay_epochs=(30, 60),
    decay_factor=0.1,
    warmup_epochs=0,
):
    """A learning rate or `LearningRateSchedule` from epoch-based settings.

    Args:
        learning_rate: the base rate.
        schedule: `"constant"`; `"step"` (the RRA paper's: ×`decay_factor`
            at each epoch of `decay_epochs`, 30 and 60 in the paper); or
            `"cosine"` (linear warm-up over `warmup_epochs` from 0, then
            cosine decay to 0 at the end of `epochs`).
        steps_per_epoch: optimiser steps per epoch (needed unless constant).
        epochs: training epochs (needed for cosine).

    Returns:
        A float or a Keras `LearningRateSchedule`; both serialise with the
        optimiser.
    """
    if schedule not in SCHEDULES:
        raise ValueError(
            f"Unknown schedule {schedule!r}. Expected one of: {', '.join(SCHEDULES)}."
        )
    if warmup_epochs and schedule != "cosine":
        raise ValueError(
            f"warmup_epochs={warmup_epochs} applies to the cosine schedule only; "
            f"received schedule={schedule!r}."
        )
    if schedule == "constant":
        return learning_rate
    if not steps_per_epoch or steps_per_epoch < 1:
        raise ValueError(
            f"The {schedule!r} schedule needs the number of steps per epoch; the "
            "training dataset's length is unknown. Use a dataset of known "
            "cardinality (dataset.apply(tf.data.experimental.assert_cardinality(n)))."
        )
    if schedule == "step":
        epochs_sorted = sorted(int(epoch) for epoch in decay_epochs)
        if not epochs_sorted or epochs_sorted[0] < 1:
            raise ValueError(
                f"decay_epochs must be epochs >= 1; received {list(decay_epochs)}."
            )
        if not 0 < decay_factor < 1:
            raise ValueError(
                f"decay_factor must be in (0, 1); received {decay_factor}."
            )
        return keras.optimizers.schedules.PiecewiseConstantDecay(
            # The rate of step i applies while i <= boundary: the last step
            # of the epoch before a decay epoch is the boundary.
            boundaries=[epoch * steps_per_epoch - 1 for epoch in epochs_sorted],
            values=[
                learning_rate * decay_factor**index
                for index in range(len(epochs_sorted) + 1)
            ],
        )
    warmup_steps = int(warmup_epochs * steps_per_epoch)
    total_steps = int(epochs * steps_per_epoch)
    if warmup_steps >= total_steps:
        raise ValueError(
            f"warmup_epochs={warmup_epochs} is not shorter than the run "
            f"({epochs} epochs)."
        )
    if warmup_steps:
        return keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=total_steps - warmup_steps,
            warmup_target=learning_rate,
            warmup_steps=warmup_steps,
        )
    return keras.optimizers.schedules.CosineDecay(learning_rate, total_steps)
