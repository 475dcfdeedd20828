"""`keras-rra benchmark accuracy`: where to look, against its bounds.

Every row is a `keras-rra train` run (the same `train` function, the same
settings a user would pass as flags), repeated over several seeds; the
report gives mean ± std of test top-1 and, for models that choose a box,
how often the box holds the part's centre, its IoU with the part box and
its area. On each synthetic preset the rows share backbone, data, epochs,
batch and optimiser:

- `baseline`: the global view alone (the lower bound);
- `center`: RRA looking at a centred patch;
- `navigator`: RRA looking where its navigator, learned from the labels
  alone, points (the library's default);
- `true_box`: RRA looking at the true part box (box supervision: the upper
  bound);
- `navigator_two_parts`: the navigator's 2 best boxes;
- `true_box_separate`, `navigator_separate`: the paper's separate losses
  (the latter with 2 parts);
- `coarse2fine`: Coarse2Fine with its navigator;
- `saliency`, `coarse2fine_zoom`, `activation`: the other where-to-look
  sources, for reference (not in the default rows).
"""

import json
import os
import statistics
import sys
import tempfile
import time

# Settings of each preset, shared by every row.
PRESETS = {
    "hard": {
        "dataset": "synthetic:hard",
        "image_size": 64,
        "input_size": 128,
        "patch_size": 32,
        "examples_per_class": 200,
        "test_examples_per_class": 50,
        "epochs": 10,
    },
    "easy": {
        "dataset": "synthetic",
        "image_size": 64,
        "patch_size": 32,
        "examples_per_class": 300,
        "test_examples_per_class": 75,
        "epochs": 15,
    },
}

# name -> (description, settings).
ROWS = {
    "baseline": ("baseline, global view only (lower bound)", {"model": "baseline"}),
    # The centred box has the navigator's box size: the same patch budget.
    "center": (
        "RRA, centred patch",
        {"model": "rra", "patch": "center", "center_fraction": 0.25},
    ),
    "navigator": (
        "RRA, learned navigator, 1 part (default)",
        {"model": "rra", "patch": "navigator"},
    ),
    "true_box": (
        "RRA, true part box (upper bound)",
        {"model": "rra", "patch": "boxes"},
    ),
    "navigator_two_parts": (
        "RRA, learned navigator, 2 parts",
        {"model": "rra", "patch": "navigator", "num_parts": 2},
    ),
    "navigator_separate": (
        "RRA, learned navigator, 2 parts, paper's separate losses",
        {
            "model": "rra",
            "patch": "navigator",
            "num_parts": 2,
            "global_loss": "separate",
        },
    ),
    "true_box_separate": (
        "RRA, true part box, paper's separate losses",
        {"model": "rra", "patch": "boxes", "global_loss": "separate"},
    ),
    "coarse2fine": (
        "Coarse2Fine, navigator (default)",
        {"model": "coarse2fine"},
    ),
    "saliency": (
        "RRA, saliency zoom",
        {"model": "rra", "patch": "saliency"},
    ),
    "coarse2fine_zoom": (
        "Coarse2Fine, saliency zoom",
        {"model": "coarse2fine", "fine_input": "zoom"},
    ),
    "activation": (
        "RRA, activation peak",
        {"model": "rra", "patch": "activation", "center_fraction": 0.25},
    ),
}

DEFAULT_ROWS = {
    "hard": [
        "baseline",
        "center",
        "navigator",
        "true_box",
        "true_box_separate",
        "coarse2fine",
    ],
    "easy": ["baseline", "navigator"],
}


def run_one(preset, row, seed, output_root, epochs=None):
    """Trains one row with one seed and returns its measured numbers."""
    import keras

    from keras_rra.training.config import TrainConfig
    from keras_rra.training.run import train

    settings = dict(PRESETS[preset], **ROWS[row][1])
    if epochs is not None:
        settings["epochs"] = epochs
    config = TrainConfig.from_dict(
        dict(
            settings,
            seed=seed,
            validation_freq=0,
            output=os.path.join(output_root, f"{preset}-{row}-{seed}"),
        ),
        source=f"benchmark row {row!r}",
    )
    keras.backend.clear_session()
    results = train(config, verbose=0)
    measured = {
        "preset": preset,
        "row": row,
        "seed": seed,
        "top1": results["test"]["accuracy"],
        "train_seconds": results["train_seconds"],
    }
    measured.update(results.get("test_localization") or {})
    return measured


def _mean_std(values):
    if not values:
        return None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def _cell(values, digits=3):
    summary = _mean_std(values)
    if summary is None:
        return "–"
    return f"{summary[0]:.{digits}f} ± {summary[1]:.{digits}f}"


def summarise(runs):
    """`{(preset, row): {metric: [values over seeds]}}` of the runs."""
    table = {}
    for run in runs:
        cell = table.setdefault((run["preset"], run["row"]), {})
        for key, value in run.items():
            if isinstance(value, (int, float)) and key != "seed":
                cell.setdefault(key, []).append(float(value))
    return table


def format_table(runs):
    """The Markdown table of the runs, then the targets' ratios."""
    table = summarise(runs)
    lines = [
        "| preset | row | top-1 | part centre in box | IoU with part | box area "
        "| train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for (preset, row), cell in table.items():
        lines.append(
            f"| {preset} | {ROWS[row][0]} | {_cell(cell['top1'])} | "
            f"{_cell(cell.get('part_centre_hit_rate', []))} | "
            f"{_cell(cell.get('mean_iou', []))} | "
            f"{_cell(cell.get('mean_box_area', []))} | "
            f"{_cell(cell['train_seconds'], 0)} |"
        )
    lines.append("")
    for preset in PRESETS:

        def mean(row, key="top1", preset=preset):
            values = table.get((preset, row), {}).get(key)
            return statistics.fmean(values) if values else None

        learned, upper, lower = mean("navigator"), mean("true_box"), mean("baseline")
        if learned is not None and upper:
            lines.append(
                f"{preset}: navigator / true box = {learned / upper:.3f} "
                "(target >= 0.9)"
            )
        if learned is not None and lower is not None:
            lines.append(
                f"{preset}: navigator - baseline = {learned - lower:+.3f} "
                f"(target {'>= +0.30' if preset == 'hard' else '>= 0'})"
            )
    return "\n".join(lines)


def run(presets=None, rows=None, seeds=(0, 1, 2), epochs=None, output=None):
    """Runs the benchmark, prints one line per run and the table.

    Args:
        presets: preset names (default: hard and easy).
        rows: row names (default: each preset's default rows).
        seeds: the seeds of every row.
        epochs: overrides every preset's epochs (a quicker, rougher run).
        output: a JSON file for every run's numbers and the table.

    Returns:
        The list of runs.
    """
    presets = list(presets or PRESETS)
    for name in presets:
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; known: {', '.join(PRESETS)}.")
    for name in rows or []:
        if name not in ROWS:
            raise ValueError(f"Unknown row {name!r}; known: {', '.join(ROWS)}.")
    runs = []
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for preset in presets:
            for row in rows or DEFAULT_ROWS[preset]:
                for seed in seeds:
                    measured = run_one(preset, row, seed, folder, epochs)
                    runs.append(measured)
                    print(json.dumps(measured), flush=True)
    table = format_table(runs)
    minutes = (time.perf_counter() - start) / 60
    print(f"\n{table}\n\nwhole benchmark: {minutes:.1f} min", flush=True)
    if output:
        with open(output, "w", encoding="utf-8") as file:
            json.dump(
                {"runs": runs, "table": table, "minutes": minutes}, file, indent=2
            )
    return runs


if __name__ == "__main__":
    run(output=sys.argv[1] if len(sys.argv) > 1 else None)
