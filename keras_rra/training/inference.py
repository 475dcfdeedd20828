"""Loading saved classifiers and predicting class names for image files."""

import os
import warnings
import zipfile

import keras
import numpy as np

from keras_rra.data.image_files import read_image


def load_classifier(path):
    """Loads a `.keras` classifier saved by this package (safe mode on).

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if `path` is not a readable `.keras` model file.
    """
    # Importing the package registers its layers for deserialisation.
    import keras_rra.models  # noqa: F401

    if not os.path.exists(path):
        raise FileNotFoundError(f"Model file {path!r} does not exist.")
    if os.path.isdir(path) or not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path!r} is not a .keras model file (a zip archive written by "
            "model.save)."
        )
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:
        raise ValueError(f"Cannot load model {path!r}: {error}") from None


def class_names_of(model, model_path=None):
    """The model's class names; else `class_names.txt` beside it; else
    the class indices as strings."""
    names = getattr(model, "class_names", None)
    if names:
        return list(names)
    if model_path:
        path = os.path.join(
            os.path.dirname(os.path.abspath(model_path)), "class_names.txt"
        )
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as file:
                names = [line.strip() for line in file if line.strip()]
            if len(names) == model.num_classes:
                return names
    return [str(index) for index in range(model.num_classes)]


def _model_inputs(model, images):
    if len(model.inputs) == 1:
        return images
    # A model that takes candidate boxes: look at the whole image.
    boxes = np.tile(
        np.array([[[0.0, 0.0, 1.0, 1.0]]], "float32"),
        (len(images), model.inputs[1].shape[1] or 1, 1),
    )
    return {"images": images, "boxes": boxes}


def prepare_image(image, size, image_converter=None):
    """A decoded uint8 image as the model's input: float32 pixels at
    `size`, through the model's own `image_converter` (its data's
    evaluation resize and crop); without one, an antialiased resize."""
    if image_converter is not None:
        return np.asarray(image_converter(image))
    import tensorflow as tf

    resized = tf.image.resize(image, size, antialias=True)
    return np.asarray(tf.clip_by_value(tf.round(resized), 0, 255))


def load_images(paths, size, image_converter=None):
    """Image files as one float32 batch for a model: decoded as training
    decodes them (`read_image`), then `prepare_image`."""
    return np.stack(
        [prepare_image(read_image(path), size, image_converter) for path in paths]
    ).astype("float32")


class KerasPredictor:
    """Class probabilities of a `.keras` classifier for float image batches.

    The interface every predictor of the package shares (see
    `keras_rra.export.load_predictor` for SavedModel, TFLite and ONNX):
    `image_size`, `class_names`, `probabilities(images)`.
    """

    format = "keras"

    def __init__(self, model, class_names=None, batch_size=32):
        self.model = model
        self.image_size = tuple(int(size) for size in model.inputs[0].shape[1:3])
        self.class_names = list(class_names or class_names_of(model))
        self.image_converter = getattr(model, "image_converter", None)
        self.batch_size = batch_size

    def probabilities(self, images):
        """`(B, classes)` probabilities of float pixels `(B, H, W, 3)`."""
        if len(self.model.inputs) > 1:
            warnings.warn(
                "This model takes candidate boxes; predicting with the whole "
                "image as the box.",
                stacklevel=2,
            )
        outputs = self.model.predict(
            _model_inputs(self.model, images), batch_size=self.batch_size, verbose=0
        )
        return keras.ops.convert_to_numpy(keras.ops.softmax(outputs["logits"], axis=-1))


def predict_files(predictor, paths, top_k=5):
    """Predicts the top-k classes of image files.

    Each file is decoded as training decodes images and brought to the
    model's size by the model's own image converter, read from inside the
    model file in every format: the same file gives the same answer from a
    `.keras`, a SavedModel, TFLite and ONNX.

    Files that cannot be read get an `"error"` entry; the others are still
    predicted.

    Args:
        predictor: a `KerasPredictor` or another object with `image_size`,
            `class_names` and `probabilities(images)` (a keras classifier is
            wrapped in a `KerasPredictor`).

    Returns:
        One dict per path, in order: `{"image", "predictions": [{"class",
        "index", "probability"}, ...]}` or `{"image", "error"}`.
    """
    if isinstance(predictor, keras.Model):
        predictor = KerasPredictor(predictor)
    results = [None] * len(paths)
    readable, images = [], []
    for index, path in enumerate(paths):
        try:
            images.append(
                prepare_image(
                    read_image(path),
                    predictor.image_size,
                    getattr(predictor, "image_converter", None),
                )
            )
            readable.append(index)
        except (FileNotFoundError, ValueError) as error:
            results[index] = {"image": path, "error": str(error)}
    if images:
        probabilities = np.asarray(
            predictor.probabilities(np.stack(images).astype("float32"))
        )
        k = min(top_k, probabilities.shape[-1])
        for row, index in enumerate(readable):
            order = np.argsort(-probabilities[row], kind="stable")[:k]
            results[index] = {
                "image": paths[index],
                "predictions": [
                    {
                        "class": predictor.class_names[c],
                        "index": int(c),
                        "probability": float(probabilities[row, c]),
                    }
                    for c in order
                ],
            }
    return results
