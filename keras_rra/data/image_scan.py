"""Checking image files before training, so that a bad file is named.

TensorFlow's decoders stop an epoch with a stack trace at the first corrupt
file and never say which file it was. Every file is therefore opened once
with Pillow before its dataset is built: unreadable, truncated and
non-image files are found up front, and their sizes are known (CUB's and
Aircraft's pixel boxes need them).
"""

import concurrent.futures
import os

from PIL import Image
from PIL import UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Formats `tf.io.decode_image` reads; a file of another format (a TIFF named
# .png, say) would fail inside the input pipeline.
DECODABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")


def has_image_extension(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def check_image(path):
    """Opens and decodes `path` once.

    Returns:
        `((height, width), None)` for a good image, `(None, reason)` else.
    """
    if not os.path.isfile(path):
        return None, "no such file"
    try:
        with Image.open(path) as image:
            width, height = image.size
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
    except (OSError, SyntaxError, ValueError) as error:
        return None, f"unreadable image ({error})"
    if width < 1 or height < 1:
        return None, f"empty image ({width}x{height})"
    return (height, width), None


def scan_images(paths, workers=None):
    """Checks every file in parallel.

    Returns:
        A list with one `check_image` result per path, in order.
    """
    workers = workers or min(8, (os.cpu_count() or 1) * 2)
    if len(paths) < 64:
        return [check_image(path) for path in paths]
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(check_image, paths, chunksize=32))
