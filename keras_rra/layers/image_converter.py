import keras
import tensorflow as tf

from keras_rra.data.augmentation import PRESETS
from keras_rra.data.augmentation import Augmentation
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import to_size


@keras.saving.register_keras_serializable(package="keras_rra")
class ImageConverter(keras.layers.Layer):
    """Brings decoded images of any size to a model's input size.

    It is the evaluation transform of the data the model was trained on (a
    plain resize, or a resize of the shorter side and a centre crop), saved
    in the model's config, so that a `.keras` file and every export format
    prepare a raw image the same way wherever the file sits (as keras-hub's
    image converters travel with their tasks). It runs the input pipeline's
    own code (`keras_rra.data.augmentation.Augmentation`, in evaluation
    mode), so the pixels equal those the test split is evaluated on.

    Args:
        image_size: int, the side of the model's square input.
        augmentation: `"paper"` (resize to `image_size`, ignoring the
            aspect ratio) or `"standard"` (resize the shorter side to
            `resize_size`, then the centre `image_size` square).
        resize_size: the shorter side before the crop (`"standard"`; default
            `image_size * 256 / 224`).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: one image `(height, width, 3)` or a batch `(batch, height,
            width, 3)` of uint8 or float RGB pixels in [0, 255].

    Returns:
        float32 pixels in [0, 255], `(..., image_size, image_size, 3)`.

    Example:

    >>> converter = ImageConverter(64, augmentation="standard")
    >>> converter(np.zeros((120, 80, 3), "uint8")).shape
    TensorShape([64, 64, 3])
    """

    def __init__(self, image_size, augmentation="paper", resize_size=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        # Nothing to learn: the transform is fixed by the data.
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        height, width = to_size("image_size", image_size)
        if height != width:
            raise ValueError(
                f"ImageConverter makes square images; received image_size="
                f"{(height, width)}."
            )
        self.image_size = height
        self.augmentation = check_choice("augmentation", augmentation, PRESETS)
        # Validates resize_size against image_size too.
        self.transform = Augmentation(augmentation, height, resize_size)
        self.resize_size = resize_size

    def call(self, images):
        # The input pipeline's code, in TensorFlow, so that the pixels match
        # the evaluation split's exactly (antialiased resize, uint8 rounding).
        images = tf.convert_to_tensor(images)
        if images.dtype != tf.uint8:
            images = tf.cast(tf.clip_by_value(tf.round(images), 0, 255), tf.uint8)
        if images.shape.rank == 3:
            return self._convert(images)
        if images.shape.rank != 4 or images.shape[-1] != 3:
            raise ValueError(
                "ImageConverter expects RGB images (height, width, 3) or a batch "
                f"(batch, height, width, 3); received shape {tuple(images.shape)}."
            )
        size = self.image_size
        return tf.map_fn(
            self._convert,
            images,
            fn_output_signature=tf.TensorSpec((size, size, 3), tf.float32),
        )

    def _convert(self, image):
        image, _ = self.transform.resize(image)
        image, _ = self.transform.finish(image, training=False)
        return image

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-3], self.image_size, self.image_size, 3)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "image_size": self.image_size,
                "augmentation": self.augmentation,
                "resize_size": self.resize_size,
            }
        )
        return config
