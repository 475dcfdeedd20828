import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rra")
class TemporalAttentionPooling(keras.layers.Layer):
    """Attention over time steps: a weighted sum of the states.

    Each state h_t gets a score s_t = wᵀh_t + b from one Dense(1) shared over
    the steps; the weights are α = softmax_t(s) and the result is
    z = Σ_t α_t h_t. The softmax is computed in float32 so the weights stay
    exact under mixed precision.

    Args:
        kernel_initializer: initialiser of the scoring Dense.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        states: tensor of shape `(batch, timesteps, units)`.

    Returns:
        A tuple `(pooled, weights)`: `pooled` of shape `(batch, units)` and
        the attention `weights` of shape `(batch, timesteps)`, which sum to
        one over the steps.

    Example:

    >>> pooled, weights = TemporalAttentionPooling()(np.ones((2, 4, 8)))
    >>> pooled.shape, weights.shape
    (TensorShape([2, 8]), TensorShape([2, 4]))
    """

    def __init__(self, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        if len(input_shape) != 3:
            raise ValueError(
                "TemporalAttentionPooling expects states of shape "
                f"(batch, timesteps, units); received shape {tuple(input_shape)}."
            )
        self.score = keras.layers.Dense(
            1,
            kernel_initializer=self.kernel_initializer,
            dtype=self.dtype_policy,
            name="score",
        )
        self.score.build(input_shape)
        self.built = True

    def call(self, states):
        scores = ops.cast(ops.squeeze(self.score(states), axis=-1), "float32")
        # Written out rather than ops.softmax, which warns at every trace for
        # a single step (T = 1, a valid setting), where the weight is 1.
        exponentials = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        weights = exponentials / ops.sum(exponentials, axis=-1, keepdims=True)
        pooled = ops.sum(
            ops.expand_dims(ops.cast(weights, states.dtype), axis=-1) * states,
            axis=1,
        )
        return pooled, weights

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2]), (input_shape[0], input_shape[1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                )
            }
        )
        return config
