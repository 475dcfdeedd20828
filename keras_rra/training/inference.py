"""Loading saved classifiers and predicting class names for image files."""

import os
import warnings
import zipfile

import keras
import numpy as np

from keras_rra.data.image_files import expand_image_paths
from keras_rra.data.image_files import read_image
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS


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


def predict_files(
    predictor, paths, top_k=5, batch_size=64, max_image_pixels=MAX_IMAGE_PIXELS
):
    """Predicts the top-k classes of image files.

    Each file is decoded as training decodes images and brought to the
    model's size by the model's own image converter, read from inside the
    model file in every format: the same file gives the same answer from a
    `.keras`, a SavedModel, TFLite and ONNX. Images are read and predicted
    `batch_size` at a time, so a large folder needs little memory.

    Files that cannot be read get an `"error"` entry; the others are still
    predicted.

    Args:
        predictor: a keras-rra classifier, a `KerasPredictor`, or the
            predictor of an export (`keras_rra.export.load_predictor`).
        paths: image files, folders (every image under them) and glob
            patterns (see `keras_rra.data.image_files.expand_image_paths`).
        top_k: how many classes each result lists.
        batch_size: images read and predicted at a time.
        max_image_pixels: a file whose header declares more pixels gets an
            `"error"` without being decoded.

    Returns:
        One dict per image, in order: `{"image", "predictions": [{"class",
        "index", "probability"}, ...]}` or `{"image", "error"}`.

    Example:

    >>> predictor = keras_rra.export.load_predictor("runs/a/model.keras")
    >>> predict_files(predictor, ["photos/"], top_k=3)
    """
    if isinstance(predictor, keras.Model):
        predictor = KerasPredictor(predictor)
    paths = expand_image_paths(paths)
    results = []
    for start in range(0, len(paths), batch_size):
        results.extend(
            _predict_chunk(
                predictor, paths[start : start + batch_size], top_k, max_image_pixels
            )
        )
    return results


def _predict_chunk(predictor, paths, top_k, max_image_pixels):
    results = [None] * len(paths)
    readable, images = [], []
    converter = getattr(predictor, "image_converter", None)
    for index, path in enumerate(paths):
        try:
            images.append(
                prepare_image(
                    read_image(path, max_image_pixels), predictor.image_size, converter
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


def write_predictions_csv(path, results, top_k):
    """Writes `predict_files` results as CSV, atomically: `image`, then
    `class_1, probability_1, ... class_k, probability_k`, then `error`."""
    import csv

    if os.path.isdir(path):
        raise ValueError(f"--output {path!r} is a folder; name a .csv file.")
    header = ["image"]
    for rank in range(1, top_k + 1):
        header += [f"class_{rank}", f"probability_{rank}"]
    header.append("error")
    partial = f"{path}.partial"
    with open(partial, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        for result in results:
            row = [result["image"]]
            predictions = result.get("predictions", [])
            for rank in range(top_k):
                if rank < len(predictions):
                    item = predictions[rank]
                    row += [item["class"], f"{item['probability']:.6f}"]
                else:
                    row += ["", ""]
            row.append(result.get("error", ""))
            writer.writerow(row)
    os.replace(partial, path)
    return path
