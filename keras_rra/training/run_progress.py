"""`RunProgress`: one line per epoch with the time left for the whole run."""

import sys
import time

import keras


class RunProgress(keras.callbacks.Callback):
    """Prints, after each epoch, the epoch's time and an estimate of the
    time left for the whole run (the progress bar shows one epoch only).

    Args:
        epochs: the run's number of epochs.
        stream: where the lines go (default: standard error, so that
            standard output stays the run's JSON).

    Example:

    ```python
    model.fit(data, epochs=15, callbacks=[RunProgress(15)])
    # keras-rra: epoch 3/15 took 8.1 s; the run ends in about 1 min 37 s
    ```
    """

    def __init__(self, epochs, stream=None):
        super().__init__()
        self.epochs = epochs
        self.stream = stream

    def on_train_begin(self, logs=None):
        self.started = time.perf_counter()
        self.first_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        now = time.perf_counter()
        done = epoch + 1 - self.first_epoch
        left = (now - self.started) / done * (self.epochs - epoch - 1)
        print(
            f"keras-rra: epoch {epoch + 1}/{self.epochs} took "
            f"{now - self.epoch_started:.1f} s; the run ends in about "
            f"{format_seconds(left)}",
            file=self.stream or sys.stderr,
            flush=True,
        )


def format_seconds(seconds):
    """`"1 min 37 s"`, `"42 s"`, `"2 h 5 min"`."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
