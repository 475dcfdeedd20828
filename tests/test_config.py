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


def test_the_default_patch_is_the_navigator():
    config = TrainConfig()
    assert (config.patch, config.fine_input, config.global_loss) == (
        "navigator",
        "navigator",
        "joint",
    )


def test_hard_preset_reads_the_input_at_twice_the_global_view():
    config = TrainConfig(dataset="synthetic:hard", image_size=32)
    config.validate()
    assert config.input_size == 64
    given = TrainConfig(dataset="synthetic:hard", input_size=96)
    given.validate()
    assert given.input_size == 96


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
        ({"backbone": "alexnet"}, "Unknown `backbone`='alexnet'.*vgg19"),
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
        ({"stage1_epochs": 2}, "apply to model='coarse2fine' only"),
        ({"model": "coarse2fine", "stage1_epochs": -1}, "stage1_epochs"),
        (
            {"model": "coarse2fine", "epochs": 2, "stage1_epochs": 3},
            "do not fit in epochs=2",
        ),
        (
            {
                "model": "coarse2fine",
                "epochs": 4,
                "stage1_epochs": 3,
                "stage2_epochs": 2,
            },
            "epochs=4 is not stage1_epochs \\+ stage2_epochs = 3 \\+ 2",
        ),
        ({"fine_input": "crop"}, "fine_input"),
        ({"attention_maps": 0}, "attention_maps"),
        ({"area_weight": -0.1}, "area_weight"),
        ({"min_zoom_extent": 0}, "min_zoom_extent"),
        ({"max_zoom_extent": 0.05}, "max_zoom_extent.*larger than"),
        ({"max_zoom_extent": 1.5}, "max_zoom_extent"),
        ({"orthogonal_attention": "yes"}, "orthogonal_attention"),
        ({"patch": "random"}, "patch"),
        ({"global_loss": "sum"}, "global_loss"),
        ({"anchor_sizes": []}, "anchor_sizes"),
        ({"anchor_sizes": [0.25, 1.5]}, "anchor_sizes"),
        ({"num_parts": 0}, "num_parts"),
        ({"num_parts": 1.5}, "num_parts"),
        ({"ranking_weight": -1}, "ranking_weight"),
        ({"exploration": -0.5}, "exploration"),
        ({"dataset": "synthetic:medium"}, "Unknown synthetic preset 'medium'"),
    ],
)
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig().replace(**changes)


@pytest.mark.parametrize(
    "changes, stages",
    [
        ({}, (8, 7)),  # the first half of the default 15 epochs, rounded up
        ({"epochs": 6}, (3, 3)),
        ({"stage1_epochs": 3, "stage2_epochs": 2}, (3, 2)),
        ({"epochs": 10, "stage1_epochs": 4}, (4, 6)),
        ({"epochs": 10, "stage2_epochs": 4}, (6, 4)),
        ({"stage1_epochs": 0, "stage2_epochs": 5}, (0, 5)),
    ],
)
def test_coarse2fine_stages_add_up_to_the_epochs(changes, stages):
    config = TrainConfig().replace(model="coarse2fine", **changes)
    assert (config.stage1_epochs, config.stage2_epochs) == stages
    assert config.epochs == sum(stages)


def test_coarse2fine_epochs_move_the_end_of_stage_2():
    config = TrainConfig().replace(
        model="coarse2fine", stage1_epochs=3, stage2_epochs=2
    )
    longer = config.replace(epochs=8)
    assert (longer.stage1_epochs, longer.stage2_epochs, longer.epochs) == (3, 5, 8)
    shorter = config.replace(stage2_epochs=1)
    assert (shorter.stage1_epochs, shorter.stage2_epochs, shorter.epochs) == (3, 1, 4)
    # Another model drops the stages instead of refusing them.
    assert config.replace(model="rra").stage1_epochs is None


def test_coarse2fine_stages_from_a_file(tmp_path):
    path = tmp_path / "c2f.yaml"
    path.write_text("model: coarse2fine\nstage1-epochs: 2\nstage2-epochs: 3\n")
    config = TrainConfig.from_file(str(path))
    assert (config.stage1_epochs, config.stage2_epochs, config.epochs) == (2, 3, 5)
    path.write_text(
        "model: coarse2fine\nepochs: 9\nstage1-epochs: 2\nstage2-epochs: 3\n"
    )
    with pytest.raises(ValueError, match="c2f.yaml: epochs=9"):
        TrainConfig.from_file(str(path))


def test_paths_are_stored_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(
        dataset="folder:images",
        boxes="boxes.csv",
        cache="cache",
        output="runs/a",
    ).with_resolved_paths()
    assert config.dataset == f"folder:{tmp_path / 'images'}"
    assert config.boxes == str(tmp_path / "boxes.csv")
    assert (config.cache, config.output) == (
        str(tmp_path / "cache"),
        str(tmp_path / "runs" / "a"),
    )
    assert TrainConfig(cache="memory").with_resolved_paths().cache == "memory"
