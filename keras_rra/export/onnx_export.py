"""ONNX models through tf2onnx, from a SavedModel's float signature."""

import os
import subprocess
import sys

from keras_rra.export.atomic import atomic_output
from keras_rra.export.converters import check_converters
from keras_rra.export.labels_file import write_labels
from keras_rra.export.model_metadata import add_onnx_metadata
from keras_rra.export.model_metadata import read_saved_model_metadata
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE

DEFAULT_OPSET = 17


def export_onnx(
    saved_model_dir,
    path,
    opset=DEFAULT_OPSET,
    class_names=None,
    overwrite=False,
    timeout=600,
):
    """Converts the `predict_images` signature to ONNX, written atomically.

    tf2onnx runs in a child process: it keeps its own TensorFlow state out
    of the caller's, and a crash in it cannot take the caller down.

    With `class_names`, writes them beside it (`<path>.labels.txt`).

    Returns:
        `path`.

    Raises:
        RuntimeError: the conversion failed (with tf2onnx's last words).
    """
    check_converters(["onnx"])
    with atomic_output(path, overwrite=overwrite) as partial:
        command = [
            sys.executable,
            "-m",
            "tf2onnx.convert",
            "--saved-model",
            saved_model_dir,
            "--signature_def",
            IMAGES_SIGNATURE,
            "--opset",
            str(opset),
            "--output",
            partial,
        ]
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=environment
        )
        if result.returncode != 0 or not os.path.isfile(partial):
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            raise RuntimeError(
                f"tf2onnx could not convert {saved_model_dir}: "
                + " | ".join(lines[-3:])
            )
        metadata = read_saved_model_metadata(saved_model_dir)
        if metadata is not None:
            add_onnx_metadata(partial, metadata)
    if class_names is not None:
        write_labels(path, class_names)
    return path
