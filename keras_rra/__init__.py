"""keras-rra: fine-grained image classification for Keras 3.

Recursively Refined Attention (RRA, Shroff et al., CVPR-W 2020) and
Coarse2Fine (Eshratifar et al., arXiv 1909.02680) as Keras layers and
models, with a built-in synthetic fine-grained dataset and the `keras-rra`
command.

The subpackages load on first use (`keras_rra.models`, ...), so that the
command answers `--help` without importing TensorFlow. Every serialisable
class is registered with Keras as soon as Keras is loaded too, so that
`import keras_rra` then `keras.saving.load_model("model.keras")` works in a
new process (see `keras_rra.utils.keras_registration`).
"""

import importlib

from keras_rra.utils import keras_registration
from keras_rra.version import __version__

keras_registration.watch()

_SUBPACKAGES = (
    "data",
    "export",
    "layers",
    "models",
    "settings",
    "training",
    "tuning",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"keras_rra.{name}")
    raise AttributeError(f"module 'keras_rra' has no attribute {name!r}")
