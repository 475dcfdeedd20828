"""The settings of a hyperparameter search (`keras-rra tune`)."""

from keras_rra.settings.setting import Setting
from keras_rra.settings.setting_group import SettingGroup

TUNERS = ("random", "hyperband", "bayesian")
# The metrics a search may optimise, with keras-tuner's direction: the
# validation split's, carved from the training split.
OBJECTIVES = {
    "val_accuracy": "max",
    "val_top5_accuracy": "max",
    "val_loss": "min",
}

TUNING_SETTINGS = SettingGroup(
    "tuning",
    [
        Setting(
            "tuner",
            "str",
            "random",
            "keras-tuner's search: random, hyperband or bayesian",
            choices=TUNERS,
        ),
        Setting(
            "max_trials",
            "int",
            10,
            "trials to run (hyperband: at most this many)",
            minimum=1,
        ),
        Setting(
            "objective",
            "str",
            "val_accuracy",
            "metric of the validation split to optimise",
            choices=tuple(OBJECTIVES),
        ),
        Setting(
            "directory",
            "str",
            "tuning",
            "folder of the search: its trials, trials.csv, best_config.json",
        ),
        Setting(
            "executions_per_trial",
            "int",
            1,
            "trainings per trial from seeds seed, seed+1, ...; the trial "
            "scores their mean (one seed's luck decides less)",
            minimum=1,
        ),
        Setting(
            "hyperband_factor",
            "int",
            3,
            "hyperband: reduction factor of each bracket",
            minimum=2,
        ),
        Setting(
            "tuning_validation_fraction",
            "float",
            0.2,
            "share of the training split the trials are compared on when "
            "validation_fraction is 0 (never the test split)",
            above=0,
            below=1,
        ),
    ],
)
