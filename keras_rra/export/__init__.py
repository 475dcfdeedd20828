"""Export of keras-rra classifiers: SavedModel for TF Serving, TFLite, ONNX."""

from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.export.saved_model_export import OUTPUT_NAMES
from keras_rra.export.saved_model_export import SERVING_SIGNATURE
from keras_rra.export.saved_model_export import export_saved_model
from keras_rra.export.saved_model_export import next_version
from keras_rra.export.saved_model_export import serving_functions

__all__ = [
    "IMAGES_SIGNATURE",
    "OUTPUT_NAMES",
    "SERVING_SIGNATURE",
    "export_saved_model",
    "next_version",
    "serving_functions",
]
