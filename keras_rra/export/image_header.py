"""The pixel count an encoded image declares in its header, read in the
TensorFlow graph before the image is decoded, so that a served model
refuses a decompression bomb (a small file that declares a huge image)
without spending the memory to decode it."""

import tensorflow as tf

# Bytes read from the start of the file: every header below ends by then.
_HEADER_BYTES = 32


def _padded_header(image_bytes):
    # Padded, so that a file shorter than a header reads as zeros.
    padded = image_bytes + tf.constant(b"\0" * _HEADER_BYTES)
    return tf.strings.substr(padded, 0, _HEADER_BYTES)


def _header_values(header_bytes):
    raw = tf.io.decode_raw(header_bytes, tf.uint8)
    return tf.cast(tf.reshape(raw, [_HEADER_BYTES]), tf.int64)


def _big_endian(header, start, length):
    value = tf.constant(0, tf.int64)
    for index in range(start, start + length):
        value = value * 256 + header[index]
    return value


def _little_endian(header, start, length):
    value = tf.constant(0, tf.int64)
    for index in reversed(range(start, start + length)):
        value = value * 256 + header[index]
    return value


def _starts_with(header_bytes, magic, offset=0):
    return tf.equal(tf.strings.substr(header_bytes, offset, len(magic)), magic)


def _webp_pixels(header):
    # VP8X: 24-bit canvas width - 1 and height - 1 at bytes 24 and 27.
    extended = (_little_endian(header, 24, 3) + 1) * (_little_endian(header, 27, 3) + 1)
    # VP8L: 14-bit width - 1 and height - 1 packed from byte 21.
    bits = _little_endian(header, 21, 4)
    lossless = (bits % 16384 + 1) * ((bits // 16384) % 16384 + 1)
    # VP8: 14-bit width and height at bytes 26 and 28.
    lossy = (_little_endian(header, 26, 2) % 16384) * (
        _little_endian(header, 28, 2) % 16384
    )
    kind = header[15]  # the last letter of "VP8X", "VP8L" or "VP8 "
    return tf.where(
        tf.equal(kind, ord("X")),
        extended,
        tf.where(tf.equal(kind, ord("L")), lossless, lossy),
    )


def declared_pixels(image_bytes):
    """Width x height as the header of one encoded JPEG, PNG, GIF, BMP or
    WebP image declares it, as an int64 scalar; 0 for anything else (the
    decoder then refuses it as it would)."""
    header_bytes = _padded_header(image_bytes)
    header = _header_values(header_bytes)
    png = _big_endian(header, 16, 4) * _big_endian(header, 20, 4)
    gif = _little_endian(header, 6, 2) * _little_endian(header, 8, 2)
    bmp_height = _little_endian(header, 22, 4)
    # A top-down BMP stores its height negative (two's complement).
    bmp_height = tf.where(bmp_height >= 2**31, 2**32 - bmp_height, bmp_height)
    bmp = _little_endian(header, 18, 4) * bmp_height
    is_jpeg = _starts_with(header_bytes, b"\xff\xd8\xff")

    def jpeg_pixels():
        shape = tf.cast(tf.image.extract_jpeg_shape(image_bytes), tf.int64)
        return shape[0] * shape[1]

    branches = [
        (_starts_with(header_bytes, b"\x89PNG\r\n\x1a\n"), png),
        (_starts_with(header_bytes, b"GIF8"), gif),
        (_starts_with(header_bytes, b"BM"), bmp),
        (
            tf.logical_and(
                _starts_with(header_bytes, b"RIFF"),
                _starts_with(header_bytes, b"WEBP", offset=8),
            ),
            _webp_pixels(header),
        ),
    ]
    pixels = tf.constant(0, tf.int64)
    for condition, value in reversed(branches):
        pixels = tf.where(condition, value, pixels)
    return tf.cond(is_jpeg, jpeg_pixels, lambda: pixels)
