import json

import pytest

from keras_rra.training import TrainConfig


def test_defaults_are_the_quick_cpu_run():
    config = TrainConfig()
    config.validate()
    assert (config.model, config.dataset, config.backbone) == (
        "rra",
        "synthetic",
        "tiny",
    )


def test_from_json_and_yaml_files(tmp_path):
    json_path = tmp_path / "run.json"
    json_path.write_text(json.dumps({"epochs": 3, "image-size": 48}))
    yaml_path = tmp_path / "run.yaml"
    yaml_path.write_text("epochs: 4\nmodel: baseline\n")
    assert TrainConfig.from_file(str(json_path)).image_size == 48
    config = TrainConfig.from_file(str(yaml_path))
    assert (config.epochs, config.model) == (4, "baseline")


def test_unknown_keys_and_bad_files(tmp_path):
    with pytest.raises(ValueError, match="unknown setting.*epoch\\b"):
        TrainConfig.from_dict({"epoch": 3})
    broken = tmp_path / "broken.json"
    broken.write_text("{epochs: ")
    with pytest.raises(ValueError, match="broken.json.*not valid"):
        TrainConfig.from_file(str(broken))
    with pytest.raises(FileNotFoundError, match="nowhere.yaml"):
        TrainConfig.from_file(str(tmp_path / "nowhere.yaml"))
    listed = tmp_path / "list.yaml"
    listed.write_text("- 1\n- 2\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        TrainConfig.from_file(str(listed))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"patch_size": 80}, "patch_size=80 is larger.*64"),
        ({"timesteps": 0}, "timesteps.*0"),
        ({"num_classes": 1}, "num_classes.*1"),
        ({"backbone": "alexnet"}, "Unknown backbone 'alexnet'.*vgg19"),
        ({"dataset": "zip:/data"}, "Unknown dataset kind 'zip'"),
        ({"dataset": "cub"}, "needs a folder.*cub:PATH"),
        ({"augmentation": "heavy"}, "augmentation"),
        ({"on_bad_image": "ignore"}, "on_bad_image"),
        ({"aircraft_level": "model"}, "aircraft_level"),
        ({"split_fraction": 1.5}, "split_fraction"),
        ({"resize_size": 32}, "resize_size.*>= 64"),
        (
            {"dataset": "cub:/data", "patch": "boxes"},
            "patch='boxes' needs boxes.*--boxes object",
        ),
        ({"model": "rnn"}, "model.*'rnn'"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"validation_freq": -1}, "validation_freq"),
    ],
)
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig().replace(**changes)
