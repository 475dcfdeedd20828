import contextlib
import functools

import keras

from keras_rra.layers.image_converter import ImageConverter
from keras_rra.models.navigator_losses import navigator_losses
from keras_rra.settings.presets import PRESET
from keras_rra.settings.presets import PRESETS
from keras_rra.utils.validation import check_positive_int


@contextlib.contextmanager
def dtype_policy_scope(dtype):
    """Builds layers under `dtype` (a policy or its name), then restores the
    global policy: a model saved under `mixed_bfloat16` is rebuilt so."""
    if dtype is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(dtype)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


class _ClassificationLoss(keras.losses.Loss):
    """A plain loss function as a `keras.losses.Loss` (mean over the batch)."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


class FineGrainedClassifier(keras.Model):
    """Base class of the package's classifiers.

    A classifier is a functional model whose outputs are a dict with at
    least `"logits"`. Its loss is a weighted sum of one classification loss
    applied to several of those outputs (`loss_terms`, for example
    CE(global_logits) + λ·CE(local_logits) for RRA), and its metrics are
    measured on `"logits"`. So one dataset element format, `(inputs, label)`,
    serves every model, and `model.compile(); model.fit(dataset)` works with
    no arguments.

    Subclasses build their graph, call `super().__init__(inputs=...,
    outputs=...)` and then set `loss_terms`; their `settings` (a
    `SettingGroup` of `keras_rra.settings`) declare their arguments. A
    `dtype` keyword (a dtype policy) builds every layer under that policy
    and is saved with the model.

    Args:
        num_classes: int >= 2.
        class_names: optional list of `num_classes` strings, kept in the
            model's config so that a saved model can name its predictions.
        image_converter: the `ImageConverter` (or its config) that brings
            a raw image to the model's input, kept in the model's config so
            that every copy and export of the model prepares images alike;
            default: a plain resize to the input size.
        **kwargs: passed to `keras.Model` (`inputs`, `outputs`, `name`).
    """

    settings = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        init = cls.__init__
        if getattr(init, "builds_under_policy", False):
            return

        # Every layer a subclass builds in `__init__` takes the model's
        # `dtype` policy, as keras-hub's models do.
        @functools.wraps(init)
        def init_under_policy(self, *args, **kwargs):
            with dtype_policy_scope(kwargs.get("dtype")):
                init(self, *args, **kwargs)

        init_under_policy.builds_under_policy = True
        cls.__init__ = init_under_policy

    def __init__(
        self,
        *args,
        num_classes=None,
        class_names=None,
        image_converter=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.num_classes = num_classes
        self.class_names = class_names
        self.image_converter = self._converter(image_converter)
        # Output name -> weight of its classification loss. A term of weight
        # zero is still measured (its tracker shows it) but not trained on.
        self.loss_terms = {"logits": 1.0}
        # Output name -> weight of the output's mean added to the loss (an
        # area penalty on a saliency map in [0, 1]).
        self.area_terms = {}
        # Name -> weight of the navigator's losses (`extra_losses`), which
        # need the inputs, the labels and several outputs.
        self.extra_loss_terms = {}
        # Names of the layers whose variables form the global stream.
        self.global_stream_layers = [
            layer.name for layer in self.layers if layer.trainable_variables
        ]

    @classmethod
    def from_preset(cls, preset, num_classes, **kwargs):
        """The model with the model settings of a named preset of
        `keras_rra.settings.presets` (`"cpu"`: a tiny CNN on 64-px images;
        `"paper"`: the constructor's own defaults), changed by `kwargs`.

        Example:

        >>> model = RRAClassifier.from_preset("cpu", num_classes=10)
        >>> model.lstm_units
        128
        """
        PRESET.check(preset)
        values = {
            name: value
            for name, value in PRESETS[preset].items()
            if name in cls.settings
        }
        return cls(num_classes=num_classes, **{**values, **kwargs})

    def _converter(self, image_converter):
        if isinstance(image_converter, dict):
            image_converter = keras.saving.deserialize_keras_object(image_converter)
        if image_converter is None:
            height, width = (int(size) for size in self.inputs[0].shape[1:3])
            if height != width:
                return None
            image_converter = ImageConverter(height, name="image_converter")
        if not isinstance(image_converter, ImageConverter):
            raise ValueError(
                "`image_converter` must be an ImageConverter or its config; "
                f"received {type(image_converter).__name__}."
            )
        size = tuple(int(side) for side in self.inputs[0].shape[1:3])
        if (image_converter.image_size,) * 2 != size:
            raise ValueError(
                f"image_converter makes {image_converter.image_size}-px images; "
                f"the model takes {size}."
            )
        return image_converter

    @staticmethod
    def _check_settings(settings, arguments):
        """Checks every argument that is a declared setting (see
        `keras_rra.settings`); Python objects such as a backbone model
        pass."""
        for name, value in arguments.items():
            if name in settings and (name != "backbone" or isinstance(value, str)):
                settings.check_value(name, value)

    def call(self, inputs, training=None, mask=None):
        self._check_images(inputs)
        return super().call(inputs, training=training, mask=mask)

    def _check_images(self, inputs):
        """Raises a readable error for images of the wrong rank or size."""
        images = inputs
        if isinstance(inputs, dict):
            if "images" not in inputs:
                raise ValueError(
                    f"{type(self).__name__} expects a dict with an 'images' key; "
                    f"received keys {sorted(inputs)}."
                )
            images = inputs["images"]
        elif isinstance(inputs, (list, tuple)):
            images = inputs[0]
        expected = tuple(self.inputs[0].shape[1:])
        shape = tuple(getattr(images, "shape", ()))
        compatible = len(shape) == 4 and all(
            want is None or got is None or want == got
            for want, got in zip(expected, shape[1:], strict=True)
        )
        if not compatible:
            raise ValueError(
                f"{type(self).__name__} expects images of shape (batch, "
                f"{', '.join(str(size) for size in expected)}): RGB float pixels "
                f"in [0, 255]; received shape {shape}."
            )

    @staticmethod
    def _classification_head(num_classes, name):
        """A Dense to class logits, N(0, 0.01) kernel and zero bias (as in
        RRA's reference code), computed in float32 under mixed precision."""
        return keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.RandomNormal(mean=0.0, stddev=0.01),
            dtype="float32",
            name=name,
        )

    @staticmethod
    def _check_classes(num_classes, class_names):
        num_classes = check_positive_int("num_classes", num_classes, minimum=2)
        if class_names is not None:
            class_names = [str(name) for name in class_names]
            if len(class_names) != num_classes:
                raise ValueError(
                    f"`class_names` has {len(class_names)} names but "
                    f"num_classes={num_classes}."
                )
        return num_classes, class_names

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """Configures training; every argument has a working default.

        Args:
            optimizer: `"auto"` is Adam with learning rate 1e-3, a safe
                choice from scratch and for fine-tuning alike; the RRA
                paper's SGD recipe is available through `keras_rra.training`.
            loss: `"auto"` is sparse categorical cross-entropy on logits. A
                single loss is applied to every output of `loss_terms`; a
                dict of losses per output falls back to Keras' own handling.
            metrics: `"auto"` is top-1 and top-5 accuracy on `"logits"`.
            **kwargs: passed to `keras.Model.compile`.
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        if loss == "auto":
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        if metrics == "auto":
            metrics = [
                keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
                keras.metrics.SparseTopKCategoricalAccuracy(
                    k=min(5, self.num_classes), name="top5_accuracy"
                ),
            ]
        self._per_output_loss = not isinstance(loss, dict)
        if self._per_output_loss:
            self.classification_loss = self._as_loss(loss)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
        # One tracker per loss term, so history shows each stream's loss.
        names = [f"{output}_loss" for output in self.loss_terms]
        names += [f"{output}_area" for output in self.area_terms]
        names += [f"{name}_loss" for name in self.extra_loss_terms]
        if self._per_output_loss and len(names) > 1:
            self.loss_term_trackers = {
                name: keras.metrics.Mean(name=name) for name in names
            }
        else:
            self.loss_term_trackers = {}

    @staticmethod
    def _as_loss(loss):
        """The one classification loss as a `keras.losses.Loss` (it reduces
        over the batch and scales for `tf.distribute` as `compile` does)."""
        loss = keras.losses.get(loss)
        if isinstance(loss, keras.losses.Loss):
            return loss
        if callable(loss):
            return _ClassificationLoss(loss, name=getattr(loss, "__name__", None))
        raise ValueError(f"`loss` must be a Keras loss; received {loss!r}.")

    def compile_from_config(self, config):
        # Keras skips this for models with a custom `compile`; ours accepts
        # the same arguments, so a loaded model is compiled as it was saved
        # (and its optimizer state is restored with the weights).
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if not (isinstance(y_pred, dict) and getattr(self, "_per_output_loss", False)):
            return super().compute_loss(
                x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
            )
        # Each term is a mean over the batch; its tracker weights it by the
        # batch size, as Keras' own `loss` tracker does, so that the terms of
        # an epoch with a ragged last batch add up to `loss`.
        batch_size = keras.ops.shape(y)[0]
        total = 0.0
        for output, weight in self.loss_terms.items():
            term = self.classification_loss(y, y_pred[output], sample_weight)
            self._track(
                f"{output}_loss", self._unscaled_for_distribution(term), batch_size
            )
            if weight:
                total = total + weight * term
        for output, weight in self.area_terms.items():
            area = keras.ops.mean(keras.ops.cast(y_pred[output], "float32"))
            self._track(f"{output}_area", area, batch_size)
            if weight:
                total = total + self._scaled_for_distribution(weight * area)
        if self.extra_loss_terms:
            terms = self.extra_losses(x, y, y_pred, training=training)
            for name, weight in self.extra_loss_terms.items():
                self._track(f"{name}_loss", terms[name], batch_size)
                if weight:
                    total = total + self._scaled_for_distribution(weight * terms[name])
        for loss in self.losses:
            total = total + self._scaled_for_distribution(
                keras.ops.sum(keras.ops.cast(loss, "float32"))
            )
        return total

    def extra_losses(self, x, y, y_pred, training=True):
        """The terms of `extra_loss_terms` (name -> a scalar, the mean over
        the batch): a navigator's teacher and ranking losses, for a model
        with `navigator_scores`, `part_teacher`, `anchor_pooling` and
        `teacher_backbone` (see `navigator_losses`). `training` is False in
        evaluation."""
        images = x["images"] if isinstance(x, dict) else x
        return navigator_losses(
            images,
            y,
            y_pred["navigator_scores"],
            self.teacher_backbone,
            self.part_teacher,
            self.anchor_pooling,
            self.num_classes,
            training=training,
        )

    def _track(self, name, value, batch_size):
        tracker = self.loss_term_trackers.get(name)
        if tracker is not None:
            tracker.update_state(value, sample_weight=batch_size)

    def loss_signature(self):
        """What the traced training step depends on besides the weights.

        A model whose loss changes between training stages changes this;
        the `Trainer` then retraces its compiled steps.
        """
        return (
            tuple(self.loss_terms.items()),
            tuple(self.area_terms.items()),
            tuple(self.extra_loss_terms.items()),
        )

    @staticmethod
    def _replicas():
        if keras.backend.backend() != "tensorflow":
            return 1
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync

    @classmethod
    def _scaled_for_distribution(cls, value):
        # A term that is a plain mean, divided by the replicas as Keras
        # divides its own losses: the summed gradients are then those of the
        # global batch.
        replicas = cls._replicas()
        return value / replicas if replicas > 1 else value

    @staticmethod
    def _unscaled_for_distribution(value):
        # Keras divides each replica's loss by the number of replicas (so
        # that summed gradients are those of the global batch); the trackers
        # show the loss itself.
        if keras.backend.backend() != "tensorflow":
            return value
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        return value * replicas if replicas > 1 else value

    def global_stream_variables(self):
        """Trainable variables of the global stream (the whole model for
        single-stream models), for a separate learning rate."""
        layers = [self.get_layer(name) for name in self.global_stream_layers]
        return [v for layer in layers for v in layer.trainable_variables]

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if isinstance(y_pred, dict):
            y_pred = y_pred["logits"]
        return super().compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.saving.serialize_keras_object(self.dtype_policy),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
            "image_converter": (
                None
                if self.image_converter is None
                else keras.saving.serialize_keras_object(self.image_converter)
            ),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "local_backbone", "dtype"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
