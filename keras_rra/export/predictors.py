"""One interface over every format a classifier is saved in: `.keras`, a
SavedModel folder, `.tflite` and `.onnx`.

A predictor has `format`, `image_size` `(height, width)`, `class_names`,
`image_converter` (the model's own evaluation resize and crop, read from
inside the file) and `probabilities(images)` for float pixels
`(B, H, W, 3)` in [0, 255]. The exported formats run their
`predict_images` signature.
"""

import os
import zipfile

import numpy as np

from keras_rra.export.labels_file import read_labels
from keras_rra.export.labels_file import read_names
from keras_rra.export.model_metadata import image_converter_of
from keras_rra.export.model_metadata import read_onnx_metadata
from keras_rra.export.model_metadata import read_saved_model_metadata
from keras_rra.export.model_metadata import read_tflite_metadata
from keras_rra.export.saved_model_export import CLASS_NAMES_FILE
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.export.saved_model_export import version_numbers
from keras_rra.training.inference import KerasPredictor
from keras_rra.training.inference import class_names_of
from keras_rra.training.inference import load_classifier


def _names(metadata, classes):
    names = (metadata or {}).get("class_names")
    return list(names) if names and len(names) == classes else None


class SavedModelPredictor:
    """A SavedModel written by `export_saved_model`."""

    format = "saved_model"

    def __init__(self, path):
        import tensorflow as tf

        self.path = path
        self.function = tf.saved_model.load(path).signatures[IMAGES_SIGNATURE]
        spec = self.function.structured_input_signature[1]["images"]
        self.image_size = tuple(int(size) for size in spec.shape[1:3])
        classes = int(self.function.structured_outputs["probabilities"].shape[-1])
        metadata = read_saved_model_metadata(path)
        self.class_names = _names(metadata, classes) or read_names(
            os.path.join(path, "assets.extra", CLASS_NAMES_FILE), classes
        )
        self.image_converter = image_converter_of(metadata)

    def probabilities(self, images):
        return self.function(images=np.asarray(images, "float32"))[
            "probabilities"
        ].numpy()


class TFLitePredictor:
    """A `.tflite` model written by `export_tflite`, run with LiteRT."""

    format = "tflite"

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        interpreter = Interpreter(model_path=path)
        self.runner = interpreter.get_signature_runner(IMAGES_SIGNATURE)
        details = self.runner.get_input_details()["images"]
        self.image_size = tuple(int(size) for size in details["shape"][1:3])
        classes = int(self.runner.get_output_details()["probabilities"]["shape"][-1])
        with open(path, "rb") as file:
            metadata = read_tflite_metadata(file.read())
        self.class_names = _names(metadata, classes) or read_labels(path, classes)
        self.image_converter = image_converter_of(metadata)

    def probabilities(self, images):
        return self.runner(images=np.asarray(images, "float32"))["probabilities"]


class ONNXPredictor:
    """A `.onnx` model written by `export_onnx`, run with onnxruntime."""

    format = "onnx"

    def __init__(self, path):
        import onnxruntime

        self.path = path
        self.session = onnxruntime.InferenceSession(path)
        (inputs,) = self.session.get_inputs()
        self.input_name = inputs.name
        self.image_size = tuple(int(size) for size in inputs.shape[1:3])
        outputs = {output.name: output for output in self.session.get_outputs()}
        classes = int(outputs["probabilities"].shape[-1])
        metadata = read_onnx_metadata(self.session)
        self.class_names = _names(metadata, classes) or read_labels(path, classes)
        self.image_converter = image_converter_of(metadata)

    def probabilities(self, images):
        (probabilities,) = self.session.run(
            ["probabilities"], {self.input_name: np.asarray(images, "float32")}
        )
        return probabilities


def load_predictor(path):
    """The predictor of a `.keras` file, a SavedModel folder (or a model
    folder of integer versions: the highest), a `.tflite` or an `.onnx` file.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `path` is none of these.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"Model {path!r} does not exist.")
    if os.path.isdir(path):
        versions = version_numbers(path)
        if not os.path.isfile(os.path.join(path, "saved_model.pb")) and versions:
            path = os.path.join(path, str(versions[-1]))
        if os.path.isfile(os.path.join(path, "saved_model.pb")):
            return SavedModelPredictor(path)
        raise ValueError(
            f"{path!r} is a folder without saved_model.pb or version folders; "
            "expected a SavedModel written by keras-rra export."
        )
    if path.endswith(".tflite"):
        return TFLitePredictor(path)
    if path.endswith(".onnx"):
        return ONNXPredictor(path)
    if zipfile.is_zipfile(path):
        model = load_classifier(path)
        return KerasPredictor(model, class_names_of(model, path))
    raise ValueError(
        f"{path!r} is not a model: expected a .keras file, a SavedModel folder, "
        "a .tflite or an .onnx file."
    )
