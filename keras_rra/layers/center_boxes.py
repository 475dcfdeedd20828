import keras
from keras import ops

from keras_rra.utils.validation import check_fraction


@keras.saving.register_keras_serializable(package="keras_rra")
class CenterBoxes(keras.layers.Layer):
    """The centred square box covering `fraction` of each side, per image.

    Args:
        fraction: float in (0, 1]: side of the box relative to the image.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: `(batch, height, width, channels)`; only the batch size is
            read.

    Returns:
        `(batch, 1, 4)` normalised boxes (y1, x1, y2, x2).

    Example:

    >>> CenterBoxes(0.5)(np.zeros((1, 8, 8, 3)))[0, 0].numpy().tolist()
    [0.25, 0.25, 0.75, 0.75]
    """

    def __init__(self, fraction=0.5, **kwargs):
        super().__init__(**kwargs)
        self.fraction = check_fraction("fraction", fraction)

    def build(self, images_shape):
        if len(images_shape) != 4:
            raise ValueError(
                "CenterBoxes expects images of shape (batch, height, width, "
                f"channels); received shape {tuple(images_shape)}."
            )
        self.built = True

    def call(self, images):
        low = (1.0 - self.fraction) / 2.0
        high = low + self.fraction
        box = ops.convert_to_tensor([[[low, low, high, high]]], dtype="float32")
        return ops.repeat(box, ops.shape(images)[0], axis=0)

    def compute_output_shape(self, images_shape):
        return (images_shape[0], 1, 4)

    def get_config(self):
        config = super().get_config()
        config.update({"fraction": self.fraction})
        return config
