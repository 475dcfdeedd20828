"""Reading single image files with the decoder training uses."""

import glob
import os
import warnings

import tensorflow as tf

from keras_rra.data.bad_data import BadDataWarning
from keras_rra.data.image_scan import IMAGE_EXTENSIONS
from keras_rra.data.image_scan import check_image
from keras_rra.data.image_scan import has_image_extension
from keras_rra.data.pipeline import decode_image_file
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS

_GLOB_CHARACTERS = "*?["


def expand_image_paths(items):
    """Image files named by `items`: files, folders (every image file under
    them, recursively, sorted) and glob patterns (`photos/*.jpg`,
    `photos/**/*.png`).

    Files in a folder whose names are not images
    (`.jpg .jpeg .png .bmp .gif`) are left out with one warning that names
    them. A path that does not exist, or a pattern that matches nothing, is
    kept, so that reading it reports the problem in its place.
    """
    if isinstance(items, (str, os.PathLike)):
        items = [items]
    paths, skipped = [], []
    for item in map(str, items):
        if os.path.isdir(item):
            for folder, subfolders, names in os.walk(item):
                subfolders.sort()
                for name in sorted(names):
                    path = os.path.join(folder, name)
                    if has_image_extension(name):
                        paths.append(path)
                    elif not name.startswith("."):
                        skipped.append(path)
        elif not os.path.exists(item) and any(c in item for c in _GLOB_CHARACTERS):
            matches = sorted(glob.glob(item, recursive=True))
            files = [path for path in matches if os.path.isfile(path)]
            paths.extend(files or [item])
        else:
            paths.append(item)
    if skipped:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        warnings.warn(
            f"Skipped {len(skipped)} file(s) that are not images "
            f"({', '.join(IMAGE_EXTENSIONS)}): {shown}",
            BadDataWarning,
            stacklevel=2,
        )
    return paths


def read_image(path, max_pixels=MAX_IMAGE_PIXELS):
    """Reads an image file as uint8 RGB pixels, exactly as training does.

    One decoder everywhere: this is `tf.io.decode_image`, as in the input
    pipeline and the SavedModel's `serving_default`. Grayscale, palette and
    RGBA images become RGB (alpha dropped), 16-bit PNGs 8-bit, and an
    animated GIF gives its first frame. EXIF orientation is **not** applied
    (training never applies it, so a model has learned images as stored);
    rotate such files before training and prediction alike.

    Args:
        path: the image file.
        max_pixels: a file whose header declares more pixels is refused
            before it is decoded (see `max_image_pixels`).

    Returns:
        `(height, width, 3)` uint8 array.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a readable image, naming the file.
    """
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder, not an image file.")
    if not os.path.isfile(path):
        if any(character in path for character in _GLOB_CHARACTERS):
            raise FileNotFoundError(f"No image file matches {path!r}.")
        raise FileNotFoundError(f"Image file {path!r} does not exist.")
    # Pillow names the problem in a sentence; TensorFlow's decoder would
    # answer with a stack trace.
    _, reason = check_image(path, max_pixels)
    if reason is not None:
        raise ValueError(f"Cannot read image {path!r}: {reason}.")
    try:
        return decode_image_file(path).numpy()
    except tf.errors.OpError as error:
        raise ValueError(f"Cannot read image {path!r}: {error.message}") from None
