import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rra")
class BilinearAttentionPooling(keras.layers.Layer):
    """Pools a feature map once per attention map and concatenates.

    For features F `(batch, h, w, C)` and attention maps A
    `(batch, h, w, M)`: f_m = mean over the h·w positions of A_m ⊙ F, a
    C-vector per map, and the output is [f_1, …, f_M], one `M · C` vector
    per image. Computed as one batched matrix product (Aᵀ F / hw), a TFLite
    builtin.

    Optionally, as is usual for bilinear features, the signed square root
    sign(x)·sqrt(|x| + ε) and L2 normalisation of the whole vector. They are
    computed in float32 under mixed precision.

    Args:
        signed_sqrt: apply the signed square root.
        l2_normalize: scale each image's vector to unit L2 norm.
        epsilon: the ε of the square root and of the normalisation.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        features: `(batch, h, w, channels)`.
        attention: `(batch, h, w, num_maps)`, on the same grid.

    Returns:
        `(batch, num_maps * channels)`, map-major: entries
        `m * channels ... (m + 1) * channels - 1` are f_m.

    Example:

    >>> pooled = BilinearAttentionPooling()(
    ...     np.random.rand(2, 7, 7, 16), np.random.rand(2, 7, 7, 4))
    >>> pooled.shape
    TensorShape([2, 64])
    """

    def __init__(self, signed_sqrt=False, l2_normalize=False, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.signed_sqrt = bool(signed_sqrt)
        self.l2_normalize = bool(l2_normalize)
        self.epsilon = float(epsilon)

    def build(self, features_shape, attention_shape):
        if len(features_shape) != 4 or len(attention_shape) != 4:
            raise ValueError(
                "BilinearAttentionPooling expects features (batch, h, w, C) and "
                "attention maps (batch, h, w, M); received shapes "
                f"{tuple(features_shape)} and {tuple(attention_shape)}."
            )
        for axis in (1, 2):
            a, b = features_shape[axis], attention_shape[axis]
            if a is not None and b is not None and a != b:
                raise ValueError(
                    "Features and attention maps must share their grid; received "
                    f"{tuple(features_shape[1:3])} and {tuple(attention_shape[1:3])}."
                )
        self.built = True

    def call(self, features, attention):
        attention = ops.cast(attention, features.dtype)
        shape = ops.shape(features)
        positions = shape[1] * shape[2]
        flat_features = ops.reshape(features, (shape[0], -1, features.shape[-1]))
        flat_attention = ops.reshape(attention, (shape[0], -1, attention.shape[-1]))
        pooled = ops.matmul(ops.transpose(flat_attention, (0, 2, 1)), flat_features)
        pooled = pooled / ops.cast(positions, pooled.dtype)
        pooled = ops.reshape(pooled, (shape[0], -1))
        if not (self.signed_sqrt or self.l2_normalize):
            return pooled
        # Square roots and norms of small values lose too much in float16.
        result = ops.cast(pooled, "float32")
        if self.signed_sqrt:
            result = ops.sign(result) * ops.sqrt(ops.abs(result) + self.epsilon)
        if self.l2_normalize:
            norm = ops.sqrt(ops.sum(ops.square(result), axis=-1, keepdims=True))
            result = result / (norm + self.epsilon)
        return ops.cast(result, pooled.dtype)

    def compute_output_shape(self, features_shape, attention_shape):
        channels, maps = features_shape[-1], attention_shape[-1]
        size = None if channels is None or maps is None else channels * maps
        return (features_shape[0], size)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "signed_sqrt": self.signed_sqrt,
                "l2_normalize": self.l2_normalize,
                "epsilon": self.epsilon,
            }
        )
        return config
