"""Checking image files before training, so that a bad file is named.

TensorFlow's decoders stop an epoch with a stack trace at the first corrupt
file and never say which file it was. Every file is therefore opened once
with Pillow before its dataset is built: unreadable, truncated and
non-image files are found up front, and their sizes are known (CUB's and
Aircraft's pixel boxes need them).
"""

import concurrent.futures
import functools
import os

from PIL import Image
from PIL import UnidentifiedImageError

from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Formats `tf.io.decode_image` reads; a file of another format (a TIFF named
# .png, say) would fail inside the input pipeline.
DECODABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")


def has_image_extension(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def too_many_pixels(width, height, max_pixels):
    """The reason an image of `width` x `height` is refused, or None."""
    if width * height <= max_pixels:
        return None
    return (
        f"declares {width}x{height} = {width * height:,} pixels, more than the "
        f"limit of {max_pixels:,} (max_image_pixels); it was not decoded"
    )


def check_image(path, max_pixels=MAX_IMAGE_PIXELS):
    """Opens and decodes `path` once, if its header declares at most
    `max_pixels` pixels (Pillow reads the size from the header alone).

    Returns:
        `((height, width), None)` for a good image, `(None, reason)` else.
    """
    if not os.path.isfile(path):
        return None, "no such file"
    try:
        with Image.open(path) as image:
            width, height = image.size
            too_large = too_many_pixels(width, height, max_pixels)
            if too_large:
                return None, too_large
            if image.format not in DECODABLE_FORMATS:
                return None, (
                    f"is a {image.format} image; supported formats are "
                    f"{', '.join(DECODABLE_FORMATS)}"
                )
            # A JPEG decoded at 1/8 scale still reads every byte, so a
            # truncated file is found at a fraction of the cost.
            image.draft("RGB", (max(1, width // 8), max(1, height // 8)))
            image.load()
    except UnidentifiedImageError:
        return None, "not an image file"
    except Image.DecompressionBombError:
        # Pillow refuses to open such a file at all, so its exact size is
        # unknown; its limit is above ours unless max_image_pixels was raised.
        pillow_limit = 2 * Image.MAX_IMAGE_PIXELS
        reason = (
            f"declares more than {pillow_limit:,} pixels (Pillow's own limit, "
            "PIL.Image.MAX_IMAGE_PIXELS x 2)"
        )
        if max_pixels < pillow_limit:
            reason += f", more than the limit of {max_pixels:,} (max_image_pixels)"
        return None, f"{reason}; it was not decoded"
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"unreadable image ({error})"
    if width < 1 or height < 1:
        return None, f"empty image ({width}x{height})"
    return (height, width), None


def scan_images(paths, workers=None, max_pixels=MAX_IMAGE_PIXELS):
    """Checks every file in parallel (see `check_image`).

    Returns:
        A list with one `check_image` result per path, in order.
    """
    check = functools.partial(check_image, max_pixels=max_pixels)
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    if len(paths) < 64:
        return [check(path) for path in paths]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(check, paths, chunksize=32))
