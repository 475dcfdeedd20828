"""What a model saw and how a run went: Grad-CAM at every refinement step,
attention over the steps, the regions it looked at, the pointing game, and
figures of each."""

from keras_rra.explain.explain_files import explain_files
from keras_rra.explain.explain_files import plot_run
from keras_rra.explain.figures import explanation_figure
from keras_rra.explain.figures import write_run_plots
from keras_rra.explain.model_explanations import explain_images
from keras_rra.explain.model_explanations import saliency
from keras_rra.explain.model_explanations import temporal_attention
from keras_rra.explain.model_explanations import timestep_gradcam
from keras_rra.explain.model_explanations import where_it_looked
from keras_rra.explain.pointing_game import pointing_game
from keras_rra.explain.pointing_game import random_pointing_game
from keras_rra.explain.pointing_game import synthetic_pointing_game

__all__ = [
    "explain_files",
    "explain_images",
    "explanation_figure",
    "plot_run",
    "pointing_game",
    "random_pointing_game",
    "saliency",
    "synthetic_pointing_game",
    "temporal_attention",
    "timestep_gradcam",
    "where_it_looked",
    "write_run_plots",
]
