"""Backbones and classifiers of keras-rra."""

from keras_rra.models.backbones import BACKBONES
from keras_rra.models.backbones import backbone_names
from keras_rra.models.backbones import build_backbone
from keras_rra.models.backbones import build_tiny_backbone
from keras_rra.models.baseline_classifier import BaselineClassifier
from keras_rra.models.coarse2fine_classifier import Coarse2FineClassifier
from keras_rra.models.fine_grained_classifier import FineGrainedClassifier
from keras_rra.models.logits_crossentropy import LogitsCrossentropy
from keras_rra.models.rra_classifier import RRAClassifier

# The models `keras-rra train --model NAME` builds; each declares its
# settings (`cls.settings`, from `keras_rra.settings.model_settings`).
MODEL_CLASSES = {
    "rra": RRAClassifier,
    "baseline": BaselineClassifier,
    "coarse2fine": Coarse2FineClassifier,
}

__all__ = [
    "BACKBONES",
    "BaselineClassifier",
    "Coarse2FineClassifier",
    "FineGrainedClassifier",
    "LogitsCrossentropy",
    "MODEL_CLASSES",
    "RRAClassifier",
    "backbone_names",
    "build_backbone",
    "build_tiny_backbone",
]
