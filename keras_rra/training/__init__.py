"""Training of keras-rra models: configs, seeding, runs."""

from keras_rra.training.config import TrainConfig
from keras_rra.training.run import build_model
from keras_rra.training.run import build_optimizer
from keras_rra.training.run import evaluate
from keras_rra.training.run import load_split
from keras_rra.training.run import train
from keras_rra.training.seed import set_seed

__all__ = [
    "TrainConfig",
    "build_model",
    "build_optimizer",
    "evaluate",
    "load_split",
    "set_seed",
    "train",
]
