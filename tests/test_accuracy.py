"""`keras-rra benchmark accuracy`: its rows train, and its table adds up."""

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
    assert (
        "| hard | RRA, learned navigator, 1 part (default) | 0.950 ± 0.071 | "
        "0.950 ± 0.071" in table
    )
    assert (
        "| hard | baseline, global view only (lower bound) | 0.110 ± 0.014 | – |"
        in (table)
    )
    assert "hard: navigator / true box = 0.950 (target >= 0.9)" in table
    assert "hard: navigator - baseline = +0.840 (target >= +0.30)" in table


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
