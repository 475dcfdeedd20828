"""`keras-rra benchmark all`: BENCHMARKS.md and its plots, from the JSON of
both parts, and a run that goes on from what is already measured."""

import json

import pytest

from keras_rra.benchmarks import accuracy
from keras_rra.benchmarks import report
from keras_rra.benchmarks import speed
from tests.helpers import BENCHMARK_MACHINE
from tests.helpers import BENCHMARK_TOP1 as TOP1
from tests.helpers import fake_accuracy_runs as _accuracy_runs
from tests.helpers import fake_speed_result as _speed_result


def test_verdicts_say_where_rra_does_not_beat_the_baseline():
    runs = _accuracy_runs()
    [sentence] = report.verdicts(runs)
    assert "hard preset, RRA with its learned navigator (0.960 ± 0.010) beats" in (
        sentence
    )
    tied = _accuracy_runs(top1={"baseline": 0.9, "navigator": 0.905})
    assert "does not beat the baseline beyond the spread" in report.verdicts(tied)[0]
    worse = _accuracy_runs(top1={"baseline": 0.9, "navigator": 0.5})
    assert "is worse than the baseline" in report.verdicts(worse)[0]


def test_ablation_verdicts_say_whether_the_setting_matters():
    sentences = report.ablation_verdicts(_accuracy_runs(ablations=True))
    assert sentences == [
        "The number of refinement steps T changes top-1 by more than the spread "
        "of the seeds on the hard preset (1: 0.810 ± 0.010, 4: 0.910 ± 0.010, "
        "10: 0.960 ± 0.010).",
        "Coarse2Fine's initial attention kernel changes top-1 by more than the "
        "spread of the seeds on the hard preset (orthogonal: 0.980 ± 0.010, "
        "he-normal: 0.910 ± 0.010).",
    ]
    saturated = _accuracy_runs(top1={"navigator": 1.0, "navigator_t1": 0.995,
                                     "navigator_t4": 1.0}, ablations=True)  # fmt: skip
    assert (
        "T does not change top-1 beyond the spread"
        in (report.ablation_verdicts(saturated)[0])
    )


def test_the_report_has_every_table_with_machine_and_command(tmp_path):
    precision_rows = [
        dict(preset="hard", row=row, seed=seed, top1=top1, train_seconds=1.0)
        for row, top1 in (("navigator_xla", 0.95), ("navigator_bfloat16", 0.94))
        for seed in (0, 1)
    ]
    # A quicker call's run (another epochs override) is not in the report.
    quick = dict(precision_rows[0], row="baseline", top1=0.0, epochs_override=1)
    accuracy_result = {
        "runs": _accuracy_runs(ablations=True) + precision_rows + [quick],
        "machine": BENCHMARK_MACHINE,
        "command": "keras-rra benchmark accuracy --rows navigator_xla",
        "commands": [
            "keras-rra benchmark accuracy",
            "keras-rra benchmark accuracy --rows navigator_xla",
        ],
        "minutes": 41.0,
    }
    path = report.write_report(str(tmp_path), accuracy_result, _speed_result())
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert path == str(tmp_path / "BENCHMARKS.md")
    assert "Machine: Test CPU, 2 cores, 24.0 GiB, 2026-12-03" in text
    assert (
        "Commands: `keras-rra benchmark accuracy`, then `keras-rra benchmark "
        "accuracy --rows navigator_xla` (41.0 min in all)" in text
    )
    assert "| hard | baseline, global view only (lower bound) | 0.110 ± 0.010 |" in (
        text
    )
    assert "### Mixed bfloat16's accuracy" in text
    assert (
        "- hard: navigator with XLA, mixed bfloat16 - float32 = -0.010 "
        "(target within 0.010)" in text
    )
    assert "`keras-rra benchmark speed` (12.5 min)" in text
    assert "| hard | RRA, learned navigator, T = 1 | 0.810 ± 0.010 |" in text
    assert "- hard: navigator top-1 against T: T=1 0.810, T=4 0.910, T=10 0.960" in (
        text
    )
    assert "Coarse2Fine orthogonal - he-normal attention init = +0.070" in text
    assert "| rra-navigator | 10 | off | float32 | model.fit | 190.0 |" in text
    assert "| coarse2fine | – | off | float32 | Trainer | failed: timed out" in text
    assert "RRA time(T=10) / time(T=1), XLA off: 1.111" in text
    assert "mixed bfloat16 over float32, baseline XLA off: 0.10x" in text
    assert "small rra-navigator: Trainer / model.fit images/s = 0.947" in text
    assert "gives 1700.0 images/s" in text and "| onnx | 0.93 | 0.26 | 0.90 |" in text
    for name in report.PLOTS:
        png = (tmp_path / name).read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 5000
        assert f"]({name})" in text


def test_all_goes_on_from_the_measured_parts(tmp_path, monkeypatch):
    trained, measured = [], []

    def fake_run_one(preset, row, seed, folder, epochs=None):
        trained.append((preset, row, seed))
        return dict(preset=preset, row=row, seed=seed, top1=TOP1.get(row, 0.5),
                    train_seconds=1.0)  # fmt: skip

    def fake_speed(progress=None, **options):
        measured.append(options)
        return _speed_result()

    monkeypatch.setattr(accuracy, "run_one", fake_run_one)
    monkeypatch.setattr(speed, "benchmark_speed", fake_speed)
    folder = tmp_path / "results"
    # Half the accuracy runs are already there: they are kept.
    done = [run for run in _accuracy_runs(accuracy.DEFAULT_PRESETS) if run["seed"] == 0]
    folder.mkdir()
    (folder / "accuracy.json").write_text(json.dumps({"runs": done, "minutes": 5.0}))
    lines = []
    report.benchmark_all(
        str(folder), command="keras-rra benchmark all", progress=lines.append
    )
    assert len(trained) == 2 * len(done) and ("hard", "baseline", 0) not in trained
    assert len(measured) == 1
    written = json.loads((folder / "speed.json").read_text())
    assert written["command"] == "keras-rra benchmark all"
    assert (folder / "BENCHMARKS.md").is_file()
    # A second call measures nothing; --again measures both parts again.
    trained.clear()
    lines.clear()
    report.benchmark_all(str(folder), progress=lines.append)
    assert trained == [] and len(measured) == 1
    assert lines[-1].startswith("speed benchmark: reusing")
    report.benchmark_all(str(folder), again=True)
    everything = _accuracy_runs(accuracy.DEFAULT_PRESETS)
    assert len(trained) == len(everything) and len(measured) == 2


def test_report_only_measures_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("measured")

    monkeypatch.setattr(accuracy, "run_one", fail)
    monkeypatch.setattr(speed, "benchmark_speed", fail)
    with pytest.raises(ValueError, match="missing .*accuracy.json"):
        report.benchmark_all(str(tmp_path), report_only=True)
    # Only the hard preset's runs so far: the report shows what was measured.
    runs = _accuracy_runs(("hard",), ablations=True)
    (tmp_path / "accuracy.json").write_text(
        json.dumps(
            {"runs": runs, "minutes": 3.0, "command": "c", "machine": BENCHMARK_MACHINE}
        )
    )
    (tmp_path / "speed.json").write_text(json.dumps(_speed_result()))
    report.benchmark_all(str(tmp_path), report_only=True)
    text = (tmp_path / "BENCHMARKS.md").read_text()
    assert "| hard | RRA, learned navigator, T = 4 |" in text and "| easy |" not in text
    assert "The easy preset has no run in this report yet" in text


def test_bad_output_folders_and_files_are_named(tmp_path):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    with pytest.raises(ValueError, match="notes.txt' is a file, not a folder"):
        report.benchmark_all(str(afile))
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "accuracy.json").write_text(
        json.dumps({"runs": _accuracy_runs(accuracy.DEFAULT_PRESETS)})
    )
    (folder / "speed.json").write_text("{")
    with pytest.raises(ValueError, match="speed.json is not a benchmark's JSON"):
        report.benchmark_all(str(folder))
