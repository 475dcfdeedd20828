"""All the settings of a training run, in one ordered table."""

import functools

from keras_rra.settings.data_settings import DATA_SETTINGS
from keras_rra.settings.model_settings import MODEL
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.settings.presets import PRESET
from keras_rra.settings.presets import PRESETS
from keras_rra.settings.training_settings import TRAINING_SETTINGS

# Keys of older config files, under their one name now.
RENAMED = {"attention_maps": "num_attention_maps"}


@functools.cache
def run_settings():
    """`{name: (setting, owners)}` of every run setting, in the order of
    `--help`: the run's model and preset, the data, the models', training.
    `owners` lists the models that take a model setting (empty otherwise);
    a setting several models take is declared with the first one's help
    (each keeps its own default)."""
    settings = {MODEL.name: (MODEL, ()), PRESET.name: (PRESET, ())}
    for setting in DATA_SETTINGS:
        settings[setting.name] = (setting, ())
    for model, group in MODEL_SETTINGS.items():
        for setting in group:
            known = settings.get(setting.name)
            owners = (*known[1], model) if known else (model,)
            settings[setting.name] = (known[0] if known else setting, owners)
    for setting in TRAINING_SETTINGS:
        settings[setting.name] = (setting, ())
    return settings


def model_default(model, name, preset):
    """The default of model setting `name` for `model` under `preset`."""
    value = MODEL_SETTINGS[model][name].default
    return PRESETS[preset].get(name, value)


def defaults_by_model(name, preset):
    """`{model: default}` of a model setting under `preset`."""
    return {
        model: model_default(model, name, preset) for model in run_settings()[name][1]
    }
