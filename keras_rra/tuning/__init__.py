"""Hyperparameter search with keras-tuner: one `HyperModel` per model, its
space made from the settings' declared ranges, and `tune` behind
`keras-rra tune`."""

from keras_rra.tuning.baseline_hyper_model import BaselineHyperModel
from keras_rra.tuning.classifier_hyper_model import ClassifierHyperModel
from keras_rra.tuning.coarse2fine_hyper_model import Coarse2FineHyperModel
from keras_rra.tuning.rra_hyper_model import RRAHyperModel
from keras_rra.tuning.search_space import SearchSpace
from keras_rra.tuning.tune_run import HYPER_MODELS
from keras_rra.tuning.tune_run import tune

__all__ = [
    "HYPER_MODELS",
    "BaselineHyperModel",
    "ClassifierHyperModel",
    "Coarse2FineHyperModel",
    "RRAHyperModel",
    "SearchSpace",
    "tune",
]
