"""`keras-rra benchmark all`: the accuracy and speed benchmarks, written up.

It runs `benchmark accuracy` and `benchmark speed` (each part resumes from
its JSON in the output folder, so an interrupted run goes on where it
stopped and a finished part is not measured again), then writes
`BENCHMARKS.md` and three PNG plots beside the JSON:

- `accuracy.png`: top-1 of every row with its seeds' standard deviation,
  between the lower bound (the global view) and the upper bound (the true
  part box);
- `timesteps.png`: top-1 against the number of refinement steps T;
- `speed.png`: training images/s and the fraction of the matmul peak by
  model and precision.

Every table names the machine, the date and the exact command.
"""

import json
import os

from keras_rra.benchmarks import accuracy
from keras_rra.benchmarks.accuracy import mean_std
from keras_rra.benchmarks.machine import format_machine
from keras_rra.benchmarks.speed import SPEED_SETTING_NAMES
from keras_rra.benchmarks.speed import describe_setting
from keras_rra.utils.png_figures import new_figure
from keras_rra.utils.png_figures import save_png

ACCURACY_FILE = "accuracy.json"
SPEED_FILE = "speed.json"
REPORT_FILE = "BENCHMARKS.md"
PLOTS = ("accuracy.png", "timesteps.png", "speed.png")
# Okabe-Ito: readable for colour-blind eyes.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9")


def verdicts(runs):
    """One sentence per preset: does the learned navigator beat the global
    view alone, beyond the spread of the seeds?"""
    table = accuracy.summarise(runs)
    sentences = []
    for preset in accuracy.PRESETS:
        learned = table.get((preset, "navigator"), {}).get("top1")
        lower = table.get((preset, "baseline"), {}).get("top1")
        if not learned or not lower:
            continue
        (mean, std), (base, base_std) = mean_std(learned), mean_std(lower)
        gap = mean - base
        spread = max(std, base_std)
        if gap > spread:
            verdict = "beats the baseline by more than the spread of the seeds"
        elif gap >= -spread:
            verdict = "does not beat the baseline beyond the spread of the seeds"
        else:
            verdict = "is worse than the baseline by more than the spread of the seeds"
        sentences.append(
            f"On the {preset} preset, RRA with its learned navigator ({mean:.3f} ± "
            f"{std:.3f}) {verdict} (baseline {base:.3f} ± {base_std:.3f}, "
            f"difference {gap:+.3f})."
        )
    return sentences


def _separates(summaries):
    """Whether the highest and lowest of `(mean, std)` pairs differ by more
    than the larger spread of the two."""
    high = max(summaries, key=lambda pair: pair[0])
    low = min(summaries, key=lambda pair: pair[0])
    return high[0] - low[0] > max(high[1], low[1])


def ablation_verdicts(runs):
    """One sentence per preset and ablation: does T, or Coarse2Fine's
    initial attention kernel, change top-1 beyond the spread of the seeds?"""
    table = accuracy.summarise(runs)
    sentences = []
    for preset in accuracy.PRESETS:
        for what, rows in (
            ("The number of refinement steps T", accuracy.TIMESTEP_ROWS),
            ("Coarse2Fine's initial attention kernel", accuracy.ATTENTION_INIT_ROWS),
        ):
            cells = {
                value: mean_std(table[(preset, row)]["top1"])
                for value, row in rows.items()
                if (preset, row) in table
            }
            if len(cells) < 2:
                continue
            listed = ", ".join(
                f"{value}: {mean:.3f} ± {std:.3f}"
                for value, (mean, std) in cells.items()
            )
            verdict = (
                "changes top-1 by more than the spread of the seeds"
                if _separates(list(cells.values()))
                else "does not change top-1 beyond the spread of the seeds"
            )
            sentences.append(f"{what} {verdict} on the {preset} preset ({listed}).")
    return sentences


def _precision_section(lines):
    """Mixed bfloat16's top-1 against float32's, when both rows ran."""
    if not lines:
        return []
    return [
        "### Mixed bfloat16's accuracy",
        "",
        "The navigator row trained with XLA in float32 and in mixed bfloat16 "
        "(`navigator_xla`, `navigator_bfloat16`; XLA in both, as bfloat16 "
        "is slow without it on a CPU without bfloat16 instructions):",
        "",
        *[f"- {line}" for line in lines],
        "",
    ]


def _not_measured(runs):
    """A sentence per default preset without any run yet."""
    measured = {run["preset"] for run in runs}
    return [
        f"The {preset} preset has no run in this report yet: `keras-rra "
        "benchmark all` on the same folder goes on with it."
        for preset in accuracy.DEFAULT_PRESETS
        if preset not in measured
    ]


def accuracy_figure(runs):
    """Top-1 by row with error bars, the two bounds as lines, per preset."""
    table = accuracy.summarise(runs)
    presets = [p for p in accuracy.PRESETS if any(key[0] == p for key in table)]
    figure = new_figure(5.5 * max(1, len(presets)), 4.2)
    axes = figure.subplots(1, max(1, len(presets)), squeeze=False)[0]
    for axis, preset in zip(axes, presets, strict=False):
        rows = [row for (name, row) in table if name == preset]
        means, stds = zip(
            *(mean_std(table[(preset, row)]["top1"]) for row in rows), strict=True
        )
        positions = range(len(rows))
        colours = [
            COLOURS[3]
            if row == "baseline"
            else COLOURS[2]
            if row == "true_box"
            else COLOURS[0]
            if row.startswith("navigator")
            else COLOURS[1]
            for row in rows
        ]
        axis.bar(positions, means, yerr=stds, color=colours, capsize=3)
        for row, style, label in (
            ("baseline", "--", "lower bound (global view)"),
            ("true_box", ":", "upper bound (true part box)"),
        ):
            if (preset, row) in table:
                mean = mean_std(table[(preset, row)]["top1"])[0]
                axis.axhline(mean, linestyle=style, color="black", label=label)
        axis.set_xticks(list(positions), rows, rotation=45, ha="right")
        axis.set_ylim(0, 1.05)
        axis.set_ylabel("test top-1 (mean ± std over seeds)")
        axis.set_title(f"{preset} preset")
        axis.legend(loc="lower right", fontsize="small")
    return figure


def timesteps_figure(runs):
    """Top-1 of the navigator against T, per preset that measured it."""
    table = accuracy.summarise(runs)
    figure = new_figure(5.0, 3.6)
    axis = figure.subplots()
    for index, preset in enumerate(accuracy.PRESETS):
        points = [
            (steps, *mean_std(table[(preset, row)]["top1"]))
            for steps, row in accuracy.TIMESTEP_ROWS.items()
            if (preset, row) in table
        ]
        if len(points) < 2:
            continue
        steps, means, stds = zip(*points, strict=True)
        axis.errorbar(
            steps,
            means,
            yerr=stds,
            marker="o",
            capsize=3,
            color=COLOURS[index],
            label=f"{preset}: navigator",
        )
        if (preset, "baseline") in table:
            axis.axhline(
                mean_std(table[(preset, "baseline")]["top1"])[0],
                linestyle="--",
                color=COLOURS[index],
                alpha=0.6,
                label=f"{preset}: lower bound",
            )
    axis.set_xlabel("refinement steps T")
    axis.set_ylabel("test top-1 (mean ± std over seeds)")
    axis.set_ylim(0, 1.05)
    axis.legend(fontsize="small")
    return figure


def _speed_rows(speed, setting):
    """The Trainer rows of `setting` at its T, by precision and XLA mode."""
    longest = speed["settings"][setting]["model"]["timesteps"]
    return [
        row
        for row in speed["rows"]
        if row["setting"] == setting
        and row["runner"] == "trainer"
        and row["timesteps"] in (None, longest)
        and "images_per_second" in row
    ]


def speed_figure(speed):
    """images/s and % of peak by model, precision and XLA mode, per
    setting."""
    settings = _in_order(speed["settings"])
    figure = new_figure(6.0 * len(settings), 6.0)
    axes = figure.subplots(2, len(settings), squeeze=False)
    for column, setting in enumerate(settings):
        rows = _speed_rows(speed, setting)
        models = list(dict.fromkeys(row["model"] for row in rows))
        series = list(dict.fromkeys((row["precision"], row["jit"]) for row in rows))
        width = 0.8 / max(1, len(series))
        for index, (precision, mode) in enumerate(series):
            by_model = {
                row["model"]: row
                for row in rows
                if (row["precision"], row["jit"]) == (precision, mode)
            }
            positions = [m + index * width for m in range(len(models))]
            for axis, key, scale in (
                (axes[0][column], "images_per_second", 1),
                (axes[1][column], "fraction_of_peak", 100),
            ):
                axis.bar(
                    positions,
                    [by_model[m][key] * scale if m in by_model else 0 for m in models],
                    width,
                    color=COLOURS[index % len(COLOURS)],
                    label=f"{precision}, XLA {mode}",
                )
        for axis, label in (
            (axes[0][column], "training images/s"),
            (axes[1][column], "% of the matmul peak"),
        ):
            axis.set_xticks(
                [m + width * (len(series) - 1) / 2 for m in range(len(models))],
                models,
                rotation=30,
                ha="right",
            )
            axis.set_ylabel(label)
            axis.legend(fontsize="small")
        axes[0][column].set_title(f"{setting} setting")
    return figure


def _in_order(names, first=SPEED_SETTING_NAMES):
    """`names` with those of `first` first, in that order: the JSON's keys
    come back sorted."""
    return [name for name in first if name in names] + sorted(
        name for name in names if name not in first
    )


def _rate(images_per_second):
    return (
        f"{images_per_second:.2f}"
        if images_per_second < 10
        else (f"{images_per_second:.1f}")
    )


def _markdown_speed(speed, setting):
    lines = [
        "| model | T | XLA | precision | loop | images/s | GFLOP/image | GFLOP/s "
        "| % of peak | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in speed["rows"]:
        if row["setting"] != setting:
            continue
        loop = "Trainer" if row["runner"] == "trainer" else "model.fit"
        head = (
            f"| {row['model']} | {row['timesteps'] or '–'} | {row['jit']} | "
            f"{row['precision']} | {loop} |"
        )
        if "error" in row:
            lines.append(f"{head} failed: {row['error']} | | | | |")
            continue
        rate = _rate(row["images_per_second"])
        lines.append(
            f"{head} {rate} | {row['gflop_per_image']:.3f} | "
            f"{row['gflops_per_second']:.1f} | {100 * row['fraction_of_peak']:.1f} | "
            f"{row['peak_memory_mb']:.0f} |"
        )
    return lines


def _markdown_export(export):
    batches = export["settings"]["batch_sizes"]
    lines = [
        "| format | MB | " + " | ".join(f"ms at batch {b}" for b in batches) + " |",
        "|---|---|" + "---|" * len(batches),
    ]
    for row in export["rows"]:
        lines.append(
            f"| {row['format']} | {row['size_mb']:.2f} | "
            + " | ".join(f"{row[f'median_ms_batch_{b}']:.2f}" for b in batches)
            + " |"
        )
    return lines


def write_report(folder, accuracy_result, speed_result):
    """Writes `BENCHMARKS.md` and the plots into `folder`; returns the
    report's path."""
    # A file can hold runs of other epoch overrides: the report is of the
    # latest call's.
    epochs = accuracy_result.get("epochs_override")
    runs = [r for r in accuracy_result["runs"] if r.get("epochs_override") == epochs]
    commands = accuracy_result.get("commands") or [accuracy_result["command"]]
    save_png(accuracy_figure(runs), os.path.join(folder, "accuracy.png"))
    save_png(speed_figure(speed_result), os.path.join(folder, "speed.png"))
    table = accuracy.format_table(runs)
    markdown = table.split("\n\n")[0]
    ratios = [line for line in table.split("\n\n", 1)[-1].splitlines() if line]
    ablations = [
        line for line in ratios if "against T" in line or "attention init" in line
    ]
    timesteps_png = os.path.join(folder, "timesteps.png")
    if any("against T" in line for line in ablations):
        save_png(timesteps_figure(runs), timesteps_png)
        ablation_lines = [
            "Looking longer (T, the navigator row with 1, 4 and 10 refinement "
            "steps) and Coarse2Fine's orthogonal against a he-normal initial "
            "attention kernel, from the same runs:",
            "",
            *[f"- {line}" for line in ablations],
            "",
            *ablation_verdicts(runs),
            "",
            "![Top-1 against T](timesteps.png)",
        ]
    else:
        # A plot left from earlier runs would not be of these.
        if os.path.exists(timesteps_png):
            os.remove(timesteps_png)
        ablation_lines = [
            "Not in these runs: they are measured on request, with "
            "`keras-rra benchmark accuracy --rows "
            + ",".join(
                row
                for row in [
                    *accuracy.TIMESTEP_ROWS.values(),
                    *accuracy.ATTENTION_INIT_ROWS.values(),
                ]
                if row not in accuracy.DEFAULT_ROWS["hard"]
            )
            + "` (the navigator with T = 1 and 4 refinement steps, Coarse2Fine "
            "with a he-normal initial attention kernel).",
        ]
    precision = [line for line in ratios if "mixed bfloat16" in line]
    lines = [
        "# Benchmarks",
        "",
        "Written by `keras-rra benchmark all` from the JSON beside this file "
        f"(`{ACCURACY_FILE}`, `{SPEED_FILE}`): every number below was "
        "measured, on the machine and with the command given above its table.",
        "",
        "## Where to look: accuracy between the two bounds",
        "",
        f"Machine: {format_machine(accuracy_result['machine'])}. "
        f"Command{'s' if len(commands) > 1 else ''}: "
        + ", then ".join(f"`{command}`" for command in commands)
        + f" ({accuracy_result['minutes']:.1f} min in all). "
        "Rows share the backbone, data, epochs, batch and optimiser of their "
        "preset; mean ± std over the seeds.",
        "",
        markdown,
        "",
        *[f"- {line}" for line in ratios if line not in ablations + precision],
        "",
        *verdicts(runs),
        *_not_measured(runs),
        "",
        "![Top-1 of every row between the two bounds](accuracy.png)",
        "",
        "### Ablations",
        "",
        *ablation_lines,
        "",
        *_precision_section(precision),
        "## Training speed against the machine's peak",
        "",
        f"Machine: {format_machine(speed_result['machine'])}. Command: "
        f"`{speed_result['command']}` ({speed_result['minutes']:.1f} min). "
        "Dense matmul peaks: "
        + ", ".join(
            f"{dtype} {speed_result['peak_gflops'][dtype]:.1f} GFLOP/s"
            for dtype in _in_order(speed_result["peak_gflops"], ("float32",))
        )
        + ". FLOPs are counted from each training step's graph.",
    ]
    for setting in _in_order(speed_result["settings"]):
        model = speed_result["settings"][setting]["model"]
        lines += [
            "",
            f"### {setting} setting: {describe_setting(model)}",
            "",
            *_markdown_speed(speed_result, setting),
            "",
        ]
        ratios = speed_result["ratios"][setting]
        for mode, ratio in ratios["time_ratio_longest_to_shortest"].items():
            lines.append(
                f"- RRA time(T={model['timesteps']}) / time(T=1), XLA {mode}: "
                f"{ratio:.3f}"
            )
        for key, value in ratios["xla_speedup"].items():
            lines.append(f"- XLA speed-up, {key}: {value:.2f}x")
        for key, value in ratios["bfloat16_speedup"].items():
            lines.append(f"- mixed bfloat16 over float32, {key}: {value:.2f}x")
    if speed_result["trainer_over_fit"]:
        lines += [
            "",
            "### The Trainer against `model.fit`",
            "",
            "One model, one optimizer and one in-memory batch, trained in "
            "blocks that alternate the Trainer and Keras' `model.fit` in one "
            "process (separate processes differed by up to 20% from run to "
            "run here); the median of the blocks' ratios (target >= 0.95). "
            "The model.fit rows above are that process's: their images/s are "
            "fit's median block, their peak memory holds both loops.",
            "",
        ]
        lines += [
            f"- {key}: Trainer / model.fit images/s = {ratio:.3f}"
            for key, ratio in speed_result["trainer_over_fit"].items()
        ]
    if speed_result.get("data"):
        data = speed_result["data"]
        lines += [
            "",
            "### Input pipeline",
            "",
            f"The `{data['dataset']}` pipeline gives "
            f"{data['pipeline_images_per_second']} images/s; the {data['model']} "
            f"training step takes {data['train_images_per_second']} "
            f"(ratio {data['ratio']}; 3 or more: training never waits for data).",
        ]
    for label, export in speed_result.get("export", {}).items():
        lines += ["", f"### Export: {label} (first setting)", ""]
        lines += _markdown_export(export)
    lines += ["", "![Training images/s and % of peak](speed.png)", ""]
    path = os.path.join(folder, REPORT_FILE)
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        file.write("\n".join(lines))
    os.replace(partial, path)
    return path


def _read_json(path):
    with open(path, encoding="utf-8") as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path} is not a benchmark's JSON ({error}); move it away or "
                "run with --again."
            ) from None


def benchmark_all(
    folder,
    again=False,
    report_only=False,
    command=None,
    accuracy_options=None,
    speed_options=None,
    progress=None,
):
    """Runs (or resumes) both benchmarks into `folder` and writes the report.

    Args:
        folder: where `accuracy.json`, `speed.json`, `BENCHMARKS.md` and the
            plots go; created if missing.
        again: measure both parts again instead of going on from their JSON.
        report_only: measure nothing; write the report from the JSON already
            in `folder` (the runs measured so far).
        command: the command line recorded beside the numbers.
        accuracy_options: keyword arguments of `accuracy.run` (presets,
            rows, seeds, epochs).
        speed_options: keyword arguments of `speed.benchmark_speed`.
        progress: called with a line of text before each part.

    Returns:
        The path of `BENCHMARKS.md`.
    """
    from keras_rra.benchmarks.speed import benchmark_speed
    from keras_rra.utils.json_file import write_json

    say = progress or (lambda line: None)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"--output-dir {folder!r} is a file, not a folder.")
    os.makedirs(folder, exist_ok=True)
    accuracy_path = os.path.join(folder, ACCURACY_FILE)
    speed_path = os.path.join(folder, SPEED_FILE)
    if report_only:
        missing = [p for p in (accuracy_path, speed_path) if not os.path.exists(p)]
        if missing:
            raise ValueError(
                f"--report-only needs both parts' JSON; missing {', '.join(missing)}."
            )
        return write_report(folder, _read_json(accuracy_path), _read_json(speed_path))
    if again:
        for path in (accuracy_path, speed_path):
            if os.path.exists(path):
                os.remove(path)
    say(f"accuracy benchmark into {accuracy_path} (runs already there are kept)")
    accuracy.run(output=accuracy_path, command=command, **(accuracy_options or {}))
    if os.path.exists(speed_path):
        say(f"speed benchmark: reusing {speed_path}")
    else:
        say(f"speed benchmark into {speed_path}")
        measured = benchmark_speed(progress=say, **(speed_options or {}))
        measured["command"] = command
        write_json(speed_path, measured)
    return write_report(folder, _read_json(accuracy_path), _read_json(speed_path))
