import csv
import json
import os
import re
import sys
import time

import pytest

from keras_rra.cli import main
from keras_rra.training import TrainConfig
from keras_rra.tuning import tune
from keras_rra.tuning import tune_run
from tests.helpers import TINY_BASELINE_SEARCH as TINY_SEARCH
from tests.helpers import TINY_RRA_RUN as TINY_RRA
from tests.helpers import free_ports
from tests.helpers import run_processes

SCRIPT = os.path.join(os.path.dirname(__file__), "scripts", "tune_worker.py")


def _rows(directory):
    with open(os.path.join(directory, "trials.csv"), encoding="utf-8") as file:
        return list(csv.DictReader(file))


def test_a_failed_trial_is_recorded_and_the_search_goes_on(tmp_path):
    config = TrainConfig(**TINY_RRA)
    # A 48-px patch does not fit a 32-px image: that trial fails alone.
    summary = tune(
        config,
        search={"patch_size": [16, 48]},
        tune_names=["patch_size"],
        directory=str(tmp_path / "search"),
        max_trials=4,
        verbose=0,
    )
    rows = {row["patch_size"]: row for row in _rows(summary["directory"])}
    assert set(rows) == {"16", "48"}
    assert rows["48"]["status"] == "FAILED"
    assert "patch_size=48 is larger than the image" in rows["48"]["error"]
    assert rows["16"]["status"] == "COMPLETED"
    assert summary["best_values"] == {"patch_size": 16}
    assert summary["completed"] == 1


def test_search_settings_are_checked_before_any_trial(tmp_path, capsys):
    base = [*TINY_SEARCH, "--directory", str(tmp_path / "d")]
    for extra, message in (
        (["--max-trials", "0"], "--max-trials must be >= 1"),
        (["--objective", "f1"], "Unknown --objective='f1'.*val_accuracy.*val_loss"),
        (["--objective", "val_top5_accuracy"], "needs 6 classes or more"),
        (["--search", "learning_rate=1e-2:1e-4"], "low must be <= its high"),
        (["--search", "dropout="], "the range of dropout is empty"),
        (
            ["--tune", "timesteps"],
            "cannot tune timesteps: not in the search space of 'baseline'",
        ),
        (["--strategy", "multiworker"], "multiworker does not apply"),
    ):
        assert main([*base, *extra]) == 1, extra
        error = capsys.readouterr().err
        assert error.startswith("keras-rra tune: error:"), error
        assert re.search(message, error), (message, error)
    assert not os.path.exists(tmp_path / "d" / "search")


def test_bayesian_without_its_packages_is_refused(monkeypatch):
    real = tune_run.importlib.util.find_spec
    monkeypatch.setattr(
        tune_run.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "sklearn" else real(name, *a),
    )
    with pytest.raises(ValueError, match="needs scikit-learn.*pip install scikit"):
        tune_run.check_tuner_packages("bayesian")
    tune_run.check_tuner_packages("random")


def test_a_worker_without_its_oracle_stops_in_bounded_time(tmp_path, monkeypatch):
    (port,) = free_ports(1)
    monkeypatch.setenv("KERASTUNER_ORACLE_IP", "127.0.0.1")
    monkeypatch.setenv("KERASTUNER_ORACLE_PORT", str(port))
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "tuner1")
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=f"oracle at 127.0.0.1:{port}.*within 2 s"):
        tune(
            TrainConfig(**TINY_RRA, connect_timeout=2),
            directory=str(tmp_path / "search"),
        )
    assert time.monotonic() - start < 30
    monkeypatch.delenv("KERASTUNER_TUNER_ID")
    with pytest.raises(ValueError, match="KERASTUNER_TUNER_ID is not"):
        tune_run.distributed_role()


@pytest.mark.slow
def test_a_chief_and_two_workers_share_one_search(tmp_path):
    (port,) = free_ports(1)
    directory = str(tmp_path / "search")
    argv = [sys.executable, "-m", "keras_rra", *TINY_SEARCH]
    argv += ["--directory", directory, "--max-trials", "4"]
    commands = []
    for tuner_id in ("chief", "tuner1", "tuner2"):
        env = dict(
            os.environ,
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=str(port),
        )
        commands.append((argv, env))
    codes, outputs = run_processes(commands, timeout=400)
    assert codes == [0, 0, 0], [err[-1500:] for _, err in outputs]
    chief = json.loads(outputs[0][0].strip().splitlines()[-1])
    workers = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs[1:]]
    ran = [worker["trials_run"] for worker in workers]
    # Each worker ran trials, none ran twice, the chief ran none.
    assert all(ran), ran
    assert sorted(ran[0] + ran[1]) == sorted(set(ran[0] + ran[1]))
    assert len(ran[0] + ran[1]) == 4
    assert chief["trials_run_here"] == []
    assert chief["completed"] == 4
    assert os.path.isfile(chief["best_config"])


@pytest.mark.slow
def test_a_trial_under_a_mirrored_strategy(tmp_path):
    output = str(tmp_path / "mirrored.json")
    codes, outputs = run_processes(
        [
            (
                [sys.executable, SCRIPT, "mirrored", str(tmp_path / "s"), output],
                dict(os.environ),
            )
        ],
        timeout=300,
    )
    assert codes == [0], outputs[0][1][-2000:]
    with open(output, encoding="utf-8") as file:
        result = json.load(file)
    assert result["fits"] == [{"replicas": 2, "mirrored_variables": True}]
    assert result["summary"]["completed"] == 1


@pytest.mark.parametrize("tuner", ["hyperband", "bayesian"])
def test_hyperband_and_bayesian_searches(tuner, tmp_path):
    config = TrainConfig(
        model="baseline",
        backbone="tiny",
        image_size=32,
        num_classes=3,
        examples_per_class=6,
        test_examples_per_class=2,
        batch_size=6,
        epochs=2,
    )
    summary = tune(
        config,
        tune_names=["learning_rate"],
        tuner=tuner,
        max_trials=2,
        directory=str(tmp_path / tuner),
        verbose=0,
    )
    rows = _rows(summary["directory"])
    # Hyperband stops at the trial budget, its trials with their epochs.
    assert len(rows) == 2 and summary["completed"] == 2
    if tuner == "hyperband":
        assert {row["epochs"] for row in rows} <= {"1", "2"}
    assert 1e-4 <= summary["best_values"]["learning_rate"] <= 1e-2
