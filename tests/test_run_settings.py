"""Each setting is declared once: constructors, CLI flags and config keys
come from `keras_rra.settings` under one name with one default."""

import inspect

import pytest

from keras_rra import cli
from keras_rra.models import BACKBONES
from keras_rra.models import MODEL_CLASSES
from keras_rra.settings.model_settings import BACKBONE_NAMES
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.settings.model_settings import NOT_SETTINGS
from keras_rra.settings.run_settings import run_settings
from keras_rra.training import TrainConfig


def _arguments(model_class):
    return {
        name: parameter.default
        for name, parameter in inspect.signature(
            model_class.__init__
        ).parameters.items()
        if name not in ("self", "kwargs")
    }


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("model", sorted(MODEL_CLASSES))
def test_every_constructor_argument_is_a_declared_setting(model):
    arguments = _arguments(MODEL_CLASSES[model])
    settings = MODEL_SETTINGS[model]
    assert MODEL_CLASSES[model].settings is settings
    assert set(arguments) - set(NOT_SETTINGS) == set(settings.names())
    for name, default in arguments.items():
        if name in settings:
            assert _plain(default) == settings[name].default, name


@pytest.mark.parametrize("model", sorted(MODEL_CLASSES))
def test_the_paper_preset_is_the_constructors_defaults(model):
    config = TrainConfig(model=model, preset="paper")
    arguments = _arguments(MODEL_CLASSES[model])
    assert config.model_settings() == {
        name: _plain(arguments[name]) for name in MODEL_SETTINGS[model].names()
    }


def test_backbone_choices_are_the_backbones_built():
    assert sorted(BACKBONE_NAMES) == sorted(BACKBONES)


def _other_value(setting):
    """A valid value of `setting` that is not its default."""
    default = setting.default
    if setting.choices:
        return next(choice for choice in setting.choices if choice != default)
    if setting.kind == "bool":
        return not default
    if setting.kind == "fractions":
        return [0.5] if default != [0.5] else [0.25]
    if setting.kind == "epochs":
        return [5, 9]
    if setting.kind in ("int", "size"):
        return (default or 1) + 1 if setting.maximum is None else setting.minimum
    if setting.kind == "float":
        low = setting.minimum if setting.minimum is not None else setting.above
        high = setting.maximum if setting.maximum is not None else setting.below
        if low is not None and high is not None:
            candidate = (low + high) / 2
            return candidate if candidate != default else (candidate + high) / 2
        return (default or 1.0) * 2
    return "somewhere" if setting.name != "dataset" else "synthetic:hard"


def _word(value):
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value).lower() if isinstance(value, bool) else str(value)


@pytest.mark.parametrize("name", sorted(run_settings()))
def test_every_setting_is_a_flag_and_a_config_key_under_one_name(name):
    setting, owners = run_settings()[name]
    model = owners[0] if owners else "rra"
    if setting.name == "model":
        model = None
    owner_setting = MODEL_SETTINGS[model][name] if owners else setting
    value = owner_setting.check(_other_value(owner_setting))
    argv = ["train", setting.flag, _word(value)]
    if model is not None:
        argv += ["--model", model]
    args = cli._build_parser().parse_args(argv)
    flags = {
        key: getattr(args, key) for key in cli.train_flag_names() if hasattr(args, key)
    }
    from_flags = TrainConfig(**flags)
    from_file = TrainConfig(**{"model": model or value, name: value})
    assert getattr(from_flags, name) == getattr(from_file, name) == value


def test_help_shows_every_flag_with_its_default_and_choices(capsys):
    with pytest.raises(SystemExit):
        cli._build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name, (setting, _) in run_settings().items():
        assert setting.flag in text, name
        if setting.choices:
            assert "one of " + ", ".join(setting.choices) in text, name
    assert "--lstm-units LSTM_UNITS units of each LSTM; >= 1 [rra] (default: 128;" in (
        text
    )
    assert "preset paper: 512)" in text
    assert "[rra, coarse2fine] (default: 0.25 (rra), 0.5 (coarse2fine))" in text
    assert "--epochs EPOCHS training epochs; >= 1 (default: 15)" in text


def test_another_models_setting_is_refused_unless_at_its_default():
    with pytest.raises(ValueError, match="`timesteps` is a setting of rra; model "):
        TrainConfig(model="coarse2fine", timesteps=4)
    # Older run folders list every model's settings at their defaults.
    assert TrainConfig(model="coarse2fine", timesteps=10).model == "coarse2fine"
    assert "timesteps" not in TrainConfig(model="coarse2fine").to_dict()


def test_old_config_keys_and_nulls_still_load():
    config = TrainConfig.from_dict(
        {"model": "coarse2fine", "attention_maps": 4, "num_parts": None}
    )
    assert (config.num_attention_maps, config.num_parts) == (4, 2)


def test_presets_change_model_defaults_only():
    cpu, paper = TrainConfig(), TrainConfig(preset="paper")
    assert (cpu.backbone, cpu.lstm_units) == ("tiny", 128)
    assert (paper.backbone, paper.lstm_units, paper.image_size) == ("vgg19", 512, 448)
    assert cpu.epochs == paper.epochs
    assert TrainConfig(preset="paper", lstm_units=64).lstm_units == 64
    with pytest.raises(ValueError, match="Unknown `preset`='fast'"):
        TrainConfig(preset="fast")


def test_from_preset_builds_the_models_with_the_presets_settings():
    model = MODEL_CLASSES["rra"].from_preset("cpu", num_classes=3, timesteps=2)
    assert (model.lstm_units, model.timesteps, model.image_size) == (128, 2, (64, 64))
