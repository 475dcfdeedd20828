"""Export of keras-rra classifiers: SavedModel for TF Serving, TFLite, ONNX."""

from keras_rra.export.export_run import FORMATS
from keras_rra.export.export_run import export_model
from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.predictors import load_predictor
from keras_rra.export.saved_model_export import IMAGES_SIGNATURE
from keras_rra.export.saved_model_export import OUTPUT_NAMES
from keras_rra.export.saved_model_export import SERVING_SIGNATURE
from keras_rra.export.saved_model_export import export_saved_model
from keras_rra.export.saved_model_export import next_version
from keras_rra.export.saved_model_export import serving_functions
from keras_rra.export.tflite_export import QUANTIZATIONS
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import int8_float_layers

__all__ = [
    "FORMATS",
    "IMAGES_SIGNATURE",
    "OUTPUT_NAMES",
    "QUANTIZATIONS",
    "SERVING_SIGNATURE",
    "export_model",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "int8_float_layers",
    "load_predictor",
    "next_version",
    "serving_functions",
]
