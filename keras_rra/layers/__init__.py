"""Layers of keras-rra: one public layer per module."""

from keras_rra.layers.box_selector import BoxSelector
from keras_rra.layers.center_boxes import CenterBoxes
from keras_rra.layers.image_preprocessing import ImagePreprocessing
from keras_rra.layers.patch_average import PatchAverage
from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.layers.recursive_refinement import RecursiveRefinement
from keras_rra.layers.temporal_attention_pooling import TemporalAttentionPooling

__all__ = [
    "BoxSelector",
    "CenterBoxes",
    "ImagePreprocessing",
    "PatchAverage",
    "PatchSampler",
    "RecursiveRefinement",
    "TemporalAttentionPooling",
]
