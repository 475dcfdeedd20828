"""A tf.function training loop for keras-rra models under any tf.distribute strategy."""

import contextlib
import math
import sys

import keras
import tensorflow as tf

from keras_rra.settings.training_settings import MIXED_PRECISION
from keras_rra.training.strategy import DEFAULT_CONNECT_TIMEOUT
from keras_rra.training.strategy import check_batch_size
from keras_rra.training.strategy import resolve_jit_compile
from keras_rra.training.strategy import resolve_strategy
from keras_rra.training.training_checkpoint import TrainingCheckpoint


class NonFiniteLossError(FloatingPointError):
    """Raised when a training step gives a NaN or infinite loss."""


@contextlib.contextmanager
def _dtype_policy(name):
    previous = keras.config.dtype_policy()
    if name is not None:
        keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _reads_batch_logs(callback):
    """Whether a callback does something with every training batch."""
    base = keras.callbacks.Callback
    return any(
        getattr(type(callback), hook) is not getattr(base, hook)
        for hook in ("on_train_batch_end", "on_batch_end")
    )


class Trainer:
    """Trains a keras-rra model with a `tf.function` loop under a strategy.

    Where `model.fit` suffices (one machine, one device or a
    `MirroredStrategy` scope), it remains the simplest way. The Trainer adds
    what `fit` does not do in Keras 3: `MultiWorkerMirroredStrategy` across
    processes or machines (where `fit` fails on per-replica inputs), atomic
    checkpoints every N steps with exact resume (weights, optimiser, metric
    accumulators, random states and data position), and a stop at a
    non-finite loss before any checkpoint keeps it. Everything else (the
    step itself, metrics, callbacks, validation) is Keras' own: it runs the
    model's `train_step` and `test_step` and Keras' `CallbackList`.

    The host waits for a step's results only when something reads them: a
    callback with per-batch hooks (the progress bar, `verbose=1`) reads
    every step, as under `fit`; otherwise the logs are read at checkpoints
    and at the end of each epoch, so steps queue without a host
    synchronisation.

    Each step runs the model's own `train_step` (so a model's loss terms and
    metrics are the same as under `fit`) through `strategy.run`, compiled
    once with `tf.function` (and XLA if `jit_compile`). Each replica's loss
    is its mean divided by the number of replicas, and the gradients are
    summed: the loss of the global batch. Metrics are read in cross-replica
    context, so they cover every replica.

    Args:
        model: a `keras.Model`, or a function without arguments that builds
            one. A function is called under the strategy's scope and
            `mixed_precision` policy; a model must have been built under
            `trainer.scope()` when the strategy has several replicas.
        optimizer: an optimizer, or a function of the model that builds
            one (inside the scope). None keeps the model's compiled optimizer, or the
            model's `compile()` default.
        strategy: a `tf.distribute.Strategy` or `"auto"`, `"default"`,
            `"mirrored"`, `"multiworker"` (from `TF_CONFIG`), `"tpu"`. A
            multi-worker strategy must be created before any TensorFlow op
            runs: create the Trainer (or `resolve_strategy`) before the data.
        jit_compile: `"auto"` (XLA on GPU/TPU only), `"on"`, `"off"`.
        mixed_precision: None (the current policy), `"float32"`,
            `"mixed_float16"` (loss scaling is added) or `"mixed_bfloat16"`.
            Logits, softmax and attention weights stay float32.
        clip_norm: clip each replica's gradients to this global norm (the
            optimizer's `global_clipnorm`).
        checkpoint_dir: folder for checkpoints; None writes none. If it
            holds a checkpoint, `fit` resumes from it.
        checkpoint_every: also checkpoint every this many steps (0: at the
            end of each epoch only).
        connect_timeout: seconds a multi-worker cluster may take to form.

    Example:
    ```python
    trainer = keras_rra.training.Trainer(
        lambda: keras_rra.models.RRAClassifier(num_classes=10, backbone="tiny",
                                               image_size=64, patch_size=32),
        strategy="mirrored",
        checkpoint_dir="runs/a/checkpoints",
        checkpoint_every=100,
    )
    history = trainer.fit(train_data, epochs=15, validation_data=validation_data)
    ```
    """

    def __init__(
        self,
        model,
        optimizer=None,
        strategy="auto",
        jit_compile="auto",
        mixed_precision=None,
        clip_norm=None,
        checkpoint_dir=None,
        checkpoint_every=0,
        connect_timeout=DEFAULT_CONNECT_TIMEOUT,
    ):
        if mixed_precision is not None and mixed_precision not in MIXED_PRECISION:
            raise ValueError(
                f"Unknown mixed_precision {mixed_precision!r}. Expected one of: "
                f"{', '.join(MIXED_PRECISION)}."
            )
        if clip_norm is not None and not clip_norm > 0:
            raise ValueError(f"`clip_norm` must be > 0; received {clip_norm}.")
        if isinstance(checkpoint_every, bool) or not (
            isinstance(checkpoint_every, int) and checkpoint_every >= 0
        ):
            raise ValueError(
                "`checkpoint_every` must be an integer >= 0 (0: each epoch only); "
                f"received {checkpoint_every!r}."
            )
        self.strategy = resolve_strategy(strategy, connect_timeout=connect_timeout)
        self.jit_compile = resolve_jit_compile(jit_compile, self.strategy)
        self.mixed_precision = mixed_precision
        self.clip_norm = clip_norm
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        with self.scope():
            self.model = model() if not isinstance(model, keras.Model) else model
            self._check_model()
            if callable(optimizer) and not isinstance(
                optimizer, keras.optimizers.Optimizer
            ):
                optimizer = optimizer(self.model)
            if optimizer is not None or not self.model.compiled:
                self.model.compile(
                    **({} if optimizer is None else {"optimizer": optimizer})
                )
            if clip_norm is not None:
                inner = getattr(self.model.optimizer, "inner_optimizer", None)
                (inner or self.model.optimizer).global_clipnorm = clip_norm
            # Built here, eagerly: optimizer variables created inside the
            # first compiled step fail under MirroredStrategy.
            if not self.model.optimizer.built:
                self.model.optimizer.build(self.model.trainable_variables)
        self.checkpoint = (
            TrainingCheckpoint(checkpoint_dir, self.model, self.strategy)
            if checkpoint_dir
            else None
        )
        # "train" / "test" -> (compiled step, the loss it was traced for).
        self._functions = {}

    def scope(self):
        """The strategy's scope, with the Trainer's dtype policy."""
        stack = contextlib.ExitStack()
        stack.enter_context(self.strategy.scope())
        stack.enter_context(_dtype_policy(self.mixed_precision))
        return stack

    def _check_model(self):
        if not isinstance(self.model, keras.Model):
            raise ValueError(
                f"`model` must be a keras.Model or a function returning one; got "
                f"{type(self.model).__name__}."
            )
        if self.strategy.num_replicas_in_sync > 1 or isinstance(
            self.strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            variable = self.model.variables[0].value
            if not self.strategy.extended.variable_created_in_scope(variable):
                raise ValueError(
                    f"The model was built outside the scope of "
                    f"{type(self.strategy).__name__}; build it inside "
                    "`trainer.scope()`, or pass a function that builds it."
                )
        policy = self.model.dtype_policy.name
        if self.mixed_precision is not None and policy != self.mixed_precision:
            raise ValueError(
                f"The model was built with dtype policy {policy!r}, not "
                f"mixed_precision={self.mixed_precision!r}; pass a function that "
                "builds the model so the Trainer can build it under the policy."
            )

    # Compiled steps ---------------------------------------------------------

    def _make_function(self, step):
        # As in Keras' fit: the step is traced without AutoGraph (the model
        # code is graph-safe as written) and only it is XLA-compiled;
        # strategy.run and the cross-replica reads of the metrics stay in the
        # outer graph.
        inner = tf.autograph.experimental.do_not_convert(step)
        if self.jit_compile:
            inner = tf.function(inner, jit_compile=True, reduce_retracing=True)

        @tf.function(reduce_retracing=True)
        def function(batch):
            self.strategy.run(inner, args=(batch,))
            return self.model.get_metrics_result()

        return function

    def _step_function(self, kind):
        """The compiled train or test step, retraced when the model's loss
        changed since it was traced (a callback switching a training stage,
        see `FineGrainedClassifier.loss_signature`)."""
        signature = getattr(self.model, "loss_signature", lambda: None)()
        function, traced_for = self._functions.get(kind, (None, None))
        if function is None or traced_for != signature:
            step = getattr(self.model, f"{kind}_step")
            function = self._make_function(step)
            self._functions[kind] = (function, signature)
        return function

    def _distribute(self, dataset):
        options = tf.data.Options()
        # Element-wise sharding works for every dataset of the package (they
        # start from in-memory tensors or lists of files, not file shards).
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(
            dataset.with_options(options)
        )

    def check_dataset(self, dataset):
        """Raises ValueError unless the dataset's first batch splits evenly
        over the replicas; returns that batch.

        Creating an iterator of a seeded dataset moves it on to its next
        epoch's order; `fit` always does this exactly once, so a resumed run
        replays the same sequence.
        """
        batch = next(iter(dataset.take(1)), None)
        if batch is None:
            raise ValueError("The dataset is empty: it has no batch to train on.")
        size = int(tf.shape(tf.nest.flatten(batch)[0])[0])
        check_batch_size(self.strategy, size)
        return batch

    def _build_metrics(self, batch):
        # Keras creates the metrics' accumulators on their first update; a
        # checkpoint can only be restored into existing ones.
        x, y = batch[0], batch[1]
        with self.scope():
            y_pred = self.model(x, training=False)
            self.model.compute_loss(x, y, y_pred, training=False)
            self.model.compute_metrics(x, y, y_pred)
            self.model.reset_metrics()

    # Public API -------------------------------------------------------------

    def fit(
        self,
        train_data,
        epochs=1,
        validation_data=None,
        validation_freq=1,
        callbacks=None,
        verbose="auto",
    ):
        """Trains for `epochs` epochs (counting any already done); returns
        the `History`.

        Args:
            train_data: a batched `tf.data.Dataset` of `(inputs, labels)`.
                Its batch is the global batch; it must split evenly over the
                replicas. Its shuffling should be seeded: after a resume the
                Trainer replays the data order by re-iterating the dataset.
            epochs: the total number of epochs of the run.
            validation_data: a dataset evaluated every `validation_freq`
                epochs (0: never); its metrics get a `val_` prefix.
            callbacks: Keras callbacks. Progress bar, History, TensorBoard,
                CSVLogger, ModelCheckpoint, EarlyStopping
                (`model.stop_training`), LearningRateScheduler and custom
                ones receive the usual calls and logs.
            verbose: 0, 1, 2 or "auto" (1), as in `fit`.
        """
        self._build_metrics(self.check_dataset(train_data))
        steps = int(train_data.cardinality())
        steps = steps if steps > 0 else None
        state = self.checkpoint.restore() if self.checkpoint else None
        initial_epoch = state["epoch"] if state else 0
        skip_steps = state["step_in_epoch"] if state else 0
        distributed = self._distribute(train_data)
        verbose = 1 if verbose == "auto" else verbose
        callback_list = keras.callbacks.CallbackList(
            callbacks,
            add_history=True,
            add_progbar=verbose != 0,
            model=self.model,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
        )
        # Reading the logs waits for the step to finish; do it per step only
        # for a callback that reads every batch's logs (the progress bar),
        # else at checkpoints and epoch ends.
        read_every_step = any(
            _reads_batch_logs(callback) for callback in callback_list.callbacks
        )
        self.model.stop_training = False
        callback_list.on_train_begin()
        # A fresh iterator of a seeded dataset draws the next epoch's order
        # and augmentation: replaying the creations replays the data.
        for _ in range(initial_epoch):
            iter(distributed)
        global_step = int(self.model.optimizer.iterations.numpy())
        logs = {}
        if verbose:
            # Tracing and compiling the step takes long before the first
            # progress bar moves.
            print(
                "keras-rra: building the training graph (the first step takes longest)",
                file=sys.stderr,
                flush=True,
            )
        for epoch in range(initial_epoch, epochs):
            if not skip_steps:
                self.model.reset_metrics()
            callback_list.on_epoch_begin(epoch)
            train_function = self._step_function("train")
            iterator = iter(distributed)
            for _ in range(skip_steps):
                next(iterator)
            step = skip_steps
            skip_steps = 0
            for batch in iterator:
                callback_list.on_train_batch_begin(step)
                logs = train_function(batch)
                global_step += 1
                step += 1
                checkpoint_now = (
                    self.checkpoint
                    and self.checkpoint_every
                    and global_step % self.checkpoint_every == 0
                )
                if read_every_step or checkpoint_now:
                    logs = self._to_floats(logs)
                    # Never checkpoint weights a non-finite loss has touched.
                    self._check_finite(logs, epoch, step, global_step)
                callback_list.on_train_batch_end(step - 1, logs)
                if checkpoint_now:
                    self.checkpoint.save(epoch, step, global_step)
                if self.model.stop_training:
                    break
            logs = self._to_floats(logs)
            self._check_finite(logs, epoch, step, global_step)
            epoch_logs = dict(logs)
            if (
                validation_data is not None
                and validation_freq
                and (epoch + 1) % validation_freq == 0
            ):
                val_logs = self.evaluate(validation_data)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            if self.checkpoint:
                self.checkpoint.save(epoch + 1, 0, global_step)
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end(logs)
        return self.model.history

    def evaluate(self, dataset):
        """Metrics of the model on `dataset` as a dict of floats."""
        test_function = self._step_function("test")
        self.model.reset_metrics()
        logs = {}
        for batch in self._distribute(dataset):
            logs = test_function(batch)
        return self._to_floats(logs)

    @staticmethod
    def _to_floats(logs):
        return {name: float(value) for name, value in logs.items()}

    def _check_finite(self, logs, epoch, step, global_step):
        loss = logs.get("loss")
        if loss is None or math.isfinite(loss):
            return
        where = "no checkpoint was written"
        latest = self.checkpoint.latest() if self.checkpoint else None
        if latest:
            where = (
                f"the last good checkpoint is "
                f"{self.checkpoint.directory}/{latest['name']} (global step "
                f"{latest['global_step']})"
            )
        raise NonFiniteLossError(
            f"The loss became {loss} by global step {global_step} (epoch "
            f"{epoch + 1}, step {step}); training stopped and {where}. Lower the "
            "learning rate, set clip_norm, or check the data of that step."
        )
