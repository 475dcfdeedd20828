"""Datasets of keras-rra, all in one element format (see `loader`)."""

from keras_rra.data import synthetic
from keras_rra.data.augmentation import Augmentation
from keras_rra.data.bad_data import BadDataWarning
from keras_rra.data.loader import dataset_names
from keras_rra.data.loader import load

__all__ = ["Augmentation", "BadDataWarning", "dataset_names", "load", "synthetic"]
