import os
import warnings

import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from keras_rra.export import export_saved_model
from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.tflite_export import check_builtin_only
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import int8_float_layers
from keras_rra.export.tflite_export import tflite_operators
from keras_rra.models import BaselineClassifier
from keras_rra.models import Coarse2FineClassifier
from tests.helpers import tiny_rra
from tests.helpers import tiny_synthetic


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = BaselineClassifier(num_classes=3, backbone="tiny", image_size=32)
    return export_saved_model(model, str(tmp_path_factory.mktemp("sm") / "m"))


def _flex_flatbuffer():
    # crop_and_resize has no TFLite builtin: allowed through Flex here.
    @tf.function(input_signature=[tf.TensorSpec((1, 8, 8, 1), tf.float32)])
    def crop(images):
        return tf.image.crop_and_resize(images, [[0.0, 0.0, 0.5, 0.5]], [0], (4, 4))

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [crop.get_concrete_function()]
    )
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS,
        tf.lite.OpsSet.SELECT_TF_OPS,
    ]
    return converter.convert()


def test_a_flex_operator_is_detected_and_refused():
    flatbuffer = _flex_flatbuffer()
    assert "custom:FlexCropAndResize" in tflite_operators(flatbuffer)
    with pytest.raises(
        ValueError, match="not TFLite builtins: custom:FlexCropAndResize"
    ):
        check_builtin_only(flatbuffer, "crop.tflite")


def test_exported_models_use_builtin_operators_only(saved_model, tmp_path):
    path = export_tflite(saved_model, str(tmp_path / "m.tflite"))
    with open(path, "rb") as file:
        operators = tflite_operators(file.read())
    assert "CONV_2D" in operators and "TOPK_V2" in operators
    assert not [op for op in operators if op.startswith("custom:")]


def test_int8_needs_calibration_images(saved_model, tmp_path):
    with pytest.raises(ValueError, match="calibration"):
        export_tflite(saved_model, str(tmp_path / "m.tflite"), quantize="int8")
    assert os.listdir(tmp_path) == []


def test_unknown_quantization_and_existing_file(saved_model, tmp_path):
    with pytest.raises(ValueError, match="quantize"):
        export_tflite(saved_model, str(tmp_path / "m.tflite"), quantize="int4")
    path = export_tflite(saved_model, str(tmp_path / "m.tflite"))
    with pytest.raises(FileExistsError, match="overwrite"):
        export_tflite(saved_model, path)
    export_tflite(saved_model, path, overwrite=True)


def test_calibration_accepts_batches_and_single_images(saved_model, tmp_path):
    images = np.random.uniform(0, 255, (6, 32, 32, 3)).astype("float32")
    for calibration in ([images], list(images)):
        path = str(tmp_path / f"m{len(calibration)}.tflite")
        export_tflite(
            saved_model, path, quantize="int8", calibration_images=calibration
        )
        assert os.path.getsize(path) > 0


def test_a_failed_onnx_conversion_leaves_no_file(tmp_path):
    folder = tmp_path / "not_a_saved_model"
    folder.mkdir()
    with pytest.raises(RuntimeError, match="tf2onnx could not convert"):
        export_onnx(str(folder), str(tmp_path / "m.onnx"))
    assert sorted(os.listdir(tmp_path)) == ["not_a_saved_model"]


def test_int8_float_layers_are_the_geometry_and_the_logits():
    rra = tiny_rra()
    assert int8_float_layers(rra) == [
        f"{rra.name}/logits",
        f"{rra.name}/navigator",
        f"{rra.name}/patch_sampler",
    ]
    centre = tiny_rra(patch="center")
    assert int8_float_layers(centre) == [
        f"{centre.name}/logits",
        f"{centre.name}/patch_boxes",
        f"{centre.name}/patch_sampler",
    ]
    coarse2fine = Coarse2FineClassifier(
        num_classes=4, backbone="tiny", image_size=32, num_attention_maps=2
    )
    assert int8_float_layers(coarse2fine) == [
        f"{coarse2fine.name}/logits",
        f"{coarse2fine.name}/navigator",
        f"{coarse2fine.name}/patch_sampler",
    ]
    zoom = Coarse2FineClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=32,
        num_attention_maps=2,
        fine_input="zoom",
    )
    assert int8_float_layers(zoom) == [f"{zoom.name}/logits", f"{zoom.name}/zoom"]
    baseline = BaselineClassifier(num_classes=4, backbone="tiny", image_size=32)
    assert int8_float_layers(baseline) == [f"{baseline.name}/classifier"]


def _tensor_types(path):
    """The type of every tensor an operator computes, except the QUANTIZE
    operators that hand a float tensor to an integer consumer."""
    interpreter = Interpreter(model_path=path)
    details = interpreter.get_tensor_details()
    types = {detail["index"]: np.dtype(detail["dtype"]).name for detail in details}
    names = {detail["index"]: detail["name"] for detail in details}
    return {
        names[output]: types[output]
        for operator in interpreter._get_ops_details()
        if operator["op_name"] != "QUANTIZE"
        for output in operator["outputs"]
    }


def _scope_types(types, model, layer):
    prefix = f"{model.name}_1/{layer}_1/"
    return {
        kind
        for name, kind in types.items()
        if any(part.startswith(prefix) for part in name.split(";"))
    }


def test_int8_keeps_the_float_layers_in_float32(tmp_path):
    model = tiny_rra()
    saved_model = export_saved_model(model, str(tmp_path / "rra"))
    calibration = [images.numpy() for images, _ in tiny_synthetic().take(2)]
    kept = export_tflite(
        saved_model,
        str(tmp_path / "kept.tflite"),
        quantize="int8",
        calibration_images=calibration,
        float_layers=int8_float_layers(model),
    )
    plain = export_tflite(
        saved_model,
        str(tmp_path / "plain.tflite"),
        quantize="int8",
        calibration_images=calibration,
    )
    kept_types, plain_types = _tensor_types(kept), _tensor_types(plain)
    # Quantized all through, the sampler's coordinates are int8.
    assert "int8" in _scope_types(plain_types, model, "patch_sampler")
    for layer in ("patch_sampler", "navigator", "logits"):
        types = _scope_types(kept_types, model, layer)
        assert types and "int8" not in types, (layer, types)
    # The backbones and the LSTM stay integer.
    for layer in ("global_backbone", "local_backbone", "recursive_refinement"):
        assert "int8" in _scope_types(kept_types, model, layer), layer


def test_a_float_layer_that_matches_nothing_warns(saved_model, tmp_path):
    images = np.random.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    with pytest.warns(UserWarning, match="comes from baseline/no_such_layer"):
        export_tflite(
            saved_model,
            str(tmp_path / "m.tflite"),
            quantize="int8",
            calibration_images=[images],
            float_layers=["baseline/no_such_layer"],
        )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        export_tflite(
            saved_model,
            str(tmp_path / "n.tflite"),
            quantize="int8",
            calibration_images=[images],
        )
