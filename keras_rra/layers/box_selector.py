import keras
from keras import ops

from keras_rra.utils.validation import check_choice


@keras.saving.register_keras_serializable(package="keras_rra")
class BoxSelector(keras.layers.Layer):
    """Chooses which of K candidate boxes per image the local stream looks at.

    While training, one candidate is drawn at random per image (the RRA
    reference code does this with its 10 precomputed boxes per image). At
    inference the choice is deterministic: the first candidate, or all of
    them so that the caller can average over the K boxes.

    Args:
        eval_mode: `"first"` or `"all"`: what inference returns.
        seed: int or None: seed of the random choice while training.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        boxes: `(batch, K, 4)` candidate boxes.
        training: bool: draw at random (True) or choose deterministically.

    Returns:
        `(batch, 1, 4)` boxes, or `(batch, K, 4)` at inference with
        `eval_mode="all"`.

    Example:

    >>> boxes = np.random.uniform(0, 0.4, (2, 5, 4)) + [0, 0, 0.5, 0.5]
    >>> BoxSelector()(boxes).shape
    TensorShape([2, 1, 4])
    """

    def __init__(self, eval_mode="first", seed=None, **kwargs):
        # Boxes arrive in float32 under every policy: autocasting them to
        # bfloat16 would move a 448-px image's sample points by up to 2 px.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.eval_mode = check_choice("eval_mode", eval_mode, ("first", "all"))
        self.seed = seed

    def build(self, boxes_shape):
        if len(boxes_shape) != 3 or boxes_shape[-1] != 4:
            raise ValueError(
                "BoxSelector expects candidate boxes of shape (batch, K, 4); "
                f"received shape {tuple(boxes_shape)}."
            )
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="seed")
        self.built = True

    def call(self, boxes, training=None):
        # Boxes stay float32 under every policy (see `PatchSampler`).
        boxes = ops.cast(boxes, "float32")
        if training:
            num_boxes = boxes.shape[1] or ops.shape(boxes)[1]
            choice = keras.random.randint(
                (ops.shape(boxes)[0],), 0, num_boxes, seed=self.seed_generator
            )
            # A one-hot product picks the box exactly and needs no gather.
            one_hot = ops.one_hot(choice, num_boxes, dtype=boxes.dtype)
            return ops.expand_dims(ops.einsum("bk,bkc->bc", one_hot, boxes), 1)
        if self.eval_mode == "all":
            return boxes
        return boxes[:, :1, :]

    def compute_output_shape(self, boxes_shape):
        if self.eval_mode == "all":
            return (boxes_shape[0], None, 4)
        return (boxes_shape[0], 1, 4)

    def get_config(self):
        config = super().get_config()
        config.update({"eval_mode": self.eval_mode, "seed": self.seed})
        return config
