"""Every kind of bad or unusual image file, through the folder loader."""

import io
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_rra.data import BadDataWarning
from keras_rra.data import load
from keras_rra.data.image_scan import check_image
from tests.dataset_files import solid_image

COLOUR = (200, 120, 40)


def _write_good_files(folder):
    """Colour conversions that must work: name -> expected RGB colour."""
    os.makedirs(folder, exist_ok=True)
    base = Image.new("RGB", (50, 40), COLOUR)
    expected = {}
    base.save(os.path.join(folder, "rgb.jpg"))
    expected["rgb.jpg"] = COLOUR
    for name in ("gray.png", "gray.jpg"):
        gray = base.convert("L")
        gray.save(os.path.join(folder, name))
        expected[name] = (gray.getpixel((0, 0)),) * 3
    # A dithered palette image: its mean colour is the original one.
    base.convert("P").save(os.path.join(folder, "palette.png"))
    expected["palette.png"] = COLOUR
    rgba = base.convert("RGBA")
    rgba.putalpha(80)
    rgba.save(os.path.join(folder, "rgba.png"))
    expected["rgba.png"] = COLOUR
    base.convert("CMYK").save(os.path.join(folder, "cmyk.jpg"))
    expected["cmyk.jpg"] = COLOUR
    sixteen = Image.fromarray(np.full((40, 50), 150 * 257, "uint16"))
    sixteen.save(os.path.join(folder, "sixteen_bit.png"))
    expected["sixteen_bit.png"] = (150, 150, 150)
    base.save(os.path.join(folder, "image.bmp"))
    expected["image.bmp"] = COLOUR
    base.save(os.path.join(folder, "image.GIF"))
    expected["image.GIF"] = COLOUR
    return expected


def _write_bad_files(folder):
    """Files that must be skipped: name -> words of the reason."""
    os.makedirs(folder, exist_ok=True)
    whole = solid_image(os.path.join(folder, "whole.jpg"), COLOUR)
    with open(whole, "rb") as file:
        data = file.read()
    os.remove(whole)
    with open(os.path.join(folder, "truncated.jpg"), "wb") as file:
        file.write(data[: len(data) // 2])
    noise = np.random.default_rng(0).integers(0, 255, (40, 50, 3), dtype="uint8")
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, format="PNG")
    data = buffer.getvalue()
    middle = len(data) // 2
    with open(os.path.join(folder, "corrupt.png"), "wb") as file:
        file.write(data[:middle] + b"\x00" * 64 + data[middle + 64 :])
    with open(os.path.join(folder, "text.jpg"), "w") as file:
        file.write("this is not an image")
    open(os.path.join(folder, "empty.png"), "w").close()
    Image.new("RGB", (10, 10)).save(os.path.join(folder, "tiff.png"), format="TIFF")
    return {
        "truncated.jpg": "truncated",
        "corrupt.png": "unreadable",
        "text.jpg": "not an image",
        "empty.png": "not an image",
        "tiff.png": "TIFF",
    }


def test_colour_conversions_work(tmp_path):
    expected = _write_good_files(str(tmp_path / "train" / "a"))
    dataset, _ = load(
        f"folder:{tmp_path}",
        "train",
        batch_size=32,
        image_size=16,
        augmentation="paper",
        shuffle=False,
    )
    images, _ = next(iter(dataset))
    assert images.shape == (len(expected), 16, 16, 3)
    # Files are read in sorted order.
    for image, name in zip(np.asarray(images), sorted(expected), strict=True):
        np.testing.assert_allclose(
            image.reshape(-1, 3).mean(axis=0), expected[name], atol=4, err_msg=name
        )


def test_bad_files_are_skipped_with_one_warning_listing_all(tmp_path):
    _write_good_files(str(tmp_path / "train" / "a"))
    reasons = _write_bad_files(str(tmp_path / "train" / "a"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset, _ = load(f"folder:{tmp_path}", "train", image_size=16)
    ours = [w for w in caught if w.category is BadDataWarning]
    assert len(ours) == 1
    message = str(ours[0].message)
    assert f"skipped {len(reasons)} example(s)" in message
    for name, reason in reasons.items():
        line = next(line for line in message.splitlines() if name in line)
        assert reason in line, line
    assert sum(int(labels.shape[0]) for _, labels in dataset) == 9


def test_bad_file_under_error_names_the_file(tmp_path):
    _write_good_files(str(tmp_path / "train" / "a"))
    solid = os.path.join(tmp_path, "train", "a", "zz_text.png")
    with open(solid, "w") as file:
        file.write("not a png")
    with pytest.raises(ValueError, match=r"zz_text\.png: not an image file"):
        load(f"folder:{tmp_path}", "train", on_bad_image="error")


def test_a_dataset_of_only_bad_files_is_an_error(tmp_path):
    _write_bad_files(str(tmp_path / "train" / "a"))
    with (
        pytest.warns(BadDataWarning),
        pytest.raises(ValueError, match="no usable image"),
    ):
        load(f"folder:{tmp_path}", "train")


def test_check_image_reports_size_or_reason(tmp_path):
    path = solid_image(str(tmp_path / "a.jpg"), COLOUR, size=(30, 70))
    assert check_image(path) == ((30, 70), None)
    assert check_image(str(tmp_path / "missing.jpg")) == (None, "no such file")


def test_an_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path):
    from keras_rra.data.image_scan import check_image
    from tests.helpers import bomb_png

    path = tmp_path / "bomb.png"
    path.write_bytes(bomb_png(9000, 9000))  # a 100-byte file
    size, reason = check_image(str(path))
    assert size is None
    assert "9000x9000 = 81,000,000 pixels" in reason
    assert "limit of 64,000,000 (max_image_pixels); it was not decoded" in reason
    small = tmp_path / "small.png"
    Image.new("RGB", (40, 30)).save(small)
    assert check_image(str(small), max_pixels=1200) == ((30, 40), None)
    assert "limit of 1,199" in check_image(str(small), max_pixels=1199)[1]
    # Above Pillow's own limit (which refuses to open the file): one
    # sentence, not its exception.
    huge = tmp_path / "huge.png"
    huge.write_bytes(bomb_png(20000, 20000))
    size, reason = check_image(str(huge))
    assert size is None and "more than 178,956,970 pixels" in reason
    assert "limit of 64,000,000 (max_image_pixels)" in reason
    assert "max_image_pixels" not in check_image(str(huge), max_pixels=2**40)[1]


def test_training_data_skips_an_image_over_the_limit_by_name(tmp_path):
    from tests.helpers import bomb_png

    folder = tmp_path / "train" / "a"
    good = len(_write_good_files(str(folder)))
    (folder / "bomb.png").write_bytes(bomb_png(9000, 9000))
    with pytest.warns(BadDataWarning, match="bomb.png: declares 9000x9000"):
        dataset, _ = load(f"folder:{tmp_path}", "train", image_size=16)
    assert sum(int(labels.shape[0]) for _, labels in dataset) == good
    with pytest.raises(ValueError, match=r"bomb\.png: declares"):
        load(f"folder:{tmp_path}", "train", image_size=16, on_bad_image="error")
