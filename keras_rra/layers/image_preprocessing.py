import keras
from keras import ops

from keras_rra.utils.validation import check_choice

# Per-mode constants of the keras.applications preprocessing functions.
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

MODES = ("caffe", "torch", "tf", "unit", "none")


@keras.saving.register_keras_serializable(package="keras_rra")
class ImagePreprocessing(keras.layers.Layer):
    """Maps RGB pixels in [0, 255] to what a backbone was trained on.

    Every model of the package takes float pixels in [0, 255] and applies its
    backbone's preprocessing inside the graph with this layer, so datasets,
    `predict` and every export format share one image convention.

    Args:
        mode: one of
            `"caffe"` (RGB to BGR, minus the ImageNet BGR mean: VGG, ResNet),
            `"torch"` (scale to [0, 1], then ImageNet mean/std: DenseNet),
            `"tf"` (scale to [-1, 1]: MobileNetV2, Inception),
            `"unit"` (scale to [0, 1]),
            `"none"` (unchanged: backbones that preprocess inside, such as
            EfficientNet, MobileNetV3 and ConvNeXt).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: `(..., 3)` float pixels in [0, 255].

    Returns:
        Preprocessed images of the same shape.

    Example:

    >>> ImagePreprocessing("tf")(np.full((1, 2, 2, 3), 255.0))[0, 0, 0]
    <tf.Tensor: shape=(3,), dtype=float32, numpy=array([1., 1., 1.], ...)>
    """

    def __init__(self, mode="unit", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_choice("mode", mode, MODES)

    def build(self, input_shape):
        if self.mode in ("caffe", "torch") and input_shape[-1] != 3:
            raise ValueError(
                f"ImagePreprocessing(mode={self.mode!r}) needs RGB images with 3 "
                f"channels; received shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, images):
        images = ops.cast(images, self.compute_dtype)
        if self.mode == "caffe":
            return ops.flip(images, axis=-1) - ops.convert_to_tensor(
                _CAFFE_BGR_MEAN, dtype=self.compute_dtype
            )
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=self.compute_dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=self.compute_dtype)
            return (images / 255.0 - mean) / std
        if self.mode == "tf":
            return images / 127.5 - 1.0
        if self.mode == "unit":
            return images / 255.0
        return images

    def get_config(self):
        config = super().get_config()
        config.update({"mode": self.mode})
        return config
