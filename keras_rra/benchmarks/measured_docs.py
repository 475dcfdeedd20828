"""Numbers in the README and the docs, written from measured JSON.

A measured number (or table) in a Markdown file sits between two HTML
comments, which neither GitHub nor MkDocs shows:

    top-1 <!-- measured: default_run:test.accuracy -->0.901<!-- /measured -->

`keras-rra benchmark docs` rewrites the text between them from the JSON in
`docs/results/`; `--check` (and a test) fails when a file says something
else. Names:

- `default_run:KEY.PATH`: a value of `default_run.json` (the measured
  `keras-rra train`), three decimals; `default_run:wall_time` its wall time
  as "2 min 6 s"; `default_run:date`, `default_run:commit`.
- `accuracy:table`: the accuracy benchmark's whole table;
  `accuracy:ratios`: its lines of ratios and differences, as a list;
  `accuracy:PRESET:ROW:METRIC`: one row's mean ± std over the seeds;
  `accuracy-delta:PRESET:ROW:OTHER:METRIC`: the difference of two rows'
  means, signed; `accuracy:command`, `accuracy:date`.
- `part_task:...` and `part_task-delta:...`: the same names for
  `part_task.json`, the rows measured on an external part task (task a of
  `../shared/part_tasks`); `part_task:commands` lists its commands.
- `ci:wall_time`, `ci:tests`, `ci:date`, `ci:commit`, `ci:cpu`: the CI time
  measured on a fresh clone (`ci.json`).
- `true_box_api:KEY.PATH`: a value of `true_box_api.json`, the true-box
  RRA trained on task a through the Python API
  (`docs/scripts/true_box_api.py`), e.g. `true_box_api:summary.top1`.
- `patch_statistics:KEY.PATH`: a value of `patch_statistics.json`, what
  the part stream's moving statistics cost trained navigator models
  (`docs/scripts/patch_statistics.py`), e.g.
  `patch_statistics:runs.distractors_attention.saved.top1`.
"""

import json
import os
import re

from keras_rra.training.run_progress import format_seconds

MARKER = re.compile(
    r"<!-- measured: (?P<name>[^>]+?) -->(?P<text>.*?)<!-- /measured -->", re.S
)
RESULTS = "docs/results"
# Where measured numbers may appear: the README and every page of the site.
DOCUMENTS = ("README.md", "docs")


def _read(results_dir, name):
    path = os.path.join(results_dir, name)
    if not os.path.isfile(path):
        raise ValueError(f"{path} does not exist: measure it first.")
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _path(values, dotted, source):
    value = values
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ValueError(f"{source} has no value {dotted!r}.")
        value = value[part]
    return value


def _number(value):
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _recorded(results_dir, file, key):
    values = _read(results_dir, file)
    if key == "wall_time":
        return format_seconds(values["wall_seconds"])
    if key == "cpu":
        return values["machine"]["cpu"]
    if key == "date":
        return values["machine"]["date"]
    return _number(_path(values, key, file))


def _accuracy(results_dir, parts, delta=False, file="accuracy.json"):
    from keras_rra.benchmarks.accuracy import _cell
    from keras_rra.benchmarks.accuracy import format_table
    from keras_rra.benchmarks.accuracy import mean_std
    from keras_rra.benchmarks.accuracy import summarise

    result = _read(results_dir, file)
    if parts == ["table"]:
        return format_table(result["runs"]).split("\n\n")[0]
    if parts == ["ratios"]:
        lines = format_table(result["runs"]).split("\n\n", 1)[1].strip()
        return "\n".join(f"- {line}" for line in lines.splitlines())
    if parts == ["command"]:
        return result["command"]
    if parts == ["commands"]:
        return "\n".join(f"    {command}" for command in result["commands"])
    if parts == ["date"]:
        return result["machine"]["date"]
    table = summarise(result["runs"])
    if delta and len(parts) == 4:
        preset, row, other, metric = parts
        first, second = (
            table.get((preset, name), {}).get(metric) for name in (row, other)
        )
        if first and second:
            return f"{mean_std(first)[0] - mean_std(second)[0]:+.3f}"
    elif not delta and len(parts) == 3:
        preset, row, metric = parts
        values = table.get((preset, row), {}).get(metric)
        if values:
            return _cell(values, one_seed_said=True)
    raise ValueError(f"{file} has no {':'.join(parts)!r}.")


def measured_text(name, results_dir=RESULTS):
    """The text a marker named `name` stands for (see the module)."""
    kind, _, rest = name.partition(":")
    if kind in ("default_run", "ci", "true_box_api", "patch_statistics") and rest:
        return _recorded(results_dir, f"{kind}.json", rest)
    if kind in ("accuracy", "accuracy-delta") and rest:
        return _accuracy(results_dir, rest.split(":"), delta=kind != "accuracy")
    if kind in ("part_task", "part_task-delta") and rest:
        return _accuracy(
            results_dir,
            rest.split(":"),
            delta=kind != "part_task",
            file="part_task.json",
        )
    raise ValueError(
        f"Unknown measured value {name!r}: see keras_rra.benchmarks.measured_docs."
    )


def render(text, results_dir=RESULTS):
    """`text` with every marker's content written from the JSON."""

    def replace(match):
        value = measured_text(match["name"].strip(), results_dir)
        # A block (a table, a list) keeps its own paragraph between the
        # markers, so that Markdown reads it as one.
        if "\n" in value:
            value = f"\n\n{value}\n\n"
        return f"<!-- measured: {match['name']} -->{value}<!-- /measured -->"

    return MARKER.sub(replace, text)


def documents(root="."):
    """The README and every Markdown page under `docs/`."""
    paths = []
    for entry in DOCUMENTS:
        path = os.path.join(root, entry)
        if os.path.isfile(path):
            paths.append(path)
        for folder, _, names in sorted(os.walk(path)):
            paths += [
                os.path.join(folder, name)
                for name in sorted(names)
                if name.endswith(".md")
            ]
    return paths


def differences(paths, results_dir=RESULTS):
    """`[(path, name, written, measured)]` for every marker whose text is
    not the measured one."""
    found = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        for match in MARKER.finditer(text):
            measured = measured_text(match["name"].strip(), results_dir)
            if match["text"].strip() != measured.strip():
                found.append((path, match["name"], match["text"].strip(), measured))
    return found


def write_documents(paths, results_dir=RESULTS):
    """Rewrites the markers of `paths` from the JSON; returns the paths
    that changed."""
    changed = []
    for path in paths:
        with open(path, encoding="utf-8") as file:
            text = file.read()
        new = render(text, results_dir)
        if new != text:
            partial = f"{path}.partial"
            with open(partial, "w", encoding="utf-8") as file:
                file.write(new)
            os.replace(partial, path)
            changed.append(path)
    return changed
