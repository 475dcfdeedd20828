import keras_tuner
import pytest

from keras_rra.settings import MODEL_SETTINGS
from keras_rra.settings import SearchRange
from keras_rra.settings import Setting
from keras_rra.settings.run_settings import run_settings
from keras_rra.training import TrainConfig
from keras_rra.tuning import SearchSpace
from keras_rra.tuning.search_space import declared_ranges
from keras_rra.tuning.search_space import parse_search_argument


def test_the_default_space_is_every_declared_range_the_model_takes():
    rra = SearchSpace(TrainConfig(model="rra"))
    # Each declared range of RRA's settings and of training's, none other.
    expected = [
        name
        for name, (setting, owners) in run_settings().items()
        if (owners and "rra" in owners and MODEL_SETTINGS["rra"][name].search)
        or (not owners and setting.search and not setting.search.models)
    ]
    # The centred patch's side is searched only when the patch is centred.
    expected.remove("center_fraction")
    assert sorted(rra.names()) == sorted(expected)
    for name in ("timesteps", "lstm_units", "lstm_layers", "local_weight"):
        assert name in rra.names()
    assert rra.ranges["learning_rate"].log
    # Relative ranges in the setting's own unit: the cpu preset's 64 px.
    assert rra.ranges["patch_size"].values == (16, 24, 32, 48)
    coarse = SearchSpace(TrainConfig(model="coarse2fine", epochs=4))
    assert coarse.ranges["stage1_epochs"].values == (1, 2, 3)
    assert "num_attention_maps" in coarse.names()
    assert "timesteps" not in coarse.names()
    baseline = SearchSpace(TrainConfig(model="baseline"))
    assert sorted(baseline.names()) == ["dropout", "learning_rate", "weight_decay"]


def test_a_setting_declared_later_joins_the_space(monkeypatch):
    group = MODEL_SETTINGS["baseline"]
    new = Setting(
        "dropout", "float", 0.0, "dropout", minimum=0, below=1,
        search=SearchRange(values=(0.1, 0.2)),
    )  # fmt: skip
    monkeypatch.setitem(group.settings, "dropout", new)
    assert declared_ranges("baseline")["dropout"].values == (0.1, 0.2)


def test_fixed_narrowed_added_and_only_tuned_settings():
    config = TrainConfig(model="rra", timesteps=4)
    space = SearchSpace(
        config,
        fixed=["timesteps"],
        search={"lstm_units": [32, 64], "backbone": ["tiny", "mobilenetv3small"]},
    )
    assert "timesteps" not in space.names()
    assert space.ranges["lstm_units"].values == (32, 64)
    assert space.ranges["backbone"].values == ("tiny", "mobilenetv3small")
    only = SearchSpace(config, tune=["learning_rate", "lstm_layers"])
    assert only.names() == ["learning_rate", "lstm_layers"]


def test_conditions_follow_the_setting_they_depend_on():
    # The navigator's settings are searched for the navigator only.
    fixed_center = SearchSpace(
        TrainConfig(model="rra", patch="center"), fixed=["patch"]
    )
    assert "ranking_weight" not in fixed_center.names()
    assert "center_fraction" in fixed_center.names()
    both = SearchSpace(
        TrainConfig(model="rra"), search={"patch": ["navigator", "center"]}
    )
    names = both.names()
    assert names.index("patch") < names.index("ranking_weight")
    hp = keras_tuner.HyperParameters()
    hp.Fixed("patch", "center")
    values = both.declare(hp)
    assert values["patch"] == "center"
    assert "ranking_weight" not in values and "center_fraction" in values
    config = both.config_for(values)
    assert config.patch == "center"


def test_declare_gives_the_trial_values_and_honours_fixed_hyperparameters():
    space = SearchSpace(TrainConfig(model="rra", timesteps=3))
    hp = keras_tuner.HyperParameters()
    hp.Fixed("lstm_units", 256)
    values = space.declare(hp)
    # Defaults of the space are the config's values.
    assert values["timesteps"] == 3 and values["lstm_units"] == 256
    assert values["learning_rate"] == pytest.approx(1e-3)
    config = space.config_for(values)
    assert (config.timesteps, config.lstm_units) == (3, 256)
    lists = SearchSpace(
        TrainConfig(model="rra"), tune=["anchor_sizes"],
        search={"anchor_sizes": [[0.25], [0.25, 0.5]]},
    )  # fmt: skip
    hp = keras_tuner.HyperParameters()
    assert lists.declare(hp) == {"anchor_sizes": [0.25]}
    assert hp.values["anchor_sizes"] == "0.25"


def test_bad_spaces_name_the_problem():
    config = TrainConfig(model="rra")
    with pytest.raises(ValueError, match="`epochs` describes the run"):
        SearchSpace(config, search={"epochs": [1, 2]})
    with pytest.raises(
        ValueError, match="`num_attention_maps` is a setting of coarse2fine"
    ):
        SearchSpace(config, search={"num_attention_maps": [4]})
    with pytest.raises(ValueError, match="unknown setting 'lstm'"):
        SearchSpace(config, search={"lstm": [4]})
    with pytest.raises(
        ValueError, match="`timesteps` is both given a value and searched"
    ):
        SearchSpace(config, search={"timesteps": [1, 2]}, fixed=["timesteps"])
    with pytest.raises(ValueError, match="low must be <= its high"):
        SearchSpace(config, search={"timesteps": {"low": 5, "high": 1}})
    with pytest.raises(ValueError, match="`timesteps` must be >= 1"):
        SearchSpace(config, search={"timesteps": [0, 2]})
    with pytest.raises(ValueError, match="search it with a list of choices"):
        SearchSpace(config, search={"patch": {"low": 1, "high": 2}})
    with pytest.raises(ValueError, match="cannot tune momentum: not in the search"):
        SearchSpace(config, tune=["momentum"])
    with pytest.raises(ValueError, match="the search space of 'baseline' is empty"):
        SearchSpace(
            TrainConfig(model="baseline"),
            fixed=["dropout", "learning_rate", "weight_decay"],
        )


def test_command_line_ranges():
    assert parse_search_argument("lstm_units=64,128", "rra") == (
        "lstm_units",
        SearchRange(values=(64, 128)),
    )
    name, rate = parse_search_argument("learning-rate=1e-4:1e-2:log", "rra")
    assert name == "learning_rate" and rate.log and rate.low == 1e-4
    assert parse_search_argument("timesteps=1:9:2", "rra")[1].step == 2
    assert parse_search_argument("anchor_sizes=0.25/0.25,0.5", "rra")[1].values == (
        [0.25],
        [0.25, 0.5],
    )
    for text, message in (
        ("timesteps", "expected NAME=CHOICE"),
        ("timesteps=", "range of timesteps is empty"),
        ("steps=1:2", "unknown setting 'steps'"),
        ("timesteps=1:x", "expected a whole number >= 1; received 'x', which is not"),
        ("timesteps=1:2:3:4", "an interval is LOW:HIGH"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_search_argument(text, "rra")
