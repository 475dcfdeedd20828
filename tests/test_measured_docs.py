import json
import os

import pytest

from keras_rra.benchmarks import measured_docs
from keras_rra.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_the_readme_and_docs_say_what_was_measured():
    # README.md's headline number (0.921) was typed by hand, and the run
    # printed 0.9013; every measured number now comes from docs/results.
    paths = measured_docs.documents(ROOT)
    assert os.path.join(ROOT, "README.md") in paths
    found = measured_docs.differences(paths, os.path.join(ROOT, "docs", "results"))
    assert found == [], "\n".join(
        f"{path}: {name}: says {written!r}, measured {measured!r}"
        for path, name, written, measured in found
    )
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        readme = file.read()
    for name in ("default_run:test.accuracy", "ci:wall_time", "accuracy:hard:"):
        assert f"<!-- measured: {name}" in readme


@pytest.fixture
def results(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    record = {
        "command": "keras-rra train",
        "commit": "abc1234",
        "machine": {"cpu": "a CPU", "date": "2026-12-06"},
        "wall_seconds": 126.4,
        "test": {"accuracy": 0.90133},
    }
    (folder / "default_run.json").write_text(json.dumps(record))
    runs = [
        {"preset": "hard", "row": row, "seed": seed, "top1": top1, "train_seconds": 9}
        for seed, (base, nav) in enumerate([(0.1, 0.9), (0.2, 1.0)])
        for row, top1 in (("baseline", base), ("navigator", nav))
    ]
    accuracy = {"command": "c", "machine": {"date": "d"}, "runs": runs}
    (folder / "accuracy.json").write_text(json.dumps(accuracy))
    return str(folder)


def test_the_patch_statistics_probe_is_quoted_from_its_json(results):
    record = {"runs": {"plain": {"saved": {"top1": 0.61}, "patches": {"top1": 0.6}}}}
    with open(os.path.join(results, "patch_statistics.json"), "w") as file:
        json.dump(record, file)
    text = (
        "<!-- measured: patch_statistics:runs.plain.saved.top1 -->x<!-- /measured -->"
        " against <!-- measured: patch_statistics:runs.plain.patches.top1 -->"
        "<!-- /measured -->"
    )
    assert measured_docs.render(text, results) == (
        "<!-- measured: patch_statistics:runs.plain.saved.top1 -->0.610"
        "<!-- /measured --> against "
        "<!-- measured: patch_statistics:runs.plain.patches.top1 -->0.600"
        "<!-- /measured -->"
    )
    with pytest.raises(ValueError, match="has no value 'runs.faint.saved.top1'"):
        measured_docs.measured_text("patch_statistics:runs.faint.saved.top1", results)


def test_the_python_api_true_box_is_quoted_from_its_json(results):
    record = {"summary": {"top1": "0.997 ± 0.001", "top1_per_seed": "0.998, 0.996"}}
    with open(os.path.join(results, "true_box_api.json"), "w") as file:
        json.dump(record, file)
    name = "true_box_api:summary.top1_per_seed"
    text = f"seeds: <!-- measured: {name} -->x<!-- /measured -->"
    assert measured_docs.render(text, results) == (
        "seeds: <!-- measured: true_box_api:summary.top1_per_seed -->0.998, 0.996"
        "<!-- /measured -->"
    )


def test_markers_are_written_from_the_json_and_differences_found(results, tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "took <!-- measured: default_run:wall_time -->1 min<!-- /measured --> "
        "and printed <!-- measured: default_run:test.accuracy -->0.921"
        "<!-- /measured -->; navigator "
        "<!-- measured: accuracy:hard:navigator:top1 -->?<!-- /measured --> "
        "<!-- measured: accuracy-delta:hard:navigator:baseline:top1 -->?"
        "<!-- /measured -->\n"
    )
    found = measured_docs.differences([str(page)], results)
    assert [(name, written, measured) for _, name, written, measured in found] == [
        ("default_run:wall_time", "1 min", "2 min 6 s"),
        ("default_run:test.accuracy", "0.921", "0.901"),
        ("accuracy:hard:navigator:top1", "?", "0.950 ± 0.071"),
        ("accuracy-delta:hard:navigator:baseline:top1", "?", "+0.800"),
    ]
    assert measured_docs.write_documents([str(page)], results) == [str(page)]
    assert measured_docs.differences([str(page)], results) == []
    assert "printed <!-- measured: default_run:test.accuracy -->0.901<!--" in (
        page.read_text()
    )
    # Written once, nothing changes the second time.
    assert measured_docs.write_documents([str(page)], results) == []


def test_a_table_is_a_block_between_its_markers(results, tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- measured: accuracy:table -->\n<!-- /measured -->\n")
    measured_docs.write_documents([str(page)], results)
    text = page.read_text()
    assert text.startswith("<!-- measured: accuracy:table -->\n\n| preset |")
    assert "| hard | " in text


def test_the_part_task_rows_are_written_from_their_own_json(results, tmp_path):
    runs = [
        {"preset": "task_a", "row": "navigator", "seed": seed, "top1": top1}
        for seed, top1 in enumerate([0.8, 0.6])
    ]
    part_task = {"commands": ["keras-rra train a", "keras-rra train b"], "runs": runs}
    (tmp_path / "results" / "part_task.json").write_text(json.dumps(part_task))
    assert measured_docs.measured_text("part_task:task_a:navigator:top1", results) == (
        "0.700 ± 0.141"
    )
    assert measured_docs.measured_text("part_task:commands", results) == (
        "    keras-rra train a\n    keras-rra train b"
    )
    with pytest.raises(ValueError, match="part_task.json has no 'task_a:true_box"):
        measured_docs.measured_text("part_task:task_a:true_box:top1", results)


@pytest.mark.parametrize(
    "name, message",
    [
        ("nonsense", "Unknown measured value 'nonsense'"),
        ("default_run:test.top9", "default_run.json has no value 'test.top9'"),
        ("accuracy:easy:navigator:top1", "accuracy.json has no 'easy:navigator:top1'"),
        ("ci:wall_time", "ci.json does not exist: measure it first"),
        ("true_box_api:summary.top1", "true_box_api.json does not exist: measure"),
    ],
)
def test_unknown_names_are_one_sentence(results, name, message):
    with pytest.raises(ValueError, match=message):
        measured_docs.measured_text(name, results)


def test_the_command_checks_and_writes(results, tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results").symlink_to(results)
    (tmp_path / "README.md").write_text(
        "<!-- measured: default_run:test.accuracy -->0.921<!-- /measured -->\n"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["benchmark", "docs", "--check"]) == 1
    err = capsys.readouterr().err
    assert "says '0.921', measured '0.901'" in err
    assert main(["benchmark", "docs"]) == 0
    assert main(["benchmark", "docs", "--check"]) == 0
