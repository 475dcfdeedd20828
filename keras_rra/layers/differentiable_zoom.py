import math

import keras
from keras import ops

from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.utils.validation import check_fraction
from keras_rra.utils.validation import to_size

# Saliency mass (in pixels of full saliency) below which a map counts as empty.
EMPTY_MASS = 1e-6
# Standard deviations of a uniform distribution in its half-width.
UNIFORM_SPREAD = math.sqrt(3.0)


@keras.saving.register_keras_serializable(package="keras_rra")
class DifferentiableZoom(keras.layers.Layer):
    """Zooms into the region a saliency map marks, differentiably.

    The saliency S ≥ 0 is read as a distribution over the image: its mean
    position is the box's centre, and `spread` standard deviations r on each
    side, softly capped as m·tanh(r/m) with m = `max_extent` / 2, its
    half-extent. With the default spread √3, r is exactly the half-side of a
    box over which S is uniform; the soft cap keeps small boxes
    (m·tanh(r/m) ≈ r: with `max_extent=1` a box of a third of the side
    comes back 3.5% smaller) and, with `max_extent=1`, turns a map uniform
    over the whole image into the central 76% of it. A `max_extent` below 1
    makes the zoom always a zoom, so that where it looks matters. A hard cap
    would stop the gradient exactly where training starts (an untrained S is
    nearly uniform); the soft one never does. The box is then enlarged to
    the output's aspect ratio (`keep_aspect`), to at least `min_extent` of
    each side, shifted inside the image, and resampled bilinearly to
    `output_size` by `PatchSampler`. Centre and extent are smooth functions of S, so the
    loss on the zoomed image trains whatever produced S.

    A saliency map with no mass (all zeros) or with non-finite values is
    never turned into NaN: non-finite values count as zero, negative ones
    are clipped to zero, and an empty map gives the whole image.

    Built from reductions, elementwise ops and `PatchSampler`'s gathers:
    TFLite builtin ops only.

    Args:
        output_size: int or `(height, width)` of the zoomed images.
        spread: half-extent of the box in standard deviations of S.
        min_extent: the smallest box side, as a fraction of the image side.
        max_extent: the side the soft cap tends to, as a fraction of the
            image side (`min_extent` < `max_extent` <= 1).
        keep_aspect: enlarge the box to the output's aspect ratio (in
            pixels), so the zoom does not stretch what it shows.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: `(batch, height, width, channels)`.
        saliency: `(batch, s_height, s_width, 1)` or `(batch, s_height,
            s_width)`, any grid (coordinates are normalised).

    Returns:
        A tuple `(zoomed, boxes)`: `zoomed` of shape `(batch, *output_size,
        channels)` and the normalised `(y1, x1, y2, x2)` boxes `(batch, 4)`.

    Example:

    >>> saliency = np.zeros((1, 64, 64, 1)); saliency[0, 8:24, 32:48] = 1.0
    >>> zoomed, boxes = DifferentiableZoom(32)(np.random.rand(1, 64, 64, 3), saliency)
    >>> boxes.numpy().round(3).tolist()  # 0.5·tanh(0.25) = 0.122 each side
    [[0.128, 0.503, 0.372, 0.747]]
    """

    def __init__(
        self,
        output_size,
        spread=UNIFORM_SPREAD,
        min_extent=0.1,
        max_extent=1.0,
        keep_aspect=True,
        **kwargs,
    ):
        # Boxes arrive in float32 under every policy: autocasting them to
        # bfloat16 would move a 448-px image's sample points by up to 2 px.
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.output_size = to_size("output_size", output_size)
        self.spread = float(spread)
        if not self.spread > 0:
            raise ValueError(f"`spread` must be > 0; received {spread!r}.")
        self.min_extent = check_fraction("min_extent", min_extent)
        self.max_extent = check_fraction("max_extent", max_extent)
        if self.max_extent <= self.min_extent:
            raise ValueError(
                f"`max_extent` ({self.max_extent}) must be larger than "
                f"`min_extent` ({self.min_extent})."
            )
        self.keep_aspect = bool(keep_aspect)

    def build(self, images_shape, saliency_shape):
        if len(images_shape) != 4:
            raise ValueError(
                "DifferentiableZoom expects images of shape (batch, height, width, "
                f"channels); received shape {tuple(images_shape)}."
            )
        if not (
            len(saliency_shape) == 3
            or (len(saliency_shape) == 4 and saliency_shape[-1] == 1)
        ):
            raise ValueError(
                "DifferentiableZoom expects a saliency map of shape (batch, "
                f"height, width, 1); received shape {tuple(saliency_shape)}."
            )
        self.sampler = PatchSampler(
            self.output_size, dtype=self.dtype_policy, name="sampler"
        )
        self.sampler.build(images_shape, (images_shape[0], 4))
        self.built = True

    def call(self, images, saliency):
        boxes = self.saliency_boxes(saliency, ops.shape(images)[1:3])
        return self.sampler(images, boxes), boxes

    def saliency_boxes(self, saliency, image_size):
        """The `(batch, 4)` boxes for a saliency map and an image size."""
        s = ops.cast(saliency, "float32")
        if len(s.shape) == 4:
            s = ops.squeeze(s, axis=-1)
        s = ops.relu(ops.where(ops.isfinite(s), s, ops.zeros_like(s)))
        mass = ops.sum(s, axis=(1, 2))
        present = mass > EMPTY_MASS
        # A safe divisor: the unused branch of `where` must stay finite, or
        # its gradient turns into NaN.
        mass = ops.expand_dims(ops.where(present, mass, ops.ones_like(mass)), -1)

        def moments(profile, count):
            count = ops.cast(count, "float32")
            grid = (ops.arange(ops.shape(profile)[-1], dtype="float32") + 0.5) / count
            weights = profile / mass
            centre = ops.sum(weights * grid, axis=-1)
            variance = ops.sum(weights * ops.square(grid - centre[:, None]), axis=-1)
            # S is constant over each cell: each cell adds the variance of a
            # uniform over its width (which also keeps the root away from 0).
            variance = variance + 1.0 / (12.0 * ops.square(count))
            cap = self.max_extent / 2
            return centre, cap * ops.tanh(self.spread * ops.sqrt(variance) / cap)

        shape = ops.shape(s)
        cy, half_y = moments(ops.sum(s, axis=2), shape[1])
        cx, half_x = moments(ops.sum(s, axis=1), shape[2])
        half_y = ops.maximum(half_y, self.min_extent / 2)
        half_x = ops.maximum(half_x, self.min_extent / 2)
        if self.keep_aspect:
            height = ops.cast(image_size[0], "float32")
            width = ops.cast(image_size[1], "float32")
            ratio = self.output_size[0] / self.output_size[1]
            pixels_y = ops.maximum(half_y * height, ratio * half_x * width)
            half_y, half_x = pixels_y / height, pixels_y / ratio / width
        half_y = ops.minimum(half_y, 0.5)
        half_x = ops.minimum(half_x, 0.5)
        cy = ops.clip(cy, half_y, 1.0 - half_y)
        cx = ops.clip(cx, half_x, 1.0 - half_x)
        boxes = ops.stack([cy - half_y, cx - half_x, cy + half_y, cx + half_x], -1)
        whole = ops.broadcast_to(
            ops.convert_to_tensor([0.0, 0.0, 1.0, 1.0], "float32"), ops.shape(boxes)
        )
        boxes = ops.where(present[:, None], boxes, whole)
        return ops.clip(boxes, 0.0, 1.0)

    def compute_output_shape(self, images_shape, saliency_shape):
        return (
            (images_shape[0], *self.output_size, images_shape[-1]),
            (images_shape[0], 4),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "output_size": self.output_size,
                "spread": self.spread,
                "min_extent": self.min_extent,
                "max_extent": self.max_extent,
                "keep_aspect": self.keep_aspect,
            }
        )
        return config
