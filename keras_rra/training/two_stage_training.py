"""Coarse2Fine's two training stages within one `fit` or `Trainer.fit`."""

import keras

from keras_rra.utils.validation import check_positive_int


class TwoStageTraining(keras.callbacks.Callback):
    """Stage 1 for the first `stage1_epochs` epochs, stage 2 after them.

    Sets the model's stage (`Coarse2FineClassifier.set_stage`) at the start
    of every epoch from the epoch's index alone, so a run resumed in the
    middle (`initial_epoch`, a Trainer checkpoint) continues in the right
    stage. `fit` and the `Trainer` retrace their step when the stage
    changes. The optimizer and its learning-rate schedule run on across the
    switch: one schedule over all `stage1_epochs + stage2` epochs.

    Args:
        stage1_epochs: epochs of stage 1 (coarse), >= 0. With 0 the run is
            stage 2 throughout, and a model without coarse training warns.

    Example:

    >>> model.fit(train_data, epochs=10, callbacks=[TwoStageTraining(5)])
    """

    def __init__(self, stage1_epochs):
        super().__init__()
        self.stage1_epochs = check_positive_int(
            "stage1_epochs", stage1_epochs, minimum=0
        )

    def on_train_begin(self, logs=None):
        if not callable(getattr(self.model, "set_stage", None)):
            raise ValueError(
                f"TwoStageTraining needs a model with training stages "
                f"(Coarse2FineClassifier); {self.model.name!r} is a "
                f"{type(self.model).__name__}."
            )

    def on_epoch_begin(self, epoch, logs=None):
        self.model.set_stage(1 if epoch < self.stage1_epochs else 2)
