"""Training of keras-rra models: configs, seeding, strategies, the Trainer."""

from keras_rra.training.config import TrainConfig
from keras_rra.training.multi_rate_sgd import MultiRateSGD
from keras_rra.training.run import build_model
from keras_rra.training.run import build_optimizer
from keras_rra.training.run import evaluate
from keras_rra.training.run import load_split
from keras_rra.training.run import train
from keras_rra.training.schedules import build_schedule
from keras_rra.training.seed import set_seed
from keras_rra.training.strategy import resolve_strategy
from keras_rra.training.trainer import NonFiniteLossError
from keras_rra.training.trainer import Trainer
from keras_rra.training.training_checkpoint import TrainingCheckpoint
from keras_rra.training.two_stage_training import TwoStageTraining

__all__ = [
    "MultiRateSGD",
    "NonFiniteLossError",
    "TrainConfig",
    "Trainer",
    "TrainingCheckpoint",
    "TwoStageTraining",
    "build_model",
    "build_optimizer",
    "build_schedule",
    "evaluate",
    "load_split",
    "resolve_strategy",
    "set_seed",
    "train",
]
