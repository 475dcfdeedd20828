"""`keras-rra export`: a saved classifier to SavedModel, TFLite and ONNX."""

import os
import re

import numpy as np

from keras_rra.export.atomic import remove_path
from keras_rra.export.converters import check_converters
from keras_rra.export.labels_file import labels_path
from keras_rra.export.model_metadata import model_metadata
from keras_rra.export.model_metadata import read_saved_model_metadata
from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.export.saved_model_export import export_saved_model
from keras_rra.export.saved_model_export import next_version
from keras_rra.export.saved_model_export import version_numbers
from keras_rra.export.tflite_export import QUANTIZATIONS
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import int8_float_layers
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS
from keras_rra.training.inference import class_names_of
from keras_rra.training.inference import load_classifier
from keras_rra.training.run import load_run_config
from keras_rra.training.run import load_split
from keras_rra.training.run import model_data_config
from keras_rra.utils.validation import check_choice

FORMATS = ("saved_model", "tflite", "onnx", "all")
# What `export` writes in an output folder.
EXPORT_NAME = re.compile(
    r"[0-9]+|[0-9]+(-float16|-int8)?\.(tflite|labels\.txt)|[0-9]+\.onnx"
)
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
    progress=None,
    max_image_pixels=MAX_IMAGE_PIXELS,
):
    """Exports a saved classifier; returns `{format: path}` of what it wrote.

    `output/VERSION/` is a SavedModel; the TFLite
    (`output/VERSION[-float16|-int8].tflite` with a labels file) and ONNX
    (`output/VERSION.onnx`) models are converted from its `predict_images`
    signature. Each carries the model's class names and image converter
    inside it (`keras_rra.export.model_metadata`). The run's `config.json`
    beside the model, if any, gives the int8 calibration data only.

    `format="all"` and `"saved_model"` write a new version (the next free
    one, or `version`). `"tflite"` and `"onnx"` add a file to an existing
    version (`version`, else the highest), converted from its SavedModel
    once it is shown to be this model's (same metadata, same answer to a
    probe image); without one they write a new version.

    Nothing is written when a converter is missing, `output` is a file or a
    folder holding anything else, or a target exists (without `overwrite`);
    and a request that fails part-way takes back what it wrote.
    `progress`, a function of one line of text, hears each stage.
    `max_image_pixels` is the SavedModel's limit on the pixels an encoded
    image may declare (see `export_saved_model`).
    """
    say = progress or (lambda text: None)
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
    formats = ["tflite", "onnx"] if export_format == "all" else [export_format]
    # Everything that can fail before a file is written is checked first.
    check_converters(formats)
    check_output_folder(output)
    say(f"loading {model_path}")
    model = load_classifier(model_path)
    config = load_run_config(model_path)
    names = class_names_of(model, model_path)
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
        say("reading calibration images")
        calibration = calibration_images(config, calibration_dataset)
    source = None
    if export_format in ("tflite", "onnx") and not overwrite:
        source = _existing_version(output, version)
        if source is not None:
            check_same_model(model, names, os.path.join(output, str(source)))
    version = source or (next_version(output) if version is None else version)
    stem = os.path.join(output, str(version))
    suffix = "" if quantize == "none" else f"-{quantize}"
    targets = {
        "saved_model": stem,
        "tflite": f"{stem}{suffix}.tflite",
        "onnx": f"{stem}.onnx",
    }
    planned = [targets[name] for name in formats if name != "saved_model"]
    if source is None:
        planned.insert(0, stem)
    taken = [path for path in planned if os.path.lexists(path)]
    if taken and not overwrite:
        verb = "exists" if len(taken) == 1 else "exist"
        raise ValueError(
            f"{', '.join(taken)} already {verb}; pass --overwrite to replace, or "
            "--version for a new version. Nothing was written."
        )
    written, created = {}, []
    try:
        if source is None:
            say(f"writing the SavedModel {stem}")
            written["saved_model"] = export_saved_model(
                model,
                output,
                version=version,
                top_k=top_k,
                class_names=names,
                overwrite=overwrite,
                max_image_pixels=max_image_pixels,
            )
            created.append(stem)
        else:
            written["saved_model"] = stem
        if "tflite" in formats:
            say(f"converting to TFLite ({quantize}): {targets['tflite']}")
            written["tflite"] = export_tflite(
                written["saved_model"],
                targets["tflite"],
                quantize,
                calibration,
                class_names=names,
                overwrite=overwrite,
                float_layers=int8_float_layers(model),
            )
            created += [targets["tflite"], labels_path(targets["tflite"])]
        if "onnx" in formats:
            say(f"converting to ONNX: {targets['onnx']}")
            written["onnx"] = export_onnx(
                written["saved_model"],
                targets["onnx"],
                class_names=names,
                overwrite=overwrite,
            )
            created += [targets["onnx"], labels_path(targets["onnx"])]
    except BaseException:
        # One request is all or nothing: a failed format takes back what
        # this request wrote before it.
        for path in created:
            remove_path(path)
        raise
    return written


def _existing_version(output, version):
    """The version whose SavedModel a TFLite or ONNX request converts from:
    `version` if it exists, else (without `version`) the highest one."""
    versions = version_numbers(output)
    if version is not None:
        return version if version in versions else None
    return versions[-1] if versions else None


def check_output_folder(output):
    """Refuses an `--output` that is a file, or a folder holding anything
    but the versions and files `export` writes."""
    if os.path.lexists(output) and not os.path.isdir(output):
        raise ValueError(
            f"--output {output!r} is a file; name a folder for the model's versions "
            "(e.g. savedmodels/NAME)."
        )
    if not os.path.isdir(output):
        return
    foreign = sorted(
        name
        for name in os.listdir(output)
        if not name.startswith(".") and not EXPORT_NAME.fullmatch(name)
    )
    if foreign:
        shown = ", ".join(foreign[:3]) + (" ..." if len(foreign) > 3 else "")
        raise ValueError(
            f"--output {output!r} holds other things than exported versions "
            f"({shown}); name an empty folder or one written by keras-rra export."
        )


def check_same_model(model, class_names, saved_model_dir):
    """Refuses to convert a SavedModel of another model than `model`: its
    metadata and its answer to a probe image must be `model`'s."""
    import tensorflow as tf

    if read_saved_model_metadata(saved_model_dir) != model_metadata(model, class_names):
        raise ValueError(
            f"{saved_model_dir} was exported from another model (other class names "
            "or image converter); pass --version for a new version."
        )
    height, width = (int(size) for size in model.inputs[0].shape[1:3])
    probe = np.random.default_rng(0).uniform(0, 255, (1, height, width, 3))
    probe = probe.astype("float32")
    served = tf.saved_model.load(saved_model_dir).signatures[IMAGES_SIGNATURE]
    got = served(images=tf.constant(probe))["probabilities"].numpy()
    logits = model.predict(probe, verbose=0)["logits"]
    expected = tf.nn.softmax(tf.cast(logits, tf.float32)).numpy()
    if np.abs(got - expected).max() > 1e-4:
        raise ValueError(
            f"{saved_model_dir} was exported from another model (its answers "
            "differ); pass --version for a new version."
        )
