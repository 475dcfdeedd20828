"""Every setting of the package, declared once (name, type, default, range,
help): the models' arguments, the data's, training's and a search's. The CLI flags,
config-file keys and validation are generated from these declarations.

Nothing here imports TensorFlow.
"""

from keras_rra.settings.data_settings import DATA_SETTINGS
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.settings.model_settings import MODELS
from keras_rra.settings.presets import PRESETS
from keras_rra.settings.search_range import SearchRange
from keras_rra.settings.setting import Setting
from keras_rra.settings.setting_group import SettingGroup
from keras_rra.settings.training_settings import TRAINING_SETTINGS
from keras_rra.settings.tuning_settings import TUNING_SETTINGS

__all__ = [
    "DATA_SETTINGS",
    "MODELS",
    "MODEL_SETTINGS",
    "PRESETS",
    "TRAINING_SETTINGS",
    "TUNING_SETTINGS",
    "SearchRange",
    "Setting",
    "SettingGroup",
]
