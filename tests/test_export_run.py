"""`export_model`: a request is checked before anything is written, and is
all or nothing."""

import importlib.util
import os

import pytest

from keras_rra.export import export_run
from keras_rra.export.converters import INSTALL_HINT
from keras_rra.export.export_run import export_model
from keras_rra.models import BaselineClassifier


def _saved(tmp_path, name="model.keras", classes=3):
    model = BaselineClassifier(num_classes=classes, backbone="tiny", image_size=32)
    path = str(tmp_path / name)
    model.save(path)
    return path


def test_a_missing_converter_is_named_before_anything_is_written(tmp_path, monkeypatch):
    path = _saved(tmp_path)
    real = importlib.util.find_spec

    def find_spec(name, *args):
        return None if name == "tf2onnx" else real(name, *args)

    monkeypatch.setattr("importlib.util.find_spec", find_spec)
    output = tmp_path / "exported"
    with pytest.raises(ValueError, match="needs tf2onnx.*Nothing was written") as error:
        export_model(path, str(output))
    assert "'.[export]'" in str(error.value) and INSTALL_HINT in str(error.value)
    assert not output.exists()


def test_a_failed_format_takes_back_the_whole_request(tmp_path, monkeypatch):
    path = _saved(tmp_path)

    def broken(*args, **kwargs):
        raise RuntimeError("tf2onnx could not convert")

    monkeypatch.setattr(export_run, "export_onnx", broken)
    output = tmp_path / "exported"
    with pytest.raises(RuntimeError, match="could not convert"):
        export_model(path, str(output))
    assert not [name for name in os.listdir(output) if not name.startswith(".")]
    # The rerun is version 1 again, complete.
    monkeypatch.undo()
    written = export_model(path, str(output), "tflite")
    assert written["saved_model"].endswith(os.path.join("exported", "1"))


def test_a_tflite_variant_joins_an_existing_version(tmp_path):
    path = _saved(tmp_path)
    output = str(tmp_path / "exported")
    export_model(path, output, "saved_model")
    written = export_model(path, output, "tflite", quantize="float16")
    assert written["tflite"] == os.path.join(output, "1-float16.tflite")
    assert sorted(os.listdir(output)) == [
        "1",
        "1-float16.labels.txt",
        "1-float16.tflite",
    ]
    with pytest.raises(ValueError, match="1-float16.tflite already exists"):
        export_model(path, output, "tflite", quantize="float16")
    other = _saved(tmp_path, "other.keras", classes=4)
    with pytest.raises(ValueError, match="exported from another model"):
        export_model(other, output, "tflite")


def test_outputs_that_are_not_export_folders_are_refused(tmp_path):
    path = _saved(tmp_path)
    images = tmp_path / "images"
    images.mkdir()
    (images / "cat.jpg").write_bytes(b"")
    with pytest.raises(ValueError, match="holds other things.*cat.jpg"):
        export_model(path, str(images), "saved_model")
    with pytest.raises(ValueError, match="is a file; name a folder"):
        export_model(path, str(images / "cat.jpg"), "saved_model")
    assert os.listdir(images) == ["cat.jpg"]
