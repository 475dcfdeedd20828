import keras
from keras import ops

from keras_rra.utils.validation import check_positive_int


@keras.saving.register_keras_serializable(package="keras_rra")
class AttentionMaps(keras.layers.Layer):
    """M non-negative attention maps from a feature map (Coarse2Fine).

    A = ReLU(F · W + b), a 1×1 convolution of the feature map F
    `(batch, h, w, C)` to `num_maps` channels. With `orthogonal=True` the
    kernel W (C × M) starts with orthonormal columns, so each map starts on
    its own direction of the channel space and the maps begin decorrelated
    (the paper's orthogonal initialisation; `orthogonal=False` is the
    ablation, with a He-normal kernel). The bias starts at zero.

    Args:
        num_maps: M, the number of attention maps (>= 1). With
            `orthogonal=True` it must not exceed the feature map's channels:
            C-dimensional space holds at most C orthonormal columns.
        orthogonal: initialise the kernel with orthonormal columns.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        features: `(batch, h, w, channels)`.

    Returns:
        Attention maps `(batch, h, w, num_maps)`, all >= 0.

    Example:

    >>> maps = AttentionMaps(num_maps=4)(np.random.rand(2, 7, 7, 16))
    >>> maps.shape
    TensorShape([2, 7, 7, 4])
    """

    def __init__(self, num_maps=32, orthogonal=True, **kwargs):
        super().__init__(**kwargs)
        self.num_maps = check_positive_int("num_maps", num_maps)
        self.orthogonal = bool(orthogonal)

    def build(self, features_shape):
        if len(features_shape) != 4 or features_shape[-1] is None:
            raise ValueError(
                "AttentionMaps expects a feature map of shape (batch, h, w, "
                f"channels) with known channels; received {tuple(features_shape)}."
            )
        channels = features_shape[-1]
        if self.orthogonal and self.num_maps > channels:
            raise ValueError(
                f"num_maps={self.num_maps} orthonormal columns do not fit in the "
                f"feature map's {channels} channels (at most {channels}). Use "
                "fewer maps, a wider backbone, or orthogonal=False."
            )
        self.projection = keras.layers.Conv2D(
            self.num_maps,
            1,
            kernel_initializer=(
                keras.initializers.Orthogonal() if self.orthogonal else "he_normal"
            ),
            dtype=self.dtype_policy,
            name="projection",
        )
        self.projection.build(features_shape)
        self.built = True

    def call(self, features):
        return ops.relu(self.projection(features))

    def compute_output_shape(self, features_shape):
        return (*features_shape[:3], self.num_maps)

    def get_config(self):
        config = super().get_config()
        config.update({"num_maps": self.num_maps, "orthogonal": self.orthogonal})
        return config
