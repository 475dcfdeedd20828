import keras
from keras import ops

from keras_rra.utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_rra")
class RecursiveRefinement(keras.layers.Layer):
    """Looks at one embedding for `timesteps` steps through a stacked LSTM.

    The same embedding is the input at every step, so the only thing that
    changes from step to step is the recurrent state: each step refines the
    previous one ("focus longer to see better", Shroff et al., 2020). The
    LSTMs are unrolled by default: for a small, fixed number of steps that is
    as fast as a loop and converts to TFLite with builtin ops only.

    Args:
        units: int. Size of every LSTM's state.
        num_layers: int. Number of stacked LSTMs.
        timesteps: int. Number of refinement steps T.
        dropout: float. Dropout on the input of every LSTM while training.
        unroll: bool. Unroll the recurrence (recommended for T <= ~32).
        kernel_initializer: initialiser of the LSTMs' input kernels.
        recurrent_initializer: initialiser of the LSTMs' recurrent kernels.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        embedding: tensor of shape `(batch, features)`.
        training: bool, whether dropout is active.

    Returns:
        The states of the last LSTM at every step, shape
        `(batch, timesteps, units)`.

    Example:

    >>> layer = RecursiveRefinement(units=8, num_layers=2, timesteps=3)
    >>> layer(np.ones((2, 5))).shape
    TensorShape([2, 3, 8])
    """

    def __init__(
        self,
        units=512,
        num_layers=2,
        timesteps=10,
        dropout=0.0,
        unroll=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.timesteps = check_positive_int("timesteps", timesteps)
        self.dropout = float(dropout)
        self.unroll = bool(unroll)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                "RecursiveRefinement expects an embedding of shape "
                f"(batch, features); received shape {tuple(input_shape)}."
            )
        self.lstms = []
        shape = (input_shape[0], self.timesteps, input_shape[-1])
        for index in range(self.num_layers):
            lstm = keras.layers.LSTM(
                self.units,
                return_sequences=True,
                unroll=self.unroll,
                dropout=self.dropout,
                kernel_initializer=self.kernel_initializer,
                recurrent_initializer=self.recurrent_initializer,
                dtype=self.dtype_policy,
                name=f"lstm_{index}",
            )
            lstm.build(shape)
            self.lstms.append(lstm)
            shape = (input_shape[0], self.timesteps, self.units)
        self.built = True

    def call(self, embedding, training=None):
        steps = ops.repeat(ops.expand_dims(embedding, axis=1), self.timesteps, axis=1)
        for lstm in self.lstms:
            steps = lstm(steps, training=training)
        return steps

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.timesteps, self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "timesteps": self.timesteps,
                "dropout": self.dropout,
                "unroll": self.unroll,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "recurrent_initializer": keras.initializers.serialize(
                    self.recurrent_initializer
                ),
            }
        )
        return config
