"""The one place where keras-rra sets random seeds."""

import keras
import tensorflow as tf


def set_seed(seed):
    """Seeds Python, NumPy, TensorFlow and Keras, and makes TF ops deterministic.

    With the same seed on the same machine, a run gives the same weights and
    metrics. Call it once, before building datasets and models.
    """
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
