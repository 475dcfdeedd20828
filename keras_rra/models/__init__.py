"""Backbones and classifiers of keras-rra."""

from keras_rra.models.backbones import BACKBONES
from keras_rra.models.backbones import backbone_names
from keras_rra.models.backbones import build_backbone
from keras_rra.models.backbones import build_tiny_backbone
from keras_rra.models.baseline_classifier import BaselineClassifier
from keras_rra.models.coarse2fine_classifier import Coarse2FineClassifier
from keras_rra.models.fine_grained_classifier import FineGrainedClassifier
from keras_rra.models.rra_classifier import RRAClassifier

__all__ = [
    "BACKBONES",
    "BaselineClassifier",
    "Coarse2FineClassifier",
    "FineGrainedClassifier",
    "RRAClassifier",
    "backbone_names",
    "build_backbone",
    "build_tiny_backbone",
]
