import keras
from keras import ops

from keras_rra.utils.validation import check_boxes
from keras_rra.utils.validation import concrete_value
from keras_rra.utils.validation import to_size


@keras.saving.register_keras_serializable(package="keras_rra")
class PatchSampler(keras.layers.Layer):
    """Cuts boxes out of images and resamples them bilinearly to a fixed size.

    Built from gather and elementwise ops only, so it runs in TFLite with
    builtin ops (`tf.image.crop_and_resize` needs the Flex delegate). The
    output is differentiable with respect to the images and, through the
    interpolation weights, with respect to the box coordinates: this is what
    lets a learned box (a saliency zoom) train end to end.

    Sample points sit at pixel centres: output pixel i of a box spanning
    [y1, y2] reads the image at y1 + (y2 - y1) * (i + 0.5) / patch_height, in
    normalised coordinates. Points outside the image read the nearest edge
    pixel.

    Args:
        patch_size: int or `(height, width)`: the size of every patch.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: tensor `(batch, height, width, channels)`.
        boxes: normalised `(y1, x1, y2, x2)` boxes, either `(batch, 4)` (one
            box per image) or `(batch, num_boxes, 4)`. In eager calls the
            boxes are checked (inside [0, 1], non-empty); in traced calls they
            are clamped to the image.

    Returns:
        Patches `(batch, patch_height, patch_width, channels)` for boxes of
        rank 2; for boxes of rank 3, `(batch * num_boxes, patch_height,
        patch_width, channels)` with the patches of image b at rows
        `b * num_boxes ... b * num_boxes + num_boxes - 1`, ready for a
        backbone that expects a 4-D batch.

    Example:

    >>> images = np.random.uniform(0, 255, (2, 64, 64, 3))
    >>> boxes = np.array([[0.0, 0.0, 0.5, 0.5], [0.25, 0.25, 0.75, 0.75]])
    >>> PatchSampler(patch_size=32)(images, boxes).shape
    TensorShape([2, 32, 32, 3])
    """

    def __init__(self, patch_size=224, **kwargs):
        # Boxes arrive in float32 under every policy: autocasting them to
        # bfloat16 would move a 448-px image's sample points by up to 2 px.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.patch_size = to_size("patch_size", patch_size)

    def build(self, images_shape, boxes_shape):
        if len(images_shape) != 4:
            raise ValueError(
                "PatchSampler expects images of shape (batch, height, width, "
                f"channels); received shape {tuple(images_shape)}."
            )
        if len(boxes_shape) not in (2, 3) or boxes_shape[-1] != 4:
            raise ValueError(
                "PatchSampler expects boxes of shape (batch, 4) or (batch, "
                f"num_boxes, 4); received shape {tuple(boxes_shape)}."
            )
        self.built = True

    def call(self, images, boxes):
        known = concrete_value(boxes)
        if known is not None:
            check_boxes(known, source="PatchSampler")
        per_image = len(boxes.shape) == 3
        if not per_image:
            boxes = ops.expand_dims(boxes, axis=1)

        # Coordinates in float32 under every policy: in bfloat16 a pixel
        # coordinate of a 448-px image is off by up to 2 px.
        dtype = "float32"
        images = ops.cast(images, self.compute_dtype)
        boxes = ops.cast(boxes, dtype)
        image_shape = ops.shape(images)
        batch, height, width = image_shape[0], image_shape[1], image_shape[2]
        channels = images.shape[-1]
        patch_height, patch_width = self.patch_size

        def sample_points(start, stop, count, extent):
            # (batch, num_boxes, count) pixel coordinates, clamped to the image.
            steps = (ops.arange(count, dtype=dtype) + 0.5) / count
            start = ops.expand_dims(start, -1)
            stop = ops.expand_dims(stop, -1)
            points = (start + (stop - start) * steps) * ops.cast(extent, dtype) - 0.5
            points = ops.clip(points, 0.0, ops.cast(extent - 1, dtype))
            low = ops.floor(points)
            weight = points - low
            low = ops.cast(low, "int32")
            high = ops.minimum(low + 1, extent - 1)
            return low, high, weight

        y_low, y_high, y_weight = sample_points(
            boxes[..., 0], boxes[..., 2], patch_height, height
        )
        x_low, x_high, x_weight = sample_points(
            boxes[..., 1], boxes[..., 3], patch_width, width
        )

        flat_images = ops.reshape(images, (-1, channels))
        offsets = ops.reshape(
            ops.arange(batch, dtype="int32") * height * width, (-1, 1, 1, 1)
        )

        def gather(rows, cols):
            index = (
                offsets + ops.expand_dims(rows, -1) * width + ops.expand_dims(cols, -2)
            )
            values = ops.take(flat_images, ops.reshape(index, (-1,)), axis=0)
            return ops.reshape(values, (-1, patch_height, patch_width, channels))

        y_weight = ops.cast(
            ops.reshape(y_weight, (-1, patch_height, 1, 1)), self.compute_dtype
        )
        x_weight = ops.cast(
            ops.reshape(x_weight, (-1, 1, patch_width, 1)), self.compute_dtype
        )
        top = gather(y_low, x_low) * (1.0 - x_weight) + gather(y_low, x_high) * x_weight
        bottom = (
            gather(y_high, x_low) * (1.0 - x_weight) + gather(y_high, x_high) * x_weight
        )
        patches = top * (1.0 - y_weight) + bottom * y_weight
        return patches

    def compute_output_shape(self, images_shape, boxes_shape):
        batch = images_shape[0]
        if len(boxes_shape) == 3:
            batch = (
                None
                if batch is None or boxes_shape[1] is None
                else (batch * boxes_shape[1])
            )
        return (batch, *self.patch_size, images_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update({"patch_size": self.patch_size})
        return config
