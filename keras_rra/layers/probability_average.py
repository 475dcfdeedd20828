import keras
from keras import ops

from keras_rra.utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_rra")
class ProbabilityAverage(keras.layers.Layer):
    """Averages the class probabilities of several heads; returns logits.

    logits = log Σ_i w_i · softmax(l_i), computed stably as a log-sum-exp
    of the log-softmaxes. The result is a valid logits tensor whose softmax
    is the weighted mean of the heads' probabilities, so a loss, metric or
    `argmax` written for logits works on it. The weights w are a
    non-trainable variable (saved with the model), so a model can change
    them between training stages without rebuilding its graph; a weight of
    zero leaves that head out entirely. Computed in float32.

    Args:
        num_inputs: the number of heads averaged.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        inputs: a list of `num_inputs` logits tensors `(batch, classes)`.

    Returns:
        Logits `(batch, classes)`, float32.

    Example:

    >>> average = ProbabilityAverage(2)
    >>> logits = average([np.log([[0.9, 0.1]]), np.log([[0.5, 0.5]])])
    >>> np.exp(logits.numpy()).round(2).tolist()
    [[0.7, 0.3]]
    >>> average.set_input_weights([1.0, 0.0])  # the first head only
    """

    def __init__(self, num_inputs=2, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_inputs = check_positive_int("num_inputs", num_inputs)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != (
            self.num_inputs
        ):
            raise ValueError(
                f"ProbabilityAverage expects a list of {self.num_inputs} logits "
                f"tensors; received {input_shape!r}."
            )
        self.input_weights = self.add_weight(
            shape=(self.num_inputs,),
            initializer=keras.initializers.Constant(1.0 / self.num_inputs),
            trainable=False,
            name="input_weights",
        )
        self.built = True

    def set_input_weights(self, weights):
        """Sets the weights of the heads (non-negative, summing to one)."""
        values = [float(w) for w in weights]
        if len(values) != self.num_inputs or min(values) < 0:
            raise ValueError(
                f"Expected {self.num_inputs} non-negative weights; received {weights}."
            )
        if abs(sum(values) - 1.0) > 1e-6:
            raise ValueError(f"The weights must sum to 1; received {weights}.")
        self.input_weights.assign(values)

    def call(self, inputs):
        log_probabilities = ops.stack(
            [ops.log_softmax(ops.cast(x, "float32"), axis=-1) for x in inputs]
        )
        # log(0) = -inf drops a head with weight zero; the log-sum-exp of the
        # remaining terms stays finite.
        log_weights = ops.log(ops.reshape(self.input_weights, (-1, 1, 1)))
        return ops.logsumexp(log_probabilities + log_weights, axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        config = super().get_config()
        config.update({"num_inputs": self.num_inputs})
        return config
