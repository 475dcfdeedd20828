"""`keras-rra export`: a saved classifier to SavedModel, TFLite and ONNX."""

import os

import numpy as np

from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.saved_model_export import export_saved_model
from keras_rra.export.saved_model_export import next_version
from keras_rra.export.tflite_export import QUANTIZATIONS
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import int8_float_layers
from keras_rra.training.inference import class_names_of
from keras_rra.training.inference import load_classifier
from keras_rra.training.run import load_run_config
from keras_rra.training.run import load_split
from keras_rra.training.run import model_data_config
from keras_rra.utils.validation import check_choice

FORMATS = ("saved_model", "tflite", "onnx", "all")
CALIBRATION_IMAGES = 200


def split_arrays(config, split, limit=None):
    """Up to `limit` `(images, labels)` of a split of the run's dataset, as
    its pipeline gives them, as numpy arrays."""
    data, _ = load_split(config, split, shuffle=False)
    images, labels, count = [], [], 0
    for batch_images, batch_labels in data:
        if isinstance(batch_images, dict):
            batch_images = batch_images["images"]
        images.append(batch_images.numpy())
        labels.append(batch_labels.numpy())
        count += len(images[-1])
        if limit is not None and count >= limit:
            break
    return np.concatenate(images)[:limit], np.concatenate(labels)[:limit]


def calibration_images(config, dataset=None, limit=CALIBRATION_IMAGES):
    """Up to `limit` images of the training split of the run's dataset (or
    `dataset`), as its pipeline gives them, for int8 calibration."""
    if dataset is not None:
        config = config.replace(dataset=dataset)
    return split_arrays(config, "train", limit)[0]


def export_model(
    model_path,
    output,
    export_format="all",
    version=None,
    quantize="none",
    overwrite=False,
    calibration_dataset=None,
    top_k=5,
):
    """Exports a saved classifier; returns `{format: path}` of what it wrote.

    The SavedModel `output/VERSION/` is always written: the TFLite
    (`output/VERSION[-float16|-int8].tflite` with a labels file) and ONNX
    (`output/VERSION.onnx`) models are converted from its `predict_images`
    signature. Each carries the model's class names and image converter
    inside it (`keras_rra.export.model_metadata`). The run's `config.json`
    beside the model, if any, gives the int8 calibration data only.
    """
    check_choice("format", export_format, FORMATS)
    check_choice("quantize", quantize, QUANTIZATIONS)
    if quantize != "none" and export_format not in ("tflite", "all"):
        raise ValueError(
            f"quantize={quantize!r} applies to TFLite models; format "
            f"{export_format!r} writes none."
        )
    if calibration_dataset is not None and quantize != "int8":
        raise ValueError(
            f"A calibration dataset calibrates int8 models only; quantize={quantize!r}."
        )
    model = load_classifier(model_path)
    config = load_run_config(model_path)
    names = class_names_of(model, model_path)
    formats = ["tflite", "onnx"] if export_format == "all" else [export_format]
    calibration = None
    if "tflite" in formats and quantize == "int8":
        if config is None and calibration_dataset is None:
            raise ValueError(
                f"int8 needs calibration images: {model_path!r} has no run "
                "config.json beside it, so name a dataset with "
                "--calibration-dataset."
            )
        if config is None:
            config = model_data_config(model, calibration_dataset)
        calibration = calibration_images(config, calibration_dataset)
    version = next_version(output) if version is None else version
    written = {
        "saved_model": export_saved_model(
            model,
            output,
            version=version,
            top_k=top_k,
            class_names=names,
            overwrite=overwrite,
        )
    }
    stem = os.path.join(output, str(version))
    if "tflite" in formats:
        suffix = "" if quantize == "none" else f"-{quantize}"
        written["tflite"] = export_tflite(
            written["saved_model"],
            f"{stem}{suffix}.tflite",
            quantize,
            calibration,
            class_names=names,
            overwrite=overwrite,
            float_layers=int8_float_layers(model),
        )
    if "onnx" in formats:
        written["onnx"] = export_onnx(
            written["saved_model"],
            f"{stem}.onnx",
            class_names=names,
            overwrite=overwrite,
        )
    return written
