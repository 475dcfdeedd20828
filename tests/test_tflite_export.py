import os

import numpy as np
import pytest
import tensorflow as tf

from keras_rra.export import export_saved_model
from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.tflite_export import check_builtin_only
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import tflite_operators
from keras_rra.models import BaselineClassifier


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
