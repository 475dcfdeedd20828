"""Versioned SavedModels for TF Serving, with image-bytes and float-image
signatures whose outputs name the classes."""

import os
import re

import keras
import numpy as np
import tensorflow as tf

from keras_rra.export.atomic import atomic_output
from keras_rra.export.image_header import declared_pixels
from keras_rra.export.model_metadata import model_metadata
from keras_rra.export.model_metadata import write_saved_model_metadata
from keras_rra.export.serving_warmup import predict_log
from keras_rra.export.serving_warmup import write_warmup
from keras_rra.settings.data_settings import COMMON_DATA_SETTINGS
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS
from keras_rra.training.inference import class_names_of

SERVING_SIGNATURE = "serving_default"
IMAGES_SIGNATURE = "predict_images"
CLASS_NAMES_FILE = "class_names.txt"
OUTPUT_NAMES = ("probabilities", "top_k_indices", "top_k_scores", "top_k_class_names")


def version_numbers(output):
    """The integer version folders under `output`, sorted."""
    if not os.path.isdir(output):
        return []
    return sorted(
        int(name)
        for name in os.listdir(output)
        if re.fullmatch(r"[0-9]+", name) and os.path.isdir(os.path.join(output, name))
    )


def next_version(output):
    """The version after the highest one under `output` (1 for none)."""
    versions = version_numbers(output)
    return versions[-1] + 1 if versions else 1


def check_exportable(model):
    """Raises ValueError unless `model` is a classifier of one image input."""
    if not isinstance(model, keras.Model) or not hasattr(model, "num_classes"):
        raise ValueError(
            f"Expected a keras-rra classifier; received {type(model).__name__}."
        )
    if len(model.inputs) != 1:
        raise ValueError(
            f"{model.name} takes {len(model.inputs)} inputs (images and candidate "
            "boxes); an exported model is served from images alone. Export a "
            "model trained with patch='center', 'saliency' or 'activation', or "
            "a Coarse2Fine or baseline model."
        )


def _image_size(model):
    return tuple(int(size) for size in model.inputs[0].shape[1:3])


def serving_functions(
    model, class_names=None, top_k=5, max_image_pixels=MAX_IMAGE_PIXELS
):
    """The two serving functions of `model`, as `tf.function`s.

    Returns:
        `{SERVING_SIGNATURE: f(image_bytes), IMAGES_SIGNATURE: f(images)}`.
        Both return `OUTPUT_NAMES`. `image_bytes` is a batch of encoded
        JPEG, PNG, GIF, BMP or WebP strings, decoded to RGB (alpha and
        animation frames after the first are dropped) and brought to the
        model's size by the model's own `image_converter` (the evaluation
        resize and crop of its data); `images` are float RGB pixels in
        [0, 255] at the model's size. An encoded image whose header declares
        more than `max_image_pixels` pixels is refused before it is decoded:
        the request fails with an `InvalidArgument` error that names the
        limit, and the next request is served as usual.
    """
    check_exportable(model)
    max_image_pixels = COMMON_DATA_SETTINGS.check_value(
        "max_image_pixels", max_image_pixels
    )
    height, width = _image_size(model)
    converter = model.image_converter
    if converter is None:
        raise ValueError(
            f"{model.name} has no image_converter (its input is not square), "
            "so encoded images cannot be brought to its size."
        )
    names = list(class_names or class_names_of(model))
    if len(names) != model.num_classes:
        raise ValueError(
            f"{len(names)} class names for a model of {model.num_classes} classes."
        )
    k = min(int(top_k), model.num_classes)
    names = tf.constant(names)

    def outputs(images):
        logits = model(images, training=False)["logits"]
        probabilities = tf.nn.softmax(tf.cast(logits, tf.float32), axis=-1)
        scores, indices = tf.math.top_k(probabilities, k=k)
        return {
            "probabilities": probabilities,
            "top_k_indices": indices,
            "top_k_scores": scores,
            "top_k_class_names": tf.gather(names, indices),
        }

    def decode(image_bytes):
        not_empty = tf.debugging.assert_greater(
            tf.strings.length(image_bytes),
            0,
            message="image_bytes holds an empty string, not an encoded image",
        )
        # Explicitly first: otherwise the decoder may fail before the check
        # runs, with a less helpful message.
        with tf.control_dependencies([not_empty]):
            # The header only: a small file may declare a huge image.
            small_enough = tf.debugging.assert_less_equal(
                declared_pixels(image_bytes),
                tf.constant(max_image_pixels, tf.int64),
                message=(
                    "the image's header declares more than "
                    f"{max_image_pixels} pixels (width x height), the limit "
                    "set at export (max_image_pixels); it was not decoded"
                ),
            )
        with tf.control_dependencies([small_enough]):
            image = tf.io.decode_image(image_bytes, channels=3, expand_animations=False)
        return tf.ensure_shape(converter(image), (height, width, 3))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")])
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            decode,
            image_bytes,
            fn_output_signature=tf.TensorSpec((height, width, 3), tf.float32),
        )
        return outputs(images)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, height, width, 3], tf.float32, name="images")
        ]
    )
    def serve_images(images):
        return outputs(images)

    return {SERVING_SIGNATURE: serve_bytes, IMAGES_SIGNATURE: serve_images}


def _warmup_image(height, width):
    # A mid-grey PNG: enough for TF Serving to trace and allocate.
    image = tf.fill((height, width, 3), tf.constant(128, tf.uint8))
    return tf.io.encode_png(image).numpy()


def export_saved_model(
    model,
    output,
    version=None,
    top_k=5,
    class_names=None,
    overwrite=False,
    max_image_pixels=MAX_IMAGE_PIXELS,
):
    """Exports `model` as `output/VERSION/`, a SavedModel for TF Serving.

    Args:
        model: a keras-rra classifier with one image input.
        output: the model's folder (`savedmodels/NAME`); TF Serving serves
            the highest version under it.
        version: an integer >= 1, or None for the next free one.
        top_k: how many classes the `top_k_*` outputs list.
        class_names: default: the model's own, else its indices.
        overwrite: replace an existing version.
        max_image_pixels: `serving_default` refuses an encoded image whose
            header declares more pixels, before decoding it.

    Returns:
        The version folder written.

    Raises:
        FileExistsError: the version exists and `overwrite` is False.
        ValueError: a bad version, or a model that is not exportable.
    """
    if version is None:
        version = next_version(output)
    if isinstance(version, bool) or not isinstance(version, (int, np.integer)):
        raise ValueError(f"`version` must be an integer >= 1; received {version!r}.")
    if version < 1:
        raise ValueError(f"`version` must be >= 1; received {version}.")
    names_list = list(class_names or class_names_of(model))
    functions = serving_functions(model, names_list, top_k, max_image_pixels)
    path = os.path.join(output, str(int(version)))
    height, width = _image_size(model)
    with atomic_output(path, overwrite=overwrite) as partial:
        archive = keras.export.ExportArchive()
        archive.track(model)
        for name, function in functions.items():
            archive.add_endpoint(name, function)
        archive.write_out(partial, verbose=False)
        write_warmup(
            partial,
            [
                predict_log(
                    os.path.basename(os.path.normpath(output)),
                    SERVING_SIGNATURE,
                    {"image_bytes": [_warmup_image(height, width)]},
                )
            ],
        )
        # The class names and image converter, for every format converted
        # from this folder and for predictors (TF Serving ignores it).
        write_saved_model_metadata(partial, model_metadata(model, names_list))
        # For clients that read the files (TF Serving ignores assets.extra).
        names_path = os.path.join(partial, "assets.extra", CLASS_NAMES_FILE)
        with open(names_path, "w", encoding="utf-8") as file:
            file.write("\n".join(names_list) + "\n")
    return path
