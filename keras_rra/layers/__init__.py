"""Layers of keras-rra: one public layer per module."""

from keras_rra.layers.activation_peak_boxes import ActivationPeakBoxes
from keras_rra.layers.anchor_pooling import AnchorPooling
from keras_rra.layers.attention_maps import AttentionMaps
from keras_rra.layers.bilinear_attention_pooling import BilinearAttentionPooling
from keras_rra.layers.box_selector import BoxSelector
from keras_rra.layers.center_boxes import CenterBoxes
from keras_rra.layers.differentiable_zoom import DifferentiableZoom
from keras_rra.layers.image_converter import ImageConverter
from keras_rra.layers.image_preprocessing import ImagePreprocessing
from keras_rra.layers.image_resize import ImageResize
from keras_rra.layers.inverse_mapping import InverseMapping
from keras_rra.layers.part_attention import PartAttention
from keras_rra.layers.part_navigator import PartNavigator
from keras_rra.layers.patch_average import PatchAverage
from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.layers.probability_average import ProbabilityAverage
from keras_rra.layers.recursive_refinement import RecursiveRefinement
from keras_rra.layers.temporal_attention_pooling import TemporalAttentionPooling

__all__ = [
    "ActivationPeakBoxes",
    "AnchorPooling",
    "AttentionMaps",
    "BilinearAttentionPooling",
    "BoxSelector",
    "CenterBoxes",
    "DifferentiableZoom",
    "ImageConverter",
    "ImagePreprocessing",
    "ImageResize",
    "InverseMapping",
    "PartAttention",
    "PartNavigator",
    "PatchAverage",
    "PatchSampler",
    "ProbabilityAverage",
    "RecursiveRefinement",
    "TemporalAttentionPooling",
]
