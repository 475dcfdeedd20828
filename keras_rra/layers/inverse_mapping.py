import math

import keras

from keras_rra.layers.image_resize import ImageResize
from keras_rra.utils.validation import check_positive_int
from keras_rra.utils.validation import to_size


@keras.saving.register_keras_serializable(package="keras_rra")
class InverseMapping(keras.layers.Layer):
    """A learned decoder from a feature map back to the image: saliency S.

    Coarse2Fine's inverse mapping g, as we build it: a 1×1 convolution to
    `filters` channels, then as many stride-2 transposed convolutions (4×4,
    ReLU; the channels halve each time, down to `min_filters`) as fit
    within `output_size`, a bilinear resize to exactly `output_size` where
    the backbone's stride is not a power of two, and a 3×3 convolution to
    one sigmoid channel. S is in (0, 1) at every pixel of the input image;
    at initialisation it is about 0.5 everywhere, so a zoom driven by S
    starts from the whole image. There is no batch normalisation, so a
    decoder that receives no gradient (Coarse2Fine's stage 1) does not change
    at all.

    Args:
        output_size: int or `(height, width)`: the input image's size.
        filters: channels after the first 1×1 convolution.
        min_filters: the fewest channels of an upsampling stage.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        features: `(batch, h, w, channels)`, with h, w known and at least 2
            (a 1×1 grid carries no position to decode), and no larger than
            `output_size`.

    Returns:
        Saliency `(batch, height, width, 1)` in (0, 1), float32.

    Example:

    >>> saliency = InverseMapping(output_size=64)(np.random.rand(2, 8, 8, 16))
    >>> saliency.shape
    TensorShape([2, 64, 64, 1])
    """

    def __init__(self, output_size, filters=64, min_filters=8, **kwargs):
        super().__init__(**kwargs)
        self.output_size = to_size("output_size", output_size)
        self.filters = check_positive_int("filters", filters)
        self.min_filters = check_positive_int("min_filters", min_filters)

    def build(self, features_shape):
        if len(features_shape) != 4 or None in tuple(features_shape[1:]):
            raise ValueError(
                "InverseMapping expects a feature map (batch, h, w, channels) with "
                f"a known size; received shape {tuple(features_shape)}."
            )
        grid = tuple(features_shape[1:3])
        if min(grid) < 2:
            raise ValueError(
                f"The feature map {grid} is too small for the inverse mapping: a "
                "saliency map decoded from fewer than 2×2 positions carries no "
                "location. Use a larger image_size or a backbone with a smaller "
                "stride."
            )
        if grid[0] > self.output_size[0] or grid[1] > self.output_size[1]:
            raise ValueError(
                f"The feature map {grid} is larger than the output size "
                f"{self.output_size}; the inverse mapping only upsamples."
            )
        ratios = [out / size for out, size in zip(self.output_size, grid, strict=True)]
        upsamplings = int(math.floor(math.log2(min(ratios))))
        self.reduction = keras.layers.Conv2D(
            self.filters,
            1,
            activation="relu",
            dtype=self.dtype_policy,
            name="reduction",
        )
        self.upsampling = [
            keras.layers.Conv2DTranspose(
                max(self.min_filters, self.filters // 2 ** (index + 1)),
                4,
                strides=2,
                padding="same",
                activation="relu",
                dtype=self.dtype_policy,
                name=f"upsampling{index}",
            )
            for index in range(upsamplings)
        ]
        decoded = tuple(size * 2**upsamplings for size in grid)
        self.resize = (
            None
            if decoded == self.output_size
            else ImageResize(self.output_size, dtype=self.dtype_policy, name="resize")
        )
        # float32: the zoom reads S's mass, which float16 sums poorly.
        self.saliency = keras.layers.Conv2D(
            1, 3, padding="same", activation="sigmoid", dtype="float32", name="saliency"
        )
        shape = tuple(features_shape)
        for layer in [self.reduction, *self.upsampling]:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        if self.resize is not None:
            shape = (shape[0], *self.output_size, shape[-1])
        self.saliency.build(shape)
        self.built = True

    def call(self, features):
        x = self.reduction(features)
        for layer in self.upsampling:
            x = layer(x)
        if self.resize is not None:
            x = self.resize(x)
        return self.saliency(x)

    def compute_output_shape(self, features_shape):
        return (features_shape[0], *self.output_size, 1)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_size": self.output_size,
                "filters": self.filters,
                "min_filters": self.min_filters,
            }
        )
        return config
