"""Reading single image files with the decoder training uses."""

import os

import tensorflow as tf

from keras_rra.data.image_scan import check_image
from keras_rra.data.pipeline import decode_image_file


def read_image(path):
    """Reads an image file as uint8 RGB pixels, exactly as training does.

    One decoder everywhere: this is `tf.io.decode_image`, as in the input
    pipeline and the SavedModel's `serving_default`. Grayscale, palette and
    RGBA images become RGB (alpha dropped), 16-bit PNGs 8-bit, and an
    animated GIF gives its first frame. EXIF orientation is **not** applied
    (training never applies it, so a model has learned images as stored);
    rotate such files before training and prediction alike.

    Args:
        path: the image file.

    Returns:
        `(height, width, 3)` uint8 array.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a readable image, naming the file.
    """
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not an image file.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file {path!r} does not exist.")
    # Pillow names the problem in a sentence; TensorFlow's decoder would
    # answer with a stack trace.
    _, reason = check_image(path)
    if reason is not None:
        raise ValueError(f"Cannot read image {path!r}: {reason}.")
    try:
        return decode_image_file(path).numpy()
    except tf.errors.OpError as error:
        raise ValueError(f"Cannot read image {path!r}: {error.message}") from None
