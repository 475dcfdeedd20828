"""Which packages each export format needs, checked before anything is
written."""

import importlib.util

# format -> the modules its conversion (and its check) imports.
CONVERTER_MODULES = {
    "saved_model": (),
    "tflite": ("ai_edge_litert",),
    "onnx": ("tf2onnx", "onnx", "onnxruntime"),
}
# Works from a clone too: the package is not on an index.
INSTALL_HINT = (
    "pip install tf2onnx onnx onnxruntime ai-edge-litert (or, in a clone of "
    "keras-rra, pip install '.[export]')"
)


def missing_modules(formats):
    """The modules the `formats` need that are not installed, in order."""
    needed = [module for name in formats for module in CONVERTER_MODULES[name]]
    return [
        module
        for index, module in enumerate(needed)
        if module not in needed[:index] and importlib.util.find_spec(module) is None
    ]


def check_converters(formats):
    """Raises ValueError naming what `formats` need and is not installed."""
    missing = missing_modules(formats)
    if missing:
        raise ValueError(
            f"Exporting to {', '.join(formats)} needs {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: {INSTALL_HINT}. "
            "Nothing was written."
        )
