import keras

from keras_rra.models.navigator_losses import navigator_losses
from keras_rra.utils.validation import check_positive_int


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
    outputs=...)` and then set `loss_terms`.

    Args:
        num_classes: int >= 2.
        class_names: optional list of `num_classes` strings, kept in the
            model's config so that a saved model can name its predictions.
        **kwargs: passed to `keras.Model` (`inputs`, `outputs`, `name`).
    """

    def __init__(self, *args, num_classes=None, class_names=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.num_classes = num_classes
        self.class_names = class_names
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
        total = 0.0
        for output, weight in self.loss_terms.items():
            term = self._compile_loss(y, y_pred[output], sample_weight)
            self._track(f"{output}_loss", self._unscaled_for_distribution(term))
            if weight:
                total = total + weight * term
        for output, weight in self.area_terms.items():
            area = keras.ops.mean(keras.ops.cast(y_pred[output], "float32"))
            self._track(f"{output}_area", area)
            if weight:
                total = total + self._aggregate_additional_loss(weight * area)
        if self.extra_loss_terms:
            terms = self.extra_losses(x, y, y_pred, training=training)
            for name, weight in self.extra_loss_terms.items():
                self._track(f"{name}_loss", terms[name])
                if weight:
                    total = total + self._aggregate_additional_loss(
                        weight * terms[name]
                    )
        for loss in self.losses:
            total = total + self._aggregate_additional_loss(loss)
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

    def _track(self, name, value):
        tracker = self.loss_term_trackers.get(name)
        if tracker is not None:
            tracker.update_state(value)

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
            "num_classes": self.num_classes,
            "class_names": self.class_names,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("backbone", "local_backbone"):
            if isinstance(config.get(key), dict):
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
