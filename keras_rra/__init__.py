"""keras-rra: fine-grained image classification for Keras 3.

Recursively Refined Attention (RRA, Shroff et al., CVPR-W 2020) and
Coarse2Fine (Eshratifar et al., arXiv 1909.02680) as Keras layers and
models, with a built-in synthetic fine-grained dataset and the `keras-rra`
command.
"""

from keras_rra import data
from keras_rra import layers
from keras_rra import models
from keras_rra.version import __version__

__all__ = ["__version__", "data", "layers", "models"]
