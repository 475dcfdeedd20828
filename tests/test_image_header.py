import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_rra.export.image_header import declared_pixels
from tests.helpers import bomb_jpeg
from tests.helpers import bomb_png

FORMATS = [
    ("PNG", {}),
    ("JPEG", {}),
    ("GIF", {}),
    ("BMP", {}),
    ("WEBP", {}),
    ("WEBP", {"lossless": True}),
]


@pytest.mark.parametrize("image_format, options", FORMATS)
@pytest.mark.parametrize("width, height", [(37, 23), (300, 17)])
def test_the_header_gives_the_images_pixels(image_format, options, width, height):
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), "uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=image_format, **options)
    assert int(declared_pixels(tf.constant(buffer.getvalue()))) == width * height


def test_bombs_declare_their_size_without_being_decoded():
    assert int(declared_pixels(tf.constant(bomb_png(20000, 20000)))) == 4 * 10**8
    assert int(declared_pixels(tf.constant(bomb_jpeg(60000, 50000)))) == 3 * 10**9


@pytest.mark.parametrize("payload", [b"", b"hello", b"GIF"])
def test_anything_else_declares_nothing(payload):
    # The decoder then refuses it, as it would have.
    assert int(declared_pixels(tf.constant(payload))) == 0
