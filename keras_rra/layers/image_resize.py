import keras
from keras import ops

from keras_rra.utils.validation import to_size


@keras.saving.register_keras_serializable(package="keras_rra")
class ImageResize(keras.layers.Layer):
    """Resizes images to a fixed size, bilinearly, inside a model.

    What `keras.layers.Resizing` computes, without its `training` argument:
    Keras' image preprocessing layers default `training` to True, and a
    layer's default reaches every layer called after it in the same model
    call. A `Resizing` inside a model therefore put the batch normalisation
    and dropout that follow it in training mode whenever the model was called
    without an explicit `training` (an eager call, an exported SavedModel).
    This layer has no training behaviour to switch.

    Args:
        size: int or `(height, width)` of the output.
        interpolation: `"bilinear"` (default), `"nearest"` or another method
            of `keras.ops.image.resize`.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: `(batch, height, width, channels)`.

    Returns:
        `(batch, *size, channels)`.

    Example:

    >>> ImageResize(32)(np.zeros((2, 64, 64, 3))).shape
    TensorShape([2, 32, 32, 3])
    """

    def __init__(self, size, interpolation="bilinear", **kwargs):
        super().__init__(**kwargs)
        self.size = to_size("size", size)
        self.interpolation = interpolation

    def build(self, images_shape):
        if len(images_shape) != 4:
            raise ValueError(
                "ImageResize expects images of shape (batch, height, width, "
                f"channels); received shape {tuple(images_shape)}."
            )
        self.built = True

    def call(self, images):
        return ops.image.resize(
            ops.cast(images, self.compute_dtype),
            self.size,
            interpolation=self.interpolation,
        )

    def compute_output_shape(self, images_shape):
        return (images_shape[0], *self.size, images_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"size": self.size, "interpolation": self.interpolation})
        return config
