import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_rra.data.image_files import read_image


def test_one_decoder_for_prediction_and_training(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20, 30, 3), dtype="uint8")
    path = str(tmp_path / "photo.jpg")
    Image.fromarray(pixels).save(path, quality=80)
    image = read_image(path)
    decoded = tf.io.decode_image(tf.io.read_file(path), channels=3).numpy()
    assert image.dtype == np.uint8 and image.shape == (20, 30, 3)
    np.testing.assert_array_equal(image, decoded)


def test_grey_and_rgba_images_become_rgb(tmp_path):
    grey = str(tmp_path / "grey.png")
    Image.fromarray(np.full((4, 5), 7, "uint8")).save(grey)
    assert read_image(grey).shape == (4, 5, 3)
    rgba = str(tmp_path / "rgba.png")
    Image.fromarray(np.full((4, 5, 4), 9, "uint8")).save(rgba)
    assert read_image(rgba).shape == (4, 5, 3)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.png"):
        read_image(str(tmp_path / "nothing.png"))
    with pytest.raises(ValueError, match="is a folder, not an image file"):
        read_image(str(tmp_path))
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="Cannot read image .*notes.png"):
        read_image(str(text))
