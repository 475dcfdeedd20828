"""Reading single image files into the package's image convention."""

import os

import numpy as np
from PIL import Image
from PIL import ImageOps
from PIL import UnidentifiedImageError


def read_image(path, size=None):
    """Reads an image file as float32 RGB pixels in [0, 255].

    Grayscale, palette, RGBA (alpha dropped), CMYK and 16-bit images are
    converted to 8-bit RGB; EXIF orientation is applied.

    Args:
        path: the image file.
        size: optional `(height, width)` to resize to (bilinear).

    Returns:
        `(height, width, 3)` float32 array.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: if the file is not a readable image, naming the file.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Image file {path!r} does not exist.")
    try:
        with Image.open(path) as image:
            image.load()
            image = ImageOps.exif_transpose(image)
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                # 16-bit: scale to 8 bit before the RGB conversion clips it.
                array = np.asarray(image, dtype="float32")
                high = 65535.0 if array.max() > 255 else 255.0
                image = Image.fromarray((array / high * 255).astype("uint8"))
            image = image.convert("RGB")
            if size is not None:
                height, width = size
                if image.size != (width, height):
                    image = image.resize((width, height), Image.BILINEAR)
            return np.asarray(image, dtype="float32")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"Cannot read image {path!r}: {error}") from None
