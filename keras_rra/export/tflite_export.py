"""TFLite models with builtin ops only, converted from a SavedModel's float
signature: float32, float16 weights, or int8 with a calibration set."""

import re
import warnings

import numpy as np
import tensorflow as tf

from keras_rra.export.atomic import atomic_output
from keras_rra.export.labels_file import write_labels
from keras_rra.export.model_metadata import add_tflite_metadata
from keras_rra.export.model_metadata import read_saved_model_metadata
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.layers.activation_peak_boxes import ActivationPeakBoxes
from keras_rra.layers.center_boxes import CenterBoxes
from keras_rra.layers.differentiable_zoom import DifferentiableZoom
from keras_rra.layers.part_navigator import PartNavigator
from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.layers.probability_average import ProbabilityAverage
from keras_rra.utils.validation import check_choice

QUANTIZATIONS = ("none", "float16", "int8")
# Operator code of custom operators (Flex ops are custom ops too).
_CUSTOM = 32
# Layers whose outputs are pixel coordinates or probabilities. In int8 a
# sampling coordinate moves by a fifth of a pixel, enough for its floor to
# pick the neighbouring row, and a centred box's interpolation weights,
# exactly 0 in calibration, get a range of zero. Measured on the default
# synthetic runs: int8 top-1 agreed with Keras on 92.8% (RRA) and 86.1%
# (Coarse2Fine) of the test images, and on 99.3% and 98.3% with these layers
# and the logits in float.
INT8_FLOAT_LAYER_TYPES = (
    ActivationPeakBoxes,
    CenterBoxes,
    DifferentiableZoom,
    PartNavigator,
    PatchSampler,
    ProbabilityAverage,
)


def _schema():
    # LiteRT's published flatbuffer schema; imported on use, so that a
    # SavedModel export works without the export extra.
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _tflite_model(flatbuffer):
    return _schema().Model.GetRootAsModel(flatbuffer, 0)


def tflite_operators(flatbuffer):
    """The operators a TFLite model uses: builtin names, and for custom
    operators (Flex included) `"custom:<code>"`."""
    names = {
        value: name
        for name, value in vars(_schema().BuiltinOperator).items()
        if not name.startswith("_")
    }
    model = _tflite_model(flatbuffer)
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


def int8_float_layers(model):
    """The layers of `model` that an int8 TFLite model keeps in float32.

    They are the layers of `INT8_FLOAT_LAYER_TYPES` and the layer giving the
    `logits` output: int8 logits come in steps of about a third, which ties
    close classes. Each is named by its path, `"model_name/layer_name"`.
    """
    layers = [
        layer for layer in model.layers if isinstance(layer, INT8_FLOAT_LAYER_TYPES)
    ]
    logits = model.output["logits"]
    layers += [
        layer
        for layer in model.layers
        if not isinstance(layer.output, (list, tuple, dict)) and layer.output is logits
    ]
    return sorted({f"{model.name}/{layer.name}" for layer in layers})


def _float_tensor_names(flatbuffer, float_layers):
    """The tensors of a calibrated model that stay float32: those computed in
    `float_layers` and the signature outputs (float32 at the interface in any
    case, so an int8 softmax would only add rounding)."""
    # Traced names carry a call suffix (`patch_sampler_1`), and fused
    # operators join their names with ";".
    scopes = {
        path: re.compile(
            "".join(rf"{re.escape(part)}(_\d+)?/" for part in path.split("/"))
        )
        for path in float_layers
    }
    model = _tflite_model(flatbuffer)
    kept, matched = set(), set()
    for index in range(model.SignatureDefsLength()):
        signature = model.SignatureDefs(index)
        graph = model.Subgraphs(signature.SubgraphIndex())
        for output in range(signature.OutputsLength()):
            tensor = graph.Tensors(signature.Outputs(output).TensorIndex())
            kept.add(tensor.Name().decode())
    for index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(index)
        for tensor_index in range(graph.TensorsLength()):
            name = graph.Tensors(tensor_index).Name().decode()
            for path, scope in scopes.items():
                if any(scope.match(part) for part in name.split(";")):
                    kept.add(name)
                    matched.add(path)
    unmatched = [path for path in scopes if path not in matched]
    if unmatched:
        warnings.warn(
            f"No operation of the TFLite model comes from {', '.join(unmatched)}, "
            "so none is kept in float32. Name layers as `int8_float_layers` "
            "does: 'model_name/layer_name'.",
            stacklevel=4,
        )
    return sorted(kept)


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


def _quantize_int8(converter, float_layers):
    """Calibrates, then quantizes all but the float layers' tensors.

    `QuantizationDebugger` is TensorFlow's public route to selective
    quantization: it calibrates once and quantizes with a deny-list.
    """
    debugger = tf.lite.experimental.QuantizationDebugger(converter=converter)
    kept = _float_tensor_names(debugger.calibrated_model, float_layers)
    debugger.options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=kept
    )
    return debugger.get_nondebug_quantized_model()


def convert_tflite(
    saved_model_dir, quantize="none", calibration_images=None, float_layers=()
):
    """The TFLite flatbuffer of the SavedModel's `predict_images` signature.

    Args:
        saved_model_dir: a version folder written by `export_saved_model`.
        quantize: `"none"` (float32), `"float16"` (float16 weights) or
            `"int8"` (integer weights and activations, calibrated on
            `calibration_images`; the class-name outputs stay strings and the
            input and probabilities stay float32).
        calibration_images: for int8, an iterable of float images or batches
            in [0, 255] drawn from the training data (up to 200 are used).
        float_layers: for int8, the layer paths whose operations stay
            float32: `int8_float_layers(model)` of the exported model.
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
        if quantize == "int8":
            flatbuffer = _quantize_int8(converter, float_layers)
        else:
            flatbuffer = converter.convert()
    check_builtin_only(flatbuffer, f"The {quantize} TFLite model of {saved_model_dir}")
    metadata = read_saved_model_metadata(saved_model_dir)
    if metadata is not None:
        flatbuffer = add_tflite_metadata(flatbuffer, metadata)
    return flatbuffer


def export_tflite(
    saved_model_dir,
    path,
    quantize="none",
    calibration_images=None,
    class_names=None,
    overwrite=False,
    float_layers=(),
):
    """Writes the TFLite model (and `<path>.labels.txt`) atomically.

    The arguments are `convert_tflite`'s; for int8 give `float_layers`
    (`int8_float_layers(model)`, as `export_model` does), or the sampling
    geometry is quantized too. The model outputs the class names itself
    (`top_k_class_names`) and carries them with its image converter in its
    metadata; the labels file is for runtimes that read only files.

    Returns:
        `path`.
    """
    flatbuffer = convert_tflite(
        saved_model_dir, quantize, calibration_images, float_layers
    )
    with atomic_output(path, overwrite=overwrite) as partial:
        with open(partial, "wb") as file:
            file.write(flatbuffer)
    if class_names is not None:
        write_labels(path, class_names)
    return path
