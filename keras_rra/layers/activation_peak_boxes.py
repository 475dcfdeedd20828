import keras
from keras import ops

from keras_rra.utils.validation import check_fraction


@keras.saving.register_keras_serializable(package="keras_rra")
class ActivationPeakBoxes(keras.layers.Layer):
    """A box of fixed size centred on the predicted class's activation peak.

    Given class activation maps `(batch, h, w, classes)` (a linear
    classifier applied at every position of a feature map, so that their
    spatial mean is the image's logits) and the logits, it takes the map of
    the top-scoring class, finds its highest cell, and returns the square
    box of `fraction` of each side centred there, shifted inside the image.
    No weights and no gradient: the box follows the classifier. It is the
    cheap way to pick a patch from the image alone.

    Args:
        fraction: side of the box relative to the image, in (0, 1].
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        class_maps: `(batch, h, w, classes)`.
        logits: `(batch, classes)`.

    Returns:
        Normalised `(y1, x1, y2, x2)` boxes `(batch, 1, 4)`.

    Example:

    >>> maps = np.zeros((1, 4, 4, 2)); maps[0, 0, 3, 1] = 5.0
    >>> ActivationPeakBoxes(0.5)(maps, np.array([[0.0, 1.0]])).numpy().tolist()
    [[[0.0, 0.5, 0.5, 1.0]]]
    """

    def __init__(self, fraction=0.5, **kwargs):
        super().__init__(**kwargs)
        self.fraction = check_fraction("fraction", fraction)

    def build(self, class_maps_shape, logits_shape):
        if len(class_maps_shape) != 4 or len(logits_shape) != 2:
            raise ValueError(
                "ActivationPeakBoxes expects class maps (batch, h, w, classes) and "
                f"logits (batch, classes); received shapes {tuple(class_maps_shape)}"
                f" and {tuple(logits_shape)}."
            )
        self.built = True

    def call(self, class_maps, logits):
        # Maxima by comparison, not `argmax`: Keras' argmax adds a
        # BitwiseAnd, which TFLite has no builtin for. Tied classes add their
        # maps; tied cells give their mean position.
        logits = ops.cast(logits, class_maps.dtype)
        top = ops.cast(logits >= ops.max(logits, axis=-1, keepdims=True), logits.dtype)
        activation = ops.cast(
            ops.sum(class_maps * top[:, None, None, :], axis=-1), "float32"
        )
        peak = ops.cast(
            activation >= ops.max(activation, axis=(1, 2), keepdims=True), "float32"
        )
        count = ops.sum(peak, axis=(1, 2))
        shape = ops.shape(activation)

        def centre(axis, size):
            size = ops.cast(size, "float32")
            positions = (
                ops.arange(ops.shape(peak)[axis], dtype="float32") + 0.5
            ) / size
            profile = ops.sum(peak, axis=3 - axis)
            return ops.sum(profile * positions, axis=-1) / count

        half = self.fraction / 2
        cy = ops.clip(centre(1, shape[1]), half, 1.0 - half)
        cx = ops.clip(centre(2, shape[2]), half, 1.0 - half)
        boxes = ops.stack([cy - half, cx - half, cy + half, cx + half], axis=-1)
        return ops.cast(ops.expand_dims(boxes, 1), "float32")

    def compute_output_shape(self, class_maps_shape, logits_shape):
        return (class_maps_shape[0], 1, 4)

    def get_config(self):
        config = super().get_config()
        config.update({"fraction": self.fraction})
        return config
