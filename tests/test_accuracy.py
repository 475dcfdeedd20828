"""`keras-rra benchmark accuracy`: its rows train, and its table adds up."""

import time

import pytest

from keras_rra.benchmarks import accuracy


def _run(row, seed, top1, **localization):
    return dict(
        preset="hard", row=row, seed=seed, top1=top1, train_seconds=10.0, **localization
    )


def test_table_gives_mean_std_and_the_targets_ratios():
    runs = [
        _run("baseline", 0, 0.10),
        _run("baseline", 1, 0.12),
        _run("navigator", 0, 0.90, part_centre_hit_rate=0.9, mean_box_area=0.0625),
        _run("navigator", 1, 1.00, part_centre_hit_rate=1.0, mean_box_area=0.0625),
        _run("true_box", 0, 1.0, part_centre_hit_rate=1.0, mean_box_area=0.035),
        _run("true_box", 1, 1.0, part_centre_hit_rate=1.0, mean_box_area=0.035),
    ]
    table = accuracy.format_table(runs)
    # top-1, the part stream alone (not measured here), the part's centre.
    assert (
        "| hard | RRA, learned navigator, 2 parts (default) | 0.950 ± 0.071 | – | "
        "0.950 ± 0.071" in table
    )
    assert (
        "| hard | baseline, global view only (lower bound) | 0.110 ± 0.014 | – | – |"
        in (table)
    )
    assert "hard: navigator / true box = 0.950 (target >= 0.9)" in table
    assert "hard: navigator - baseline = +0.840 (target >= +0.30)" in table


def test_the_table_groups_presets_and_rows_whatever_the_run_order():
    runs = [
        dict(_run("true_box", 0, 1.0), preset="plain"),
        dict(_run("baseline", 0, 0.2), preset="task_b"),
        _run("navigator", 0, 0.9),
        dict(_run("baseline", 0, 0.1), preset="plain"),
        _run("baseline", 0, 0.1),
        dict(_run("baseline", 0, 0.3), preset="task_a"),
    ]
    order = [
        tuple(cell.strip() for cell in line.split("|")[1:3])
        for line in accuracy.format_table(runs).splitlines()[2:8]
    ]
    names = {row: name for row, (name, _) in accuracy.ROWS.items()}
    assert order == [
        ("hard", names["baseline"]),
        ("hard", names["navigator"]),
        ("plain", names["baseline"]),
        ("plain", names["true_box"]),
        ("task_b", names["baseline"]),
        ("task_a", names["baseline"]),
    ]


def test_unknown_presets_and_rows_are_named():
    with pytest.raises(ValueError, match="Unknown preset 'medium'"):
        accuracy.run(presets=["medium"])
    with pytest.raises(ValueError, match="Unknown row 'nts'"):
        accuracy.run(rows=["nts"])


def test_a_row_trains_as_keras_rra_train_does(tmp_path, monkeypatch):
    monkeypatch.setitem(
        accuracy.PRESETS,
        "hard",
        dict(
            accuracy.PRESETS["hard"],
            num_classes=3,
            examples_per_class=4,
            test_examples_per_class=2,
            batch_size=4,
            timesteps=2,
            lstm_units=8,
            addon_channels=8,
        ),
    )
    measured = accuracy.run_one("hard", "navigator", 0, str(tmp_path), epochs=1)
    assert measured["row"] == "navigator" and 0.0 <= measured["top1"] <= 1.0
    assert measured["mean_box_area"] == pytest.approx(0.0625)
    assert (tmp_path / "hard-navigator-0" / "model.keras").is_file()


def test_the_ablations_line_up_against_t_and_the_attention_init():
    runs = [
        _run("navigator_t1", 0, 0.80),
        _run("navigator_t4", 0, 0.90),
        _run("navigator", 0, 0.95),
        _run("coarse2fine", 0, 1.00),
        _run("coarse2fine_default_init", 0, 0.75),
    ]
    table = accuracy.format_table(runs)
    assert "hard: navigator top-1 against T: T=1 0.800, T=4 0.900, T=10 0.950" in (
        table
    )
    assert "hard: Coarse2Fine orthogonal - he-normal attention init = +0.250" in table
    # One seed says so, rather than a spread of 0.
    assert "| hard | RRA, learned navigator, T = 4 | 0.900 (1 seed) |" in table


def test_the_box_rows_line_up_with_their_part_centre_in_box():
    runs = [
        dict(_run("navigator", 0, 0.70), part_centre_hit_rate=0.95),
        dict(_run("navigator_small_boxes", 0, 0.80), part_centre_hit_rate=0.85),
        dict(_run("navigator_dense_small_boxes", 0, 0.90), part_centre_hit_rate=0.9),
    ]
    table = accuracy.format_table(runs)
    assert (
        "hard: navigator top-1 (part centre in box) against boxes (side, centres "
        "per cell): 0.25 × 1 0.700 (0.950), 0.1875 × 1 0.800 (0.850), "
        "0.1875 × 2 0.900 (0.900)"
    ) in table
    # One kind of box alone is no comparison.
    assert "against boxes" not in accuracy.format_table(runs[:1])


def test_the_table_says_where_the_navigators_teacher_points():
    runs = [
        dict(
            _run("navigator", seed, 0.5),
            part_centre_hit_rate=0.4,
            teacher_part_centre_hit_rate=teacher,
        )
        for seed, teacher in ((0, 0.8), (1, 0.9))
    ]
    table = accuracy.format_table(runs + [_run("baseline", 0, 0.1)])
    assert "| in its teacher's box |" in table
    assert (
        "| hard | RRA, learned navigator, 2 parts (default) | 0.500 ± 0.000 | – | "
        "0.400 ± 0.000 | 0.850 ± 0.071 |"
    ) in table
    assert (
        "| hard | baseline, global view only (lower bound) | 0.100 (1 seed) "
        "| – | – | – |"
    ) in table


def test_the_ablation_rows_vary_only_their_setting():
    from keras_rra.settings.run_settings import run_settings

    # The row for T = 10 is the default navigator row: 10 must be the default.
    assert run_settings()["timesteps"][0].default == 10
    for steps, row in accuracy.TIMESTEP_ROWS.items():
        settings = dict(accuracy.ROWS[row][1])
        assert settings.pop("timesteps", 10) == steps
        assert settings == accuracy.ROWS["navigator"][1]
    assert run_settings()["orthogonal_attention"][0].default is True
    default_init = dict(accuracy.ROWS["coarse2fine_default_init"][1])
    assert default_init.pop("orthogonal_attention") is False
    assert default_init == accuracy.ROWS["coarse2fine"][1]
    for row in [
        *accuracy.TIMESTEP_ROWS.values(),
        *accuracy.ATTENTION_INIT_ROWS.values(),
    ]:
        assert row in accuracy.ROWS
    # The teacher rows: the default shared teacher against one of its own.
    assert run_settings()["teacher"][0].default == "shared"
    for default, own in accuracy.TEACHER_ROWS.items():
        settings = dict(accuracy.ROWS[own][1])
        assert settings.pop("teacher") == "own"
        assert settings == accuracy.ROWS[default][1]
    # The box rows: the default navigator's boxes against smaller, denser ones.
    assert run_settings()["anchor_sizes"][0].default == [0.25]
    assert run_settings()["anchor_density"][0].default == 1
    for (side, density), row in accuracy.BOX_ROWS.items():
        settings = dict(accuracy.ROWS[row][1])
        assert settings.pop("anchor_sizes", [0.25]) == [side]
        assert settings.pop("anchor_density", 1) == density
        assert settings == accuracy.ROWS["navigator"][1]


def test_every_default_preset_has_its_bounds_and_the_default():
    for preset in accuracy.DEFAULT_PRESETS:
        rows = accuracy.DEFAULT_ROWS[preset]
        assert {"baseline", "navigator", "true_box"} <= set(rows), preset
    # The presets without a beacon measure what a user would pick instead.
    for preset in ("plain", "distractors", "faint"):
        assert "baseline_full_max" in accuracy.DEFAULT_ROWS[preset]


def test_full_resolution_rows_see_the_whole_source():
    config = accuracy.row_config("plain", "baseline_full_max", 0, "/tmp/unused")
    assert (config.image_size, config.input_size, config.pooling) == (128, 128, "max")
    config = accuracy.row_config("plain", "baseline", 0, "/tmp/unused")
    assert (config.image_size, config.input_size) == (64, 128)


def test_an_interrupted_benchmark_goes_on_where_it_stopped(tmp_path, monkeypatch):
    trained = []

    def fake_run_one(preset, row, seed, folder, epochs=None):
        trained.append((row, seed))
        if len(trained) == 3:
            raise KeyboardInterrupt
        return _run(row, seed, 0.5 + seed / 10)

    monkeypatch.setattr(accuracy, "run_one", fake_run_one)
    output = tmp_path / "accuracy.json"
    rows = ["baseline", "navigator"]
    with pytest.raises(KeyboardInterrupt):
        accuracy.run(["hard"], rows, seeds=[0, 1], output=str(output), command="c")
    assert [(run["row"], run["seed"]) for run in _read(output)["runs"]] == [
        ("baseline", 0),
        ("baseline", 1),
    ]
    trained.clear()
    runs = accuracy.run(["hard"], rows, seeds=[0, 1], output=str(output), command="c")
    # Only the runs the first call did not finish are trained.
    assert trained == [("navigator", 0), ("navigator", 1)]
    assert len(runs) == 4
    written = _read(output)
    assert written["command"] == "c" and written["machine"]["cores"] >= 1
    assert (
        "| hard | RRA, learned navigator, 2 parts (default) | 0.550 ± 0.071"
        in (written["table"])
    )
    # Another epochs override is another benchmark: nothing is reused, and
    # the file keeps the earlier runs beside it, out of its table.
    trained.clear()
    accuracy.run(["hard"], ["baseline"], [0], epochs=1, output=str(output))
    assert trained == [("baseline", 0)]
    written = _read(output)
    assert len(written["runs"]) == 5 and written["epochs_override"] == 1
    assert (
        "| hard | baseline, global view only (lower bound) | 0.500 (1 seed) |"
        in (written["table"])
    )
    assert "learned navigator" not in written["table"]


def test_a_call_for_one_more_row_adds_it_to_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(
        accuracy, "run_one", lambda preset, row, seed, *rest: _run(row, seed, 0.9)
    )
    output = str(tmp_path / "accuracy.json")
    accuracy.run(["hard"], ["baseline"], seeds=[0], output=output, command="first")
    accuracy.run(["hard"], ["navigator"], seeds=[0], output=output, command="second")
    written = _read(output)
    assert [run["row"] for run in written["runs"]] == ["baseline", "navigator"]
    assert written["commands"] == ["first", "second"]
    assert "baseline, global view only" in written["table"]
    # Each run says when it was measured: a file's runs may span versions.
    today = time.strftime("%Y-%m-%d")
    assert [run["measured_on"] for run in written["runs"]] == [today, today]


def test_mixed_bfloat16_is_set_against_float32_on_the_same_compiled_path():
    float32 = accuracy.ROWS[accuracy.PRECISION_ROWS["float32"]][1]
    mixed = dict(accuracy.ROWS[accuracy.PRECISION_ROWS["mixed_bfloat16"]][1])
    assert mixed.pop("mixed_precision") == "mixed_bfloat16"
    assert mixed == float32 and float32["jit_compile"] == "on"
    table = accuracy.format_table(
        [_run("navigator_xla", 0, 0.90), _run("navigator_bfloat16", 0, 0.92)]
    )
    assert (
        "hard: navigator with XLA, mixed bfloat16 - float32 = +0.020 "
        "(target within 0.010)" in table
    )


def test_an_output_that_is_not_the_benchmarks_json_is_named(tmp_path):
    output = tmp_path / "notes.json"
    output.write_text("[1, 2")
    with pytest.raises(ValueError, match="notes.json is not the JSON of an accuracy"):
        accuracy.run(["hard"], ["baseline"], [0], output=str(output))
    output.write_text("[1, 2]")
    with pytest.raises(ValueError, match="notes.json holds no accuracy runs"):
        accuracy.run(["hard"], ["baseline"], [0], output=str(output))


def _read(path):
    import json

    with open(path, encoding="utf-8") as file:
        return json.load(file)


@pytest.mark.parametrize("preset", list(accuracy.PRESETS))
def test_every_row_of_every_preset_is_a_valid_run(preset, tmp_path):
    for row in accuracy.ROWS:
        config = accuracy.row_config(preset, row, 1, str(tmp_path))
        config.validate()
        assert (
            config.seed == 1 and config.dataset == accuracy.PRESETS[preset]["dataset"]
        )
        # Given boxes only where the row looks at them.
        assert (config.boxes is not None) == (
            preset == "cub" and ROWS_WITH_BOXES.get(row, False)
        )


ROWS_WITH_BOXES = {"true_box": True, "true_box_separate": True}


def test_the_full_preset_is_the_papers_setting(tmp_path):
    config = accuracy.row_config("cub", "navigator", 0, str(tmp_path))
    assert (config.preset, config.weights, config.optimizer) == (
        "paper",
        "imagenet",
        "sgd",
    )
    # Not measured without asking: it downloads CUB and ImageNet weights.
    assert "cub" not in accuracy.DEFAULT_PRESETS


def test_the_full_preset_trains_on_mock_cub(tmp_path, monkeypatch):
    import tensorflow_datasets as tfds

    monkeypatch.setitem(
        accuracy.PRESETS,
        "cub",
        dict(
            accuracy.PRESETS["cub"],
            preset="cpu",
            weights=None,
            image_size=32,
            patch_size=16,
            batch_size=4,
            timesteps=2,
            lstm_units=8,
            addon_channels=8,
        ),
    )
    with tfds.testing.mock_data(num_examples=8):
        measured = accuracy.run_one("cub", "true_box", 0, str(tmp_path), epochs=1)
    assert measured["preset"] == "cub" and 0.0 <= measured["top1"] <= 1.0


def test_every_row_reports_its_cost_and_its_part_stream():
    runs = [
        _run(
            "navigator",
            0,
            0.8,
            local_top1=0.78,
            inference_gflops=0.1178,
            seconds_per_epoch=35.5,
        ),
        _run(
            "navigator",
            1,
            0.6,
            local_top1=0.58,
            inference_gflops=0.1178,
            seconds_per_epoch=34.5,
        ),
    ]
    row = next(
        line for line in accuracy.format_table(runs).splitlines() if "navigator" in line
    )
    assert row.startswith(
        "| hard | RRA, learned navigator, 2 parts (default) | "
        "0.700 ± 0.141 | 0.680 ± 0.141 |"
    )
    assert row.endswith("| 0.1178 ± 0.0000 | 35.0 ± 0.7 | 10 ± 0 |")
