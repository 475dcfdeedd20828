"""ONNX models through tf2onnx, from a SavedModel's float signature."""

import contextlib
import logging

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
):
    """Converts the `predict_images` signature to ONNX, written atomically.

    With `class_names`, writes them beside it (`<path>.labels.txt`).

    Returns:
        `path`.

    Raises:
        RuntimeError: the conversion failed (with tf2onnx's last words).
    """
    check_converters(["onnx"])
    with atomic_output(path, overwrite=overwrite) as partial:
        try:
            _convert(saved_model_dir, opset, partial)
        except Exception as error:  # tf2onnx raises whatever its steps raise.
            raise RuntimeError(
                f"tf2onnx could not convert {saved_model_dir}: "
                f"{type(error).__name__}: {error}"
            ) from error
        metadata = read_saved_model_metadata(saved_model_dir)
        if metadata is not None:
            add_onnx_metadata(partial, metadata)
    if class_names is not None:
        write_labels(path, class_names)
    return path


def _convert(saved_model_dir, opset, output):
    """What `python -m tf2onnx.convert --saved-model DIR --signature_def
    predict_images` does, in this process: a child process started
    TensorFlow again, 9.1 s of CPU per conversion against 3.4 s here."""
    import tensorflow as tf
    from tf2onnx import tf_loader

    # tf2onnx's own conversion step behind its command line: no public
    # function takes a SavedModel with its lookup tables (the class names).
    from tf2onnx.convert import _convert_common

    with _quiet_logger("tf2onnx"), tf.device("/cpu:0"):
        graph_def, inputs, outputs, tables, renames = tf_loader.from_saved_model(
            saved_model_dir,
            None,
            None,
            tag="serve",
            signatures=[IMAGES_SIGNATURE],
            return_initialized_tables=True,
            return_tensors_to_rename=True,
        )
        _convert_common(
            graph_def,
            name=saved_model_dir,
            opset=opset,
            input_names=inputs,
            output_names=outputs,
            tensors_to_rename=renames,
            initialized_tables=tables,
            output_path=output,
        )


@contextlib.contextmanager
def _quiet_logger(name):
    """tf2onnx reports each rewrite at INFO and WARNING; the caller's own
    logging is left as it was."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
