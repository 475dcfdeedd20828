import keras

from keras_rra.utils.validation import check_non_negative


@keras.saving.register_keras_serializable(package="keras_rra")
class LogitsCrossentropy(keras.losses.Loss):
    """Cross-entropy of class logits, for integer and one-hot labels alike.

    keras-rra's classifiers output logits (no softmax), so their loss is
    always computed `from_logits`. The label format is read from the static
    shapes: labels of shape `(batch,)` or `(batch, 1)` are class indices;
    labels of shape `(batch, num_classes)` are one-hot or soft targets
    (mixup, label smoothing done in the data).

    Args:
        label_smoothing: float in [0, 1): the weight moved from the true
            class to a uniform distribution over the classes.
        **kwargs: passed to `keras.losses.Loss` (`reduction`, `name`).

    Call arguments:
        y_true: class indices `(batch,)` / `(batch, 1)`, or targets
            `(batch, num_classes)`.
        y_pred: logits `(batch, num_classes)`.

    Returns:
        The loss, reduced over the batch as `reduction` says.

    Example:

    >>> loss = LogitsCrossentropy()
    >>> float(loss(np.array([0, 1]), np.zeros((2, 3))))  # ln 3
    1.0986123...
    >>> float(loss(np.eye(3)[[0, 1]], np.zeros((2, 3))))
    1.0986123...
    """

    def __init__(self, label_smoothing=0.0, name="logits_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        check_non_negative("label_smoothing", label_smoothing)
        if label_smoothing >= 1:
            raise ValueError(
                f"`label_smoothing` must be in [0, 1); received {label_smoothing}."
            )
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true, y_pred):
        num_classes = y_pred.shape[-1]
        one_hot = len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == (
            num_classes
        )
        if not one_hot:
            labels = keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32")
            if not self.label_smoothing:
                return keras.losses.sparse_categorical_crossentropy(
                    labels, y_pred, from_logits=True
                )
            y_true = keras.ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            keras.ops.cast(y_true, y_pred.dtype),
            y_pred,
            from_logits=True,
            label_smoothing=self.label_smoothing,
        )

    def get_config(self):
        config = super().get_config()
        config.update({"label_smoothing": self.label_smoothing})
        return config
