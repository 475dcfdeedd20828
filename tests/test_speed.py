"""`keras-rra benchmark speed`: its plan, its ratios, and every part run at
a tiny scale (no timing asserts)."""

import pytest

from keras_rra.benchmarks import speed
from keras_rra.settings.presets import PRESETS

TINY = {
    "small": {
        "model": {
            "image_size": 32,
            "patch_size": 16,
            "lstm_units": 8,
            "addon_channels": 8,
            "batch_size": 4,
            "num_classes": 3,
            "timesteps": 2,
        },
        "steps": 1,
        "warmup": 1,
        "fit_models": ("rra-navigator",),
        "fit_blocks": 2,
    }
}


def test_the_two_settings():
    settings = speed.speed_settings()
    assert tuple(settings) == speed.SPEED_SETTING_NAMES
    small = settings["small"]["model"]
    # The small setting is what `keras-rra train` runs: the cpu preset.
    for name, value in PRESETS["cpu"].items():
        assert small[name] == value
    reference = settings["reference"]["model"]
    assert (
        reference["backbone"],
        reference["image_size"],
        reference["patch_size"],
    ) == (
        "vgg19",
        224,
        112,
    )
    assert (reference["lstm_units"], reference["addon_channels"]) == (512, 1024)
    assert (reference["num_classes"], reference["batch_size"]) == (200, 4)
    for setting in settings.values():
        assert set(setting["models"]) <= set(speed.SPEED_MODELS)


def test_the_plan_covers_every_model_mode_precision_and_both_loops():
    rows = speed.plan({"small": speed.speed_settings()["small"]})
    # 6 models x 2 XLA modes x 2 precisions, the navigator again at T = 1,
    # and 3 models through model.fit.
    assert len(rows) == 6 * 2 * 2 + 2 * 2 + 3
    assert ("small", "rra-navigator", 1, "on", "mixed_bfloat16", "trainer") in rows
    assert ("small", "coarse2fine", None, "off", "float32", "fit") in rows
    assert ("small", "rra-saliency", 10, "on", "float32", "trainer") in rows
    only = speed.plan(
        {"small": speed.speed_settings()["small"]},
        models=["baseline"],
        jit=["off"],
        precisions=["float32"],
    )
    assert only == [
        ("small", "baseline", None, "off", "float32", "trainer"),
        ("small", "baseline", None, "off", "float32", "fit"),
    ]


def test_each_model_label_builds_its_own_configuration():
    setting = speed.speed_settings()["small"]
    settings = speed.configuration(setting, "rra-saliency", 1, "on", "float32", "fit")
    assert settings["model"] == "rra" and settings["timesteps"] == 1
    assert settings["model_settings"]["patch"] == "saliency"
    assert settings["runner"] == "fit" and settings["jit"] == "on"
    c2f = speed.configuration(setting, "coarse2fine", None, "off", "float32", "")
    assert c2f["model_settings"]["num_attention_maps"] == 8


def test_trainer_over_fit_is_each_fit_rows_own_ratio():
    def row(runner, rate, model="rra-navigator", **ratio):
        return dict(
            setting="small", model=model, timesteps=10, jit="off",
            precision="float32", runner=runner, images_per_second=rate, **ratio,
        )  # fmt: skip

    rows = [
        row("trainer", 90.0),
        row("fit", 100.0, trainer_over_fit=0.97),
        row("trainer", 5.0, "baseline"),
        {"setting": "small", "model": "baseline", "runner": "fit", "error": "x"},
    ]
    # Not 90 / 100: the two loops are compared within one process.
    assert speed.trainer_over_fit(rows) == {"small rra-navigator": 0.97}


def test_unknown_settings_and_models_are_named():
    with pytest.raises(ValueError, match="Unknown speed setting 'huge'"):
        speed.benchmark_speed(settings=["huge"])
    with pytest.raises(ValueError, match="Unknown model 'nts'"):
        speed.benchmark_speed(settings=["small"], models=["nts"])


def test_every_part_runs_at_a_tiny_scale():
    lines = []
    result = speed.benchmark_speed(
        settings=["small"],
        models=["rra-navigator"],
        jit=["off"],
        precisions=["float32"],
        peak_size=128,
        export_models=["baseline"],
        export_formats=["tflite-float32"],
        data_steps=2,
        export_steps=1,
        overrides=TINY,
        progress=lines.append,
    )
    rows = result["rows"]
    assert [(row["timesteps"], row["runner"]) for row in rows] == [
        (2, "trainer"),
        (1, "trainer"),
        (2, "fit"),
    ]
    for row in rows:
        assert "error" not in row, row
        assert row["images_per_second"] > 0 and 0 < row["fraction_of_peak"]
        assert row["peak_memory_mb"] > 50
    # Both loops count the same graph.
    assert rows[0]["gflop_per_image"] == pytest.approx(rows[2]["gflop_per_image"])
    fit = rows[2]
    assert fit["trainer_images_per_second"] > 0 and fit["trainer_over_fit"] > 0
    assert result["trainer_over_fit"] == {
        "small rra-navigator": fit["trainer_over_fit"]
    }
    ratio = result["ratios"]["small"]["time_ratio_longest_to_shortest"]["off"]
    assert ratio == pytest.approx(
        rows[1]["images_per_second"] / rows[0]["images_per_second"]
    )
    assert result["data"]["pipeline_images_per_second"] > 0
    formats = [row["format"] for row in result["export"]["baseline"]["rows"]]
    assert formats == ["keras", "tflite float32"]
    assert result["machine"]["cores"] >= 1
    assert lines[0].startswith("measuring the matmul peaks") and len(lines) == 6
    text = speed.format_report(result)
    assert "small: tiny, 32 px, patch 16 px, LSTM 8" in text
    assert "rra-navigator (fit)" in text and "Trainer / model.fit images/s" in text
    assert "pipeline_images_per_second" in text and "export, baseline:" in text
