"""Sizing and augmentation in tf.data, outside the model.

Keeping these out of the model keeps the model's graph the same in
training, XLA and every export format.
"""

import dataclasses

import tensorflow as tf

from keras_rra.settings.data_settings import AUGMENTATIONS
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import check_positive_int

PRESETS = AUGMENTATIONS
# The usual ratio of resize to crop side (256 -> 224 for ImageNet).
RESIZE_RATIO = 256 / 224


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """How images are sized and augmented.

    Presets:
    - `paper`: resize to `image_size` x `image_size`, ignoring the aspect
      ratio; no random transformation. This is what the RRA reference code
      does (448 x 448).
    - `standard`: resize the shorter side to `resize_size`; in training a
      random `image_size` square crop and a random horizontal flip, in
      evaluation the centre crop.

    Patch boxes are moved with the image: cropped, flipped and clipped to
    [0, 1].

    Args:
        preset: `"paper"` or `"standard"`.
        image_size: side of the square output image.
        resize_size: shorter side before cropping (`standard` only; default
            `image_size * 256 / 224`).

    Example:

    ```python
    augmentation = Augmentation("standard", image_size=448)
    image, boxes = augmentation.resize(uint8_image, boxes)
    image, boxes = augmentation.finish(image, boxes, training=True, seed=(1, 2))
    ```
    """

    preset: str = "standard"
    image_size: int = 448
    resize_size: int | None = None

    def __post_init__(self):
        check_choice("augmentation", self.preset, PRESETS)
        check_positive_int("image_size", self.image_size)
        if self.resize_size is not None:
            check_positive_int("resize_size", self.resize_size)
            if self.resize_size < self.image_size:
                raise ValueError(
                    f"resize_size={self.resize_size} is smaller than "
                    f"image_size={self.image_size}: the crop would not fit."
                )

    @property
    def shorter_side(self):
        return self.resize_size or int(round(self.image_size * RESIZE_RATIO))

    @property
    def is_random(self):
        """Whether training draws random transformations."""
        return self.preset == "standard"

    def resize(self, image, boxes=None):
        """The deterministic part: a uint8 image at its working size.

        Its result may be cached: nothing random happens here.
        """
        shape = tf.shape(image)
        height, width = shape[0], shape[1]
        if self.preset == "paper":
            size = tf.constant([self.image_size, self.image_size])
        else:
            scale = self.shorter_side / tf.cast(tf.minimum(height, width), tf.float32)
            size = tf.cast(
                tf.round(tf.cast(tf.stack([height, width]), tf.float32) * scale),
                tf.int32,
            )
            size = tf.maximum(size, self.shorter_side)
        resized = tf.image.resize(image, size, antialias=True)
        resized = tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)
        # Resizing does not move normalised boxes.
        return resized, boxes

    def finish(self, image, boxes=None, training=False, seed=None):
        """The crop and flip, after `resize`: float32 pixels in [0, 255].

        Args:
            image: the output of `resize`.
            boxes: optional `(K, 4)` normalised boxes.
            training: random crop and flip (`standard`) instead of the
                centre crop.
            seed: shape `(2,)` integer seed of the random transformations.
        """
        if self.preset == "standard":
            shape = tf.shape(image)
            spare = shape[:2] - self.image_size
            if training:
                offset = tf.random.stateless_uniform(
                    [2], seed=seed, minval=0, maxval=2**30, dtype=tf.int32
                ) % (spare + 1)
            else:
                offset = spare // 2
            image = tf.slice(
                image, [offset[0], offset[1], 0], [self.image_size, self.image_size, 3]
            )
            if boxes is not None:
                boxes = _crop_boxes(boxes, offset, shape[:2], self.image_size)
            if training:
                flip_seed = tf.stack([seed[0], seed[1] + 1])
                flip = tf.random.stateless_uniform([], seed=flip_seed) < 0.5
                image = tf.cond(flip, lambda: tf.reverse(image, [1]), lambda: image)
                if boxes is not None:
                    boxes = tf.cond(flip, lambda: _flip_boxes(boxes), lambda: boxes)
        image = tf.cast(image, tf.float32)
        image = tf.ensure_shape(image, [self.image_size, self.image_size, 3])
        return image, boxes


def _crop_boxes(boxes, offset, size, crop):
    size = tf.cast(size, tf.float32)
    offset = tf.cast(offset, tf.float32)
    scale = tf.concat([size, size], axis=0)
    shift = tf.concat([offset, offset], axis=0)
    return tf.clip_by_value((boxes * scale - shift) / crop, 0.0, 1.0)


def _flip_boxes(boxes):
    y1, x1, y2, x2 = tf.unstack(boxes, axis=-1)
    return tf.stack([y1, 1.0 - x2, y2, 1.0 - x1], axis=-1)
