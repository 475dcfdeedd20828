import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rra")
class PartAttention(keras.layers.Layer):
    """Weights of each image's patches, from what each patch shows.

    A navigator proposes K boxes from the cheap global view, where it may
    not tell the part from a look-alike; the local stream sees each box at
    full resolution, with the part's surroundings. Each patch's features
    get a score s_k = wᵀz_k + b (one Dense(1) shared over the patches), and
    the weights are softmax_k(s): an attention over the instances of a
    bag, as in attention-based multiple-instance learning (Ilse et al.,
    ICML 2018). The kernel starts at zero, so the weights start equal (the
    mean over the patches) and learn through the loss on the weighted
    logits to favour the patches whose evidence holds.

    Args:
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        features: `(batch * K, units)` per-patch features, the patches of
            one image adjacent (as `PatchSampler` folds them).
        boxes: `(batch, K, 4)` the boxes the patches came from; only their
            shape is read.

    Returns:
        `(batch, K)` float32 weights that sum to one over each image's
        patches.

    Example:

    >>> weights = PartAttention()(np.ones((6, 8)), np.zeros((2, 3, 4)))
    >>> weights.numpy().round(3).tolist()
    [[0.333, 0.333, 0.333], [0.333, 0.333, 0.333]]
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, features_shape, boxes_shape):
        if len(features_shape) != 2 or len(boxes_shape) != 3 or boxes_shape[-1] != 4:
            raise ValueError(
                "PartAttention expects per-patch features (batch * K, units) and "
                "the boxes they came from (batch, K, 4); received shapes "
                f"{tuple(features_shape)} and {tuple(boxes_shape)}."
            )
        self.score = keras.layers.Dense(
            1, kernel_initializer="zeros", dtype=self.dtype_policy, name="score"
        )
        self.score.build(features_shape)
        self.built = True

    def call(self, features, boxes):
        boxes_shape = ops.shape(boxes)
        scores = ops.cast(self.score(features), "float32")
        scores = ops.reshape(scores, (boxes_shape[0], boxes_shape[1]))
        # Written out rather than ops.softmax, which warns at every trace for
        # a single patch (K = 1, a valid setting), where the weight is 1.
        exponentials = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True))
        return exponentials / ops.sum(exponentials, axis=-1, keepdims=True)

    def compute_output_shape(self, features_shape, boxes_shape):
        return (boxes_shape[0], boxes_shape[1])
