"""Atomic training checkpoints: weights, optimiser, metrics and position."""

import json
import os
import shutil
import tempfile

import tensorflow as tf

LATEST = "latest.json"


def _variables(objects):
    # Keras 3 variables wrap a tf.Variable (a distributed one under a
    # strategy); tf.train.Checkpoint saves those.
    return [getattr(variable, "value", variable) for variable in objects]


def is_chief(strategy):
    """Whether this process writes files: the chief, or worker 0."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


class TrainingCheckpoint:
    """Saves and restores a training run's whole state in a folder.

    A checkpoint holds the model's variables (with the seed-generator
    states of its random layers), the optimiser's (with its step counter),
    the metric accumulators of the epoch under way and the position:
    epoch, step within the epoch and global step. Each is written to
    `<name>.partial/`, renamed to `<name>/` when complete, and only then
    named in `latest.json` (written by rename as well): a process killed at
    any moment leaves the previous checkpoint intact and current. The last
    `keep` checkpoints are kept.

    Under a multi-worker strategy every worker must call `save` (reading
    the metric accumulators is a collective); only the chief's files stay.

    Args:
        directory: the checkpoint folder (created on the first save).
        model: the compiled `keras.Model` being trained.
        strategy: the `tf.distribute.Strategy` it trains under.
        keep: how many checkpoints to keep.
    """

    def __init__(self, directory, model, strategy, keep=2):
        self.directory = directory
        self.model = model
        self.strategy = strategy
        self.keep = keep
        with strategy.scope():
            self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self._checkpoint = None

    def _tf_checkpoint(self):
        # Built at first use: the optimiser creates its variables on the
        # first training step (or on restore, which builds it first).
        if self._checkpoint is None:
            optimizer = self.model.optimizer
            if not optimizer.built:
                with self.strategy.scope():
                    optimizer.build(self.model.trainable_variables)
            metric_variables = [v for m in self.model.metrics for v in m.variables]
            self._checkpoint = tf.train.Checkpoint(
                model_variables=_variables(self.model.variables),
                optimizer_variables=_variables(optimizer.variables),
                metric_variables=_variables(metric_variables),
                epoch=self.epoch,
                step_in_epoch=self.step_in_epoch,
            )
        return self._checkpoint

    def latest(self):
        """`{"name", "epoch", "step_in_epoch", "global_step"}` or None."""
        path = os.path.join(self.directory, LATEST)
        if not os.path.isfile(path):
            return None
        with open(path, encoding="utf-8") as file:
            state = json.load(file)
        if not os.path.isdir(os.path.join(self.directory, state["name"])):
            raise ValueError(
                f"{path} names checkpoint {state['name']!r}, which is missing from "
                f"{self.directory!r}."
            )
        return state

    def save(self, epoch, step_in_epoch, global_step):
        """Writes a checkpoint at this position; returns its state dict."""
        self.epoch.assign(epoch)
        self.step_in_epoch.assign(step_in_epoch)
        name = f"step-{global_step:08d}"
        state = {
            "name": name,
            "epoch": int(epoch),
            "step_in_epoch": int(step_in_epoch),
            "global_step": int(global_step),
        }
        if not is_chief(self.strategy):
            scratch = tempfile.mkdtemp(prefix="keras-rra-checkpoint-")
            try:
                self._tf_checkpoint().write(os.path.join(scratch, "checkpoint"))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return state
        os.makedirs(self.directory, exist_ok=True)
        final = os.path.join(self.directory, name)
        partial = f"{final}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        self._tf_checkpoint().write(os.path.join(partial, "checkpoint"))
        with open(os.path.join(partial, "state.json"), "w", encoding="utf-8") as file:
            json.dump(state, file)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(partial, final)
        latest = os.path.join(self.directory, LATEST)
        with open(f"{latest}.partial", "w", encoding="utf-8") as file:
            json.dump(state, file)
        os.replace(f"{latest}.partial", latest)
        self._prune(name)
        return state

    def _prune(self, current):
        names = sorted(
            entry
            for entry in os.listdir(self.directory)
            if entry.startswith("step-") and not entry.endswith(".partial")
        )
        for name in names[: max(0, len(names) - self.keep)]:
            if name != current:
                shutil.rmtree(os.path.join(self.directory, name), ignore_errors=True)

    def restore(self, state=None):
        """Restores the latest (or the given) checkpoint; returns its state."""
        state = state or self.latest()
        if state is None:
            return None
        path = os.path.join(self.directory, state["name"], "checkpoint")
        try:
            # Metric accumulators not yet created (restored before any
            # step) may stay unread; every existing variable must match.
            status = self._tf_checkpoint().read(path)
            status.assert_existing_objects_matched()
            status.expect_partial()
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            raise ValueError(
                f"Checkpoint {os.path.dirname(path)!r} does not fit this model and "
                f"optimizer: {str(error).splitlines()[0]}"
            ) from None
        return state
