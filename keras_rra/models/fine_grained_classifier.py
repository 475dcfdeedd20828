import contextlib
import functools
import os

import keras

from keras_rra.layers.image_converter import ImageConverter
from keras_rra.models.logits_crossentropy import LogitsCrossentropy
from keras_rra.models.navigator_losses import navigator_losses
from keras_rra.models.navigator_losses import teacher_pointing
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


# Keras' cross-entropies by the names `keras.losses.get` knows them: each
# is applied to the logits (`from_logits=True`), whatever it was given.
CROSSENTROPY_NAMES = (
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
)
# The smallest number of classes for which a top-5 accuracy says anything
# that top-1 does not (with 5 classes or fewer it is always 1).
TOP5_MIN_CLASSES = 6


class _ClassificationLoss(keras.losses.Loss):
    """A plain loss function of (labels, logits) as a `keras.losses.Loss`
    (mean over the batch)."""

    def __init__(self, function, **kwargs):
        super().__init__(**kwargs)
        self.function = function

    def call(self, y_true, y_pred):
        return self.function(y_true, y_pred)


def _own_layers(model):
    """The layers of `model`'s graph and those it keeps outside the graph
    (a navigator's teacher, used by the losses in training only)."""
    # Keras' own walk over a layer's tracked attributes, one level deep.
    return list(model._flatten_layers(include_self=False, recursive=False))


def _on_logits(loss_or_metric):
    """A Keras loss or metric object that has a `from_logits` option, made
    again with `from_logits=True`; anything else as it is."""
    config = loss_or_metric.get_config()
    if config.get("from_logits") is False:
        return type(loss_or_metric).from_config({**config, "from_logits": True})
    return loss_or_metric


def _from_keras(identifier):
    """Whether a loss or metric (a function or an object) is Keras' own."""
    module = (
        getattr(identifier, "__module__", "")
        if callable(identifier) and not isinstance(identifier, keras.losses.Loss)
        else type(identifier).__module__
    )
    return module.startswith("keras.")


def _crossentropy_name(identifier):
    """The name of a Keras cross-entropy given as a string or as Keras' own
    function, else None."""
    if isinstance(identifier, str):
        name = identifier
    elif callable(identifier) and _from_keras(identifier):
        name = getattr(identifier, "__name__", "")
    else:
        return None
    return name if name in CROSSENTROPY_NAMES else None


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
        # Images are checked in `call`, in a sentence that names both sizes
        # (Keras' own input spec check says only "incompatible").
        self.input_spec = None
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
        # Outputs whose top-1 the default metrics report as well, each
        # alone (`local_logits` -> `local_accuracy`).
        self.stream_outputs = ()
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

    @classmethod
    def from_trained(cls, model, **changes):
        """A new classifier that starts from a trained one: its settings
        (changed by `changes`) and every weight that still fits.

        The way to fine-tune on new data: with another `num_classes` (and
        `class_names`), the layers whose weights depend on the class count
        (the classification heads, a navigator's teacher) start afresh and
        everything else, the backbones first, keeps its trained weights.

        Args:
            model: a classifier of this class, or the path of its `.keras`
                file.
            **changes: constructor arguments to change (`num_classes`,
                `class_names`, `image_converter`, `timesteps`, ...).

        Returns:
            The new classifier, not compiled. Its `rebuilt_layers` names
            the layers that start afresh.

        Example:

        >>> model = RRAClassifier.from_trained(
        ...     "runs/a/model.keras", num_classes=5, class_names=names
        ... )
        >>> model.rebuilt_layers
        ['global_classifier', 'local_classifier', 'part_teacher']
        """
        if isinstance(model, (str, os.PathLike)):
            model = keras.saving.load_model(model)
        if type(model) is not cls:
            raise ValueError(
                f"{cls.__name__}.from_trained needs a {cls.__name__}; "
                f"received a {type(model).__name__}."
            )
        config = {**model.get_config(), **changes}
        if "num_classes" in changes and "class_names" not in changes:
            config["class_names"] = None
        config.pop("name", None)
        new = cls.from_config(config)
        new.rebuilt_layers = new.copy_weights_from(model)
        return new

    def copy_weights_from(self, model):
        """Copies the weights of every layer of `model` whose counterpart
        here (the layer of the same name) has weights of the same shapes.

        Returns:
            The names of the layers with weights that were not copied (no
            counterpart, or other shapes), which keep their initial weights.

        Raises:
            ValueError: when no weight at all could be copied.
        """
        rebuilt, copied = [], 0
        theirs = {layer.name: layer for layer in _own_layers(model)}
        for layer in _own_layers(self):
            if not layer.weights:
                continue
            source = theirs.get(layer.name)
            shapes = [tuple(weight.shape) for weight in layer.weights]
            if source is None or shapes != [tuple(w.shape) for w in source.weights]:
                rebuilt.append(layer.name)
                continue
            layer.set_weights(source.get_weights())
            copied += 1
        if not copied:
            raise ValueError(
                f"{model.name} and {self.name} share no layer with weights of the "
                "same shapes: nothing to start from (is it the same backbone?)."
            )
        return rebuilt

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

    def predict(self, x, *args, **kwargs):
        """`keras.Model.predict`; an array of images of another size is
        first brought to the model's input size by the model's own
        `image_converter` (the evaluation transform of its training data),
        as `keras-rra predict` and every export format do."""
        return super().predict(self._converted(x), *args, **kwargs)

    def _converted(self, images):
        """Images in an array of another height or width than the model's,
        through `image_converter`; anything else as it is."""
        if self.image_converter is None or isinstance(images, dict):
            return images
        shape = tuple(getattr(images, "shape", ()))
        if len(shape) not in (3, 4) or shape[-1] != 3:
            return images
        expected = tuple(self.inputs[0].shape[1:3])
        if tuple(shape[-3:-1]) == expected:
            return images
        return keras.ops.convert_to_numpy(self.image_converter(images))

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
            hint = ""
            if len(shape) == 4 and self.image_converter is not None:
                hint = (
                    " `model.predict` resizes images itself; elsewhere pass "
                    "them through `model.image_converter` first."
                )
            raise ValueError(
                f"{type(self).__name__} expects images of shape (batch, "
                f"{', '.join(str(size) for size in expected)}): RGB float pixels "
                f"in [0, 255]; received shape {shape}.{hint}"
            )

    @staticmethod
    def _classification_head(num_classes, name, paper_init=True):
        """A Dense to class logits with a zero bias, computed in float32
        under mixed precision. `paper_init`: an N(0, 0.01) kernel, as in
        RRA's reference code; otherwise Keras' Glorot default. The local
        stream's head takes Glorot: it reads LSTM states, in [-1, 1], and
        with N(0, 0.01) its logits and gradients were so small that RRA on
        task a's true part box reached 0.77-0.87 top-1 in 10 epochs, against
        0.99 with Glorot (seed 0). The navigator's teacher keeps N(0, 0.01):
        with Glorot it classified sooner but pointed worse (its best box held
        the part in 42-44% of task a's test images against 72%)."""
        initializer = (
            keras.initializers.RandomNormal(mean=0.0, stddev=0.01)
            if paper_init
            else "glorot_uniform"
        )
        return keras.layers.Dense(
            num_classes, kernel_initializer=initializer, dtype="float32", name=name
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
        """Configures training; every argument has a working default, and
        Keras' usual arguments mean what they mean for any Keras classifier.

        Every output whose name ends in `logits` is class logits (no
        softmax): `logits` is the prediction, the others are the streams it
        is made of (see the class docstring). The loss is applied to each
        output of `loss_terms` and summed with their weights; the metrics
        are measured on `"logits"`.

        Args:
            optimizer: `"auto"` is Adam with learning rate 1e-3, a safe
                choice from scratch and for fine-tuning alike; the RRA
                paper's SGD recipe is available through `keras_rra.training`.
                Any Keras optimizer, or its name, works.
            loss: `"auto"` (or `"sparse_categorical_crossentropy"`,
                `"categorical_crossentropy"`) is `LogitsCrossentropy`:
                cross-entropy of the logits, for integer and one-hot labels
                alike. Keras' cross-entropy objects and functions are applied
                `from_logits=True` whatever they were built with (the
                outputs are logits). Your own `Loss` or function receives
                `(labels, logits)`. Keras losses made for probabilities or
                regression (`"binary_crossentropy"`, `"mse"`, ...) are
                refused. A dict of losses per output falls back to Keras'
                own handling.
            metrics: `"auto"` is top-1 accuracy (`accuracy`), and top-5
                (`top5_accuracy`) from 6 classes up, on `"logits"` (integer
                or one-hot labels), and the top-1 of each stream that looks
                at a part, alone (`local_accuracy` for RRA,
                `fine_accuracy` for Coarse2Fine). A list of Keras metrics or
                names works as in Keras: `"accuracy"` and top-k metrics read logits as
                they read probabilities; cross-entropy metrics are measured
                `from_logits=True`.
            **kwargs: passed to `keras.Model.compile`.

        Example:

        >>> model = BaselineClassifier(num_classes=3, backbone="tiny")
        >>> model.compile(
        ...     optimizer="adam",
        ...     loss="sparse_categorical_crossentropy",
        ...     metrics=["accuracy"],
        ... )
        """
        if optimizer == "auto":
            optimizer = keras.optimizers.Adam(learning_rate=1e-3)
        self._auto_metrics = metrics == "auto"
        if self._auto_metrics:
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
            if self.num_classes >= TOP5_MIN_CLASSES:
                metrics.append(
                    keras.metrics.SparseTopKCategoricalAccuracy(
                        k=5, name="top5_accuracy"
                    )
                )
        else:
            metrics = self._metrics_on_logits(metrics)
        self._per_output_loss = not isinstance(loss, dict)
        if self._per_output_loss:
            self.classification_loss = self._as_loss(loss)
        super().compile(optimizer=optimizer, loss=loss, metrics=metrics, **kwargs)
        if self._auto_metrics:
            # A saved model recompiles from this config when it loads: with
            # "auto" it gets the default metrics again, the streams' own
            # top-1 included, not only the list they expanded to.
            self._compile_config.config["metrics"] = "auto"
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
        self.stream_accuracy_trackers = {}
        if self._auto_metrics:
            self.stream_accuracy_trackers = {
                output: keras.metrics.SparseCategoricalAccuracy(
                    name=output.removesuffix("_logits") + "_accuracy"
                )
                for output in self.stream_outputs
            }

    @staticmethod
    def _as_loss(loss):
        """The one classification loss as a `keras.losses.Loss` of (labels,
        logits) (it reduces over the batch and scales for `tf.distribute`
        as `compile` does)."""
        name = _crossentropy_name(loss)
        if loss == "auto" or name in CROSSENTROPY_NAMES[:2]:
            return LogitsCrossentropy()
        if name == "categorical_focal_crossentropy":
            return keras.losses.CategoricalFocalCrossentropy(from_logits=True)
        crossentropies = (
            keras.losses.SparseCategoricalCrossentropy,
            keras.losses.CategoricalCrossentropy,
            keras.losses.CategoricalFocalCrossentropy,
        )
        if isinstance(loss, crossentropies):
            return _on_logits(loss)
        if isinstance(loss, str) or _from_keras(loss):
            # Keras' own, but for probabilities or regression (or unknown).
            name = loss if isinstance(loss, str) else getattr(loss, "name", None)
            name = name or loss.__name__
            try:
                keras.losses.get(name)
            except ValueError:
                raise ValueError(
                    f"Unknown loss {name!r}: pass 'auto', a Keras cross-entropy "
                    "such as 'sparse_categorical_crossentropy', a keras.losses.Loss, "
                    "or a function of (labels, logits)."
                ) from None
            raise ValueError(
                f"The loss {name!r} is not a classification loss of class "
                "logits, and keras-rra's classifiers output logits for one "
                "class per image: pass 'auto' or 'sparse_categorical_crossentropy' "
                "(integer or one-hot labels), a keras.losses.Loss, or a function "
                "of (labels, logits)."
            )
        if isinstance(loss, keras.losses.Loss):
            return loss
        if callable(loss):
            return _ClassificationLoss(loss, name=getattr(loss, "__name__", None))
        raise ValueError(
            f"`loss` must be a Keras loss, its name or a function of (labels, "
            f"logits); received {loss!r}."
        )

    @staticmethod
    def _metrics_on_logits(metrics):
        """Keras metrics as given, with cross-entropies measured on logits."""
        if not isinstance(metrics, (list, tuple)):
            return metrics
        converted = []
        for metric in metrics:
            if isinstance(metric, str) and metric in CROSSENTROPY_NAMES[:2]:
                metric = keras.metrics.get(metric)
            if isinstance(metric, keras.metrics.Metric):
                metric = _on_logits(metric)
            converted.append(metric)
        return converted

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
        labels = self._labels_for_loss(y)
        for output, weight in self.loss_terms.items():
            term = self.classification_loss(labels, y_pred[output], sample_weight)
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
            terms = self.extra_losses(
                x, self._class_indices(y), y_pred, training=training
            )
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
        `teacher_backbone` (see `navigator_losses`), and `"guided"`: the
        cross-entropy of `part_logits` on the box the teacher points at.
        `training` is False in evaluation."""
        images = x["images"] if isinstance(x, dict) else x
        terms, teacher_boxes = navigator_losses(
            images,
            y,
            y_pred["navigator_scores"],
            self.teacher_backbone,
            self.part_teacher,
            self.anchor_pooling,
            self.num_classes,
            training=training,
            chosen_boxes=y_pred.get("patch_boxes"),
            part_weights=y_pred.get("part_weights"),
        )
        if "guided" in self.extra_loss_terms:
            logits = self.part_logits(images, teacher_boxes, training=training)
            terms["guided"] = keras.ops.mean(
                keras.losses.sparse_categorical_crossentropy(
                    keras.ops.reshape(y, (-1,)),
                    keras.ops.cast(logits, "float32"),
                    from_logits=True,
                )
            )
        return terms

    def finish_training(self, train_data):
        """What the model does to itself once training has ended, before it
        is evaluated and saved; `keras-rra train` calls it with the training
        split in order, without shuffling. Nothing by default (RRA with a
        learned navigator sets its part stream's statistics:
        `RRAClassifier.calibrate_statistics`).

        Args:
            train_data: a `tf.data.Dataset` of `(inputs, labels)` batches.

        Returns:
            Whether the model changed (its validation numbers seen while
            training no longer describe it).
        """
        del train_data
        return False

    def teacher_boxes(self, images, labels):
        """The box the navigator's teacher points at in each image.

        The teacher rates the navigator's boxes by their evidence for the
        true class (`navigator_losses`): the navigator learns to pick its
        best box, and the part classifier trains there too. Its box is
        scored against the true part boxes beside the navigator's own
        (`keras_rra.training.localization`): where the teacher finds the
        part and the navigator does not, the navigator is what fails to
        learn. It needs the labels, so it exists in training and
        evaluation, never in prediction.

        Args:
            images: `(batch, height, width, 3)` input images.
            labels: `(batch,)` integer labels.

        Returns:
            `(batch, 4)` normalised `(y0, x0, y1, x1)` boxes, or None for a
            model without a navigator.
        """
        if getattr(self, "part_teacher", None) is None:
            return None
        *_, boxes = teacher_pointing(
            images,
            labels,
            self.teacher_backbone,
            self.part_teacher,
            self.anchor_pooling,
            self.num_classes,
            training=False,
        )
        return keras.ops.convert_to_numpy(boxes)[:, 0]

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

    def _labels_for_loss(self, labels):
        """Labels in the format Keras' own sparse or one-hot cross-entropy
        takes, whichever the data has; other losses see them as given."""
        loss = self.classification_loss
        if isinstance(loss, keras.losses.SparseCategoricalCrossentropy):
            return self._class_indices(labels)
        one_hot_losses = (
            keras.losses.CategoricalCrossentropy,
            keras.losses.CategoricalFocalCrossentropy,
        )
        if isinstance(loss, one_hot_losses) and not self._one_hot(labels):
            indices = keras.ops.cast(self._class_indices(labels), "int32")
            return keras.ops.one_hot(indices, self.num_classes)
        return labels

    def _one_hot(self, labels):
        return len(labels.shape) == 2 and labels.shape[-1] == self.num_classes

    def _class_indices(self, labels):
        """Integer labels `(batch,)` from integer `(batch,)`/`(batch, 1)` or
        one-hot `(batch, num_classes)` labels."""
        if self._one_hot(labels):
            return keras.ops.argmax(labels, axis=-1)
        if len(labels.shape) == 2 and labels.shape[-1] == 1:
            return keras.ops.reshape(labels, (-1,))
        return labels

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        if getattr(self, "_auto_metrics", False):
            # The default metrics take either label format, as the loss does.
            y = self._class_indices(y)
            trackers = getattr(self, "stream_accuracy_trackers", {})
            for output, tracker in trackers.items():
                tracker.update_state(y, y_pred[output], sample_weight=sample_weight)
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
