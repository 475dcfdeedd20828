"""TFLite models with builtin ops only, converted from a SavedModel's float
signature: float32, float16 weights, or int8 with a calibration set."""

import warnings

import numpy as np
import tensorflow as tf

from keras_rra.export.atomic import atomic_output
from keras_rra.export.labels_file import write_labels
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.utils.validation import check_choice

QUANTIZATIONS = ("none", "float16", "int8")
# Operator code of custom operators (Flex ops are custom ops too).
_CUSTOM = 32


def tflite_operators(flatbuffer):
    """The operators a TFLite model uses: builtin names, and for custom
    operators (Flex included) `"custom:<code>"`."""
    from tensorflow.lite.python import schema_py_generated as schema

    names = {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }
    model = schema.Model.GetRootAsModel(flatbuffer, 0)
    operators = set()
    for index in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(index)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == _CUSTOM:
            operators.add(f"custom:{(code.CustomCode() or b'').decode()}")
        else:
            operators.add(names.get(builtin, str(builtin)))
    return sorted(operators)


def check_builtin_only(flatbuffer, source="the TFLite model"):
    """Raises ValueError naming any Flex or custom operator."""
    custom = [
        name for name in tflite_operators(flatbuffer) if name.startswith("custom:")
    ]
    if custom:
        raise ValueError(
            f"{source} needs operators that are not TFLite builtins: "
            f"{', '.join(custom)}."
        )


def _calibration(images, limit=200):
    """A representative dataset: single float32 images of the signature."""
    count = 0
    for batch in images:
        batch = np.asarray(batch, dtype="float32")
        if batch.ndim == 3:
            batch = batch[None]
        for image in batch:
            yield {"images": image[None]}
            count += 1
            if count >= limit:
                return


def convert_tflite(saved_model_dir, quantize="none", calibration_images=None):
    """The TFLite flatbuffer of the SavedModel's `predict_images` signature.

    Args:
        saved_model_dir: a version folder written by `export_saved_model`.
        quantize: `"none"` (float32), `"float16"` (float16 weights) or
            `"int8"` (integer weights and activations, calibrated on
            `calibration_images`; the class-name outputs stay strings and the
            input and probabilities stay float32).
        calibration_images: for int8, an iterable of float images or batches
            in [0, 255] drawn from the training data (up to 200 are used).
    """
    check_choice("quantize", quantize, QUANTIZATIONS)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[IMAGES_SIGNATURE]
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if calibration_images is None:
            raise ValueError(
                "int8 quantization needs calibration images from the training "
                "data (--calibration-dataset)."
            )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: _calibration(calibration_images)
        # Integer kernels wherever they exist; the top-k and the class-name
        # gather keep their float/string builtins.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
    with warnings.catch_warnings():
        # The converter calibrates int8 with the deprecated tf.lite
        # interpreter itself; ours run on LiteRT.
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        flatbuffer = converter.convert()
    check_builtin_only(flatbuffer, f"The {quantize} TFLite model of {saved_model_dir}")
    return flatbuffer


def export_tflite(
    saved_model_dir,
    path,
    quantize="none",
    calibration_images=None,
    class_names=None,
    overwrite=False,
):
    """Writes the TFLite model (and `<path>.labels.txt`) atomically.

    The model outputs the class names itself (`top_k_class_names`); the
    labels file is for runtimes that read only numbers.

    Returns:
        `path`.
    """
    flatbuffer = convert_tflite(saved_model_dir, quantize, calibration_images)
    with atomic_output(path, overwrite=overwrite) as partial:
        with open(partial, "wb") as file:
            file.write(flatbuffer)
    if class_names is not None:
        write_labels(path, class_names)
    return path
