"""`keras-rra benchmark accuracy`: where to look, against its bounds.

Every row is a `keras-rra train` run (the same `train` function, the same
settings a user would pass as flags), repeated over several seeds; the
report gives mean ± std of test top-1 and, for models that choose a box,
how often the box holds the part's centre, its IoU with the part box and
its area. On each synthetic preset the rows share backbone, data, epochs,
batch and optimiser:

- `baseline`: the global view alone (the lower bound);
- `center`: RRA looking at a centred patch;
- `navigator`: RRA looking at the 2 boxes its navigator, learned from the
  labels alone, points at (the library's default);
- `true_box`: RRA looking at the true part box (box supervision: the upper
  bound);
- `navigator_one_part`: the navigator's best box only;
- `navigator_own_teacher`, `coarse2fine_own_teacher`: the default rows
  with the navigator's teacher on a copy of the patch backbone with
  weights of its own instead of the backbone itself;
- `true_box_separate`, `navigator_separate`: the paper's separate losses;
- `coarse2fine`: Coarse2Fine with its navigator;
- `navigator_t1`, `navigator_t4`: the navigator row with T = 1 and 4
  refinement steps (the default is 10): does looking longer help?
- `coarse2fine_default_init`: Coarse2Fine with a he-normal attention kernel
  instead of the paper's orthogonal one;
- `saliency`, `coarse2fine_zoom`, `activation`: the other where-to-look
  sources, for reference (not in the default rows).
"""

import json
import os
import statistics
import sys
import tempfile
import time

# The settings of the scene presets drawn for a 192-px source.
SCENE_192 = {
    "image_size": 64,
    "input_size": 192,
    "patch_size": 48,
    "examples_per_class": 150,
    "test_examples_per_class": 50,
    "epochs": 10,
}
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
    # The hard preset's data size, 8 epochs: the earlier 300 images per
    # class for 15 epochs cost 2.8 times as many steps, which the hour of
    # the whole benchmark on 2 cores does not hold.
    "easy": {
        "dataset": "synthetic",
        "image_size": 64,
        "patch_size": 32,
        "examples_per_class": 200,
        "test_examples_per_class": 50,
        "epochs": 8,
    },
    # No beacon: the part shows only as itself, and its size varies 2x.
    "plain": {
        "dataset": "synthetic:plain",
        "image_size": 64,
        "input_size": 128,
        "patch_size": 48,
        "examples_per_class": 150,
        "test_examples_per_class": 50,
        "epochs": 10,
    },
    # Marks of the classes' shapes and colours away from the body, on a
    # 192-px source.
    "distractors": dict(SCENE_192, dataset="synthetic:distractors"),
    # The same scene with thin, faint marks (the `distractors` preset until
    # 2026-12-07): every image-level row stays at chance.
    "faint": dict(SCENE_192, dataset="synthetic:faint"),
    # `--full`: the papers' setting on CUB-200-2011 through tfds, with
    # ImageNet weights (a download) and the RRA reference code's recipe. Hours on
    # a GPU; never run in CI. CUB has object boxes, not part boxes, so its
    # upper-bound row looks at the bird's box.
    "cub": {
        "dataset": "caltech_birds2011",
        "preset": "paper",
        "weights": "imagenet",
        "augmentation": "paper",
        "boxes": "object",
        "optimizer": "sgd",
        "learning_rate": 0.001,
        "momentum": 0.9,
        "weight_decay": 0.0005,
        "schedule": "step",
        "decay_epochs": [30, 60],
        "decay_factor": 0.1,
        "batch_size": 32,
        # The reference code's recipe has no epoch count: 30 epochs after
        # the last decay is ours.
        "epochs": 90,
    },
}
# The presets a run without `presets` measures: the synthetic ones, which
# need no download.
DEFAULT_PRESETS = ("hard", "easy", "plain", "distractors", "faint")

# name -> (description, settings).
ROWS = {
    "baseline": ("baseline, global view only (lower bound)", {"model": "baseline"}),
    # The centred box has the navigator's box size: the same patch budget.
    # What a user would pick instead: the whole source at full resolution.
    "baseline_full_avg": (
        "baseline, full resolution, average pooling",
        {"model": "baseline", "full_resolution": True, "pooling": "avg"},
    ),
    "baseline_full_max": (
        "baseline, full resolution, max pooling",
        {"model": "baseline", "full_resolution": True, "pooling": "max"},
    ),
    "center": (
        "RRA, centred patch",
        {"model": "rra", "patch": "center", "center_fraction": 0.25},
    ),
    "navigator": (
        "RRA, learned navigator, 2 parts (default)",
        {"model": "rra", "patch": "navigator"},
    ),
    "true_box": (
        "RRA, true part box (upper bound)",
        {"model": "rra", "patch": "boxes"},
    ),
    "navigator_one_part": (
        "RRA, learned navigator, 1 part",
        {"model": "rra", "patch": "navigator", "num_parts": 1},
    ),
    # Boxes of 0.1875 of the side instead of 0.25: the patch magnifies the
    # part 1.78 times more (the same patch size, a smaller box) and the
    # boxes, on the same grid, centre it less well.
    "navigator_small_boxes": (
        "RRA, learned navigator, 2 parts, boxes of 0.1875 of the side",
        {"model": "rra", "patch": "navigator", "anchor_sizes": [0.1875]},
    ),
    # The same boxes with 2 × 2 centres per cell of the global feature map:
    # they centre the part as the larger boxes did.
    "navigator_dense_small_boxes": (
        "RRA, learned navigator, 2 parts, boxes of 0.1875, 2 × 2 centres per cell",
        {
            "model": "rra",
            "patch": "navigator",
            "anchor_sizes": [0.1875],
            "anchor_density": 2,
        },
    ),
    # Four parts weighed by what each patch shows at full resolution
    # (`PartAttention`), the weights ranked by the teacher: the local
    # stream chooses among the look-alikes the global view proposes.
    "navigator_part_attention": (
        "RRA, learned navigator, 4 parts, attention over the parts",
        {
            "model": "rra",
            "patch": "navigator",
            "num_parts": 4,
            "part_pooling": "attention",
        },
    ),
    "navigator_own_teacher": (
        "RRA, learned navigator, 2 parts, teacher of its own",
        {"model": "rra", "patch": "navigator", "teacher": "own"},
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
    "coarse2fine_own_teacher": (
        "Coarse2Fine, navigator, teacher of its own",
        {"model": "coarse2fine", "teacher": "own"},
    ),
    "navigator_t1": (
        "RRA, learned navigator, T = 1",
        {"model": "rra", "patch": "navigator", "timesteps": 1},
    ),
    "navigator_t4": (
        "RRA, learned navigator, T = 4",
        {"model": "rra", "patch": "navigator", "timesteps": 4},
    ),
    "coarse2fine_default_init": (
        "Coarse2Fine, navigator, he-normal attention init",
        {"model": "coarse2fine", "orthogonal_attention": False},
    ),
    # Mixed bfloat16's accuracy against float32 on the same compiled path:
    # without XLA, bfloat16 runs 10 times slower than float32 on a CPU
    # without bfloat16 instructions (see `keras-rra benchmark speed`).
    "navigator_xla": (
        "RRA, learned navigator, XLA, float32",
        {"model": "rra", "patch": "navigator", "jit_compile": "on"},
    ),
    "navigator_bfloat16": (
        "RRA, learned navigator, XLA, mixed bfloat16",
        {
            "model": "rra",
            "patch": "navigator",
            "jit_compile": "on",
            "mixed_precision": "mixed_bfloat16",
        },
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

# The ablations: the row of each value of the setting they vary.
TIMESTEP_ROWS = {1: "navigator_t1", 4: "navigator_t4", 10: "navigator"}
ATTENTION_INIT_ROWS = {
    "orthogonal": "coarse2fine",
    "he-normal": "coarse2fine_default_init",
}
PRECISION_ROWS = {"float32": "navigator_xla", "mixed_bfloat16": "navigator_bfloat16"}
# The default rows (the teacher shares the patch backbone) and the same
# with a teacher of its own.
TEACHER_ROWS = {
    "navigator": "navigator_own_teacher",
    "coarse2fine": "coarse2fine_own_teacher",
}
# The navigator's boxes, (side as a fraction of the image side, centres per
# feature-map cell along a side) -> their row.
BOX_ROWS = {
    (0.25, 1): "navigator",
    (0.1875, 1): "navigator_small_boxes",
    (0.1875, 2): "navigator_dense_small_boxes",
}

# Every preset's bounds and the library's default; the ablations (T, the
# attention initialisation, the paper's separate losses, two parts) run on
# request (`--rows`), so that every preset fits in the hour on 2 cores.
DEFAULT_ROWS = {
    "hard": ["baseline", "navigator", "true_box", "coarse2fine", "baseline_full_max"],
    "easy": ["baseline", "navigator", "true_box", "coarse2fine"],
    "plain": [
        "baseline",
        "navigator",
        "true_box",
        "coarse2fine",
        "baseline_full_avg",
        "baseline_full_max",
    ],
    "distractors": ["baseline", "navigator", "true_box", "baseline_full_max"],
    "faint": ["baseline", "navigator", "true_box", "baseline_full_max"],
    "cub": ["baseline", "center", "navigator", "true_box", "coarse2fine"],
}


def row_config(preset, row, seed, output_root, epochs=None):
    """The `TrainConfig` of one row of `preset` with one seed."""
    from keras_rra.settings.model_settings import MODEL_SETTINGS
    from keras_rra.training.config import TrainConfig

    settings = dict(PRESETS[preset])
    # A preset's box source is only for the rows that look at given boxes.
    box_source = settings.pop("boxes", None)
    settings.update(ROWS[row][1])
    if settings.pop("full_resolution", False) and settings.get("input_size"):
        # Without an input size the global view is the whole source.
        settings["image_size"] = settings["input_size"]
    # A preset's setting of another model (RRA's patch size) is not the
    # row's when its model does not take it.
    model = settings.get("model", "rra")
    others = set().union(*(group.names() for group in MODEL_SETTINGS.values()))
    for name in others - set(MODEL_SETTINGS[model].names()):
        settings.pop(name, None)
    if box_source and settings.get("patch") == "boxes":
        settings["boxes"] = box_source
    if epochs is not None:
        settings["epochs"] = epochs
    return TrainConfig.from_dict(
        dict(
            settings,
            seed=seed,
            # Each row trains on the whole training split: it chooses
            # nothing, so it needs no validation split.
            validation_fraction=0.0,
            validation_freq=0,
            output=os.path.join(output_root, f"{preset}-{row}-{seed}"),
        ),
        source=f"benchmark row {row!r}",
    )


def run_one(preset, row, seed, output_root, epochs=None):
    """Trains one row with one seed and returns its measured numbers."""
    import keras

    from keras_rra.benchmarks.inference_flops import inference_flops
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.run import train

    config = row_config(preset, row, seed, output_root, epochs)
    keras.backend.clear_session()
    results = train(config, verbose=0)
    model = load_classifier(os.path.join(config.output, "model.keras"))
    measured = {
        "preset": preset,
        "row": row,
        "seed": seed,
        "top1": results["test"]["accuracy"],
        "train_seconds": results["train_seconds"],
        "seconds_per_epoch": results["train_seconds"] / config.epochs,
        "inference_gflops": inference_flops(model) / 1e9,
    }
    for stream in ("local", "fine"):
        if f"{stream}_accuracy" in results["test"]:
            measured[f"{stream}_top1"] = results["test"][f"{stream}_accuracy"]
    measured.update(results.get("test_localization") or {})
    return measured


def mean_std(values):
    """`(mean, sample standard deviation)` of `values` (std 0 for one
    value), or None for none."""
    if not values:
        return None
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def _cell(values, digits=3, one_seed_said=False):
    """`mean ± std`; with `one_seed_said`, a single run says so rather than
    showing a spread of 0 that no second seed measured."""
    summary = mean_std(values)
    if summary is None:
        return "–"
    if one_seed_said and len(values) == 1:
        return f"{summary[0]:.{digits}f} (1 seed)"
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
        "| preset | row | top-1 | its part stream alone | part centre in box "
        "| in its teacher's box | IoU with part | box area | inference GFLOPs "
        "| s / epoch | train s |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    # Grouped by preset, in the order of `PRESETS` (others after, as they
    # come), and by row in the order of `ROWS`: the same table whatever
    # order the runs were measured or reused in.
    presets = list(PRESETS) + [p for p, _ in table if p not in PRESETS]
    rows = list(ROWS)
    for preset, row in sorted(
        table, key=lambda cell: (presets.index(cell[0]), rows.index(cell[1]))
    ):
        cell = table[(preset, row)]
        stream = cell.get("local_top1") or cell.get("fine_top1") or []
        top1 = _cell(cell["top1"], one_seed_said=True)
        lines.append(
            f"| {preset} | {ROWS[row][0]} | {top1} | "
            f"{_cell(stream)} | "
            f"{_cell(cell.get('part_centre_hit_rate', []))} | "
            f"{_cell(cell.get('teacher_part_centre_hit_rate', []))} | "
            f"{_cell(cell.get('mean_iou', []))} | "
            f"{_cell(cell.get('mean_box_area', []))} | "
            f"{_cell(cell.get('inference_gflops', []), 4)} | "
            f"{_cell(cell.get('seconds_per_epoch', []), 1)} | "
            f"{_cell(cell.get('train_seconds', []), 0)} |"
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
        by_steps = {
            steps: mean(row)
            for steps, row in TIMESTEP_ROWS.items()
            if mean(row) is not None
        }
        if len(by_steps) > 1:
            lines.append(
                f"{preset}: navigator top-1 against T: "
                + ", ".join(f"T={steps} {top1:.3f}" for steps, top1 in by_steps.items())
            )
        orthogonal, default = (mean(row) for row in ATTENTION_INIT_ROWS.values())
        if orthogonal is not None and default is not None:
            lines.append(
                f"{preset}: Coarse2Fine orthogonal - he-normal attention init = "
                f"{orthogonal - default:+.3f}"
            )
        by_boxes = {
            boxes: (mean(row), mean(row, "part_centre_hit_rate"))
            for boxes, row in BOX_ROWS.items()
            if mean(row) is not None
        }
        if len(by_boxes) > 1:
            lines.append(
                f"{preset}: navigator top-1 (part centre in box) against boxes "
                "(side, centres per cell): "
                + ", ".join(
                    f"{side} × {density} {top1:.3f}"
                    + (f" ({inside:.3f})" if inside is not None else "")
                    for (side, density), (top1, inside) in by_boxes.items()
                )
            )
        full, mixed = (mean(row) for row in PRECISION_ROWS.values())
        if full is not None and mixed is not None:
            lines.append(
                f"{preset}: navigator with XLA, mixed bfloat16 - float32 = "
                f"{mixed - full:+.3f} (target within 0.010)"
            )
    return "\n".join(lines)


def _load_earlier(output):
    """What earlier calls wrote to `output` (`{}` without it)."""
    if not output or not os.path.exists(output):
        return {}
    with open(output, encoding="utf-8") as file:
        try:
            earlier = json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{output} is not the JSON of an accuracy benchmark ({error}); "
                "move it away or choose another --output."
            ) from None
    if not isinstance(earlier, dict) or "runs" not in earlier:
        raise ValueError(
            f"{output} holds no accuracy runs; move it away or choose another --output."
        )
    return earlier


def run(
    presets=None, rows=None, seeds=(0, 1, 2), epochs=None, output=None, command=None
):
    """Runs the benchmark, prints one line per run and the table.

    With `output`, the file is rewritten after every run, and a run it
    already holds (same preset, row, seed and epochs) is not trained again:
    an interrupted benchmark goes on where it stopped. The file keeps the
    runs of other rows, presets and epochs: a call for one more row adds
    it.

    Args:
        presets: preset names (default: `DEFAULT_PRESETS`, the five
            synthetic presets;
            `cub` is the papers' setting, for a machine with a GPU and
            network).
        rows: row names (default: each preset's default rows).
        seeds: the seeds of every row.
        epochs: overrides every preset's epochs (a quicker, rougher run).
        output: a JSON file for every run's numbers, the table, the machine
            and the command.
        command: the command line to record in `output`.

    Returns:
        The list of runs.
    """
    from keras_rra.benchmarks.machine import describe_machine
    from keras_rra.utils.json_file import write_json

    presets = list(presets or DEFAULT_PRESETS)
    for name in presets:
        if name not in PRESETS:
            raise ValueError(f"Unknown preset {name!r}; known: {', '.join(PRESETS)}.")
    for name in rows or []:
        if name not in ROWS:
            raise ValueError(f"Unknown row {name!r}; known: {', '.join(ROWS)}.")
    earlier_file = _load_earlier(output)
    earlier = earlier_file.get("runs", [])
    earlier_minutes = earlier_file.get("minutes", 0.0)
    # Every command that measured some of the file's runs, oldest first.
    commands = earlier_file.get("commands") or [
        c for c in [earlier_file.get("command")] if c
    ]
    if command and command not in commands:
        commands.append(command)
    done = [m for m in earlier if m.get("epochs_override") == epochs]
    runs = []
    start = time.perf_counter()

    def key(measured):
        return (measured["preset"], measured["row"], measured["seed"])

    def report():
        minutes = earlier_minutes + (time.perf_counter() - start) / 60
        if output:
            # The file keeps what this call does not measure again (other
            # rows, presets or epochs): a call for one extra row adds it.
            measured_now = {key(m) for m in runs}
            kept = [
                m
                for m in earlier
                if m.get("epochs_override") != epochs or key(m) not in measured_now
            ]
            same_epochs = [m for m in kept + runs if m.get("epochs_override") == epochs]
            write_json(
                output,
                {
                    "runs": kept + runs,
                    "table": format_table(same_epochs),
                    "minutes": minutes,
                    "machine": describe_machine(),
                    "command": command,
                    "commands": commands,
                    # The table's and the report's runs: this call's epochs.
                    "epochs_override": epochs,
                },
            )
        return minutes

    with tempfile.TemporaryDirectory() as folder:
        for preset in presets:
            for row in rows or DEFAULT_ROWS[preset]:
                for seed in seeds:
                    measured = next(
                        (m for m in done if key(m) == (preset, row, seed)), None
                    )
                    if measured is None:
                        measured = run_one(preset, row, seed, folder, epochs)
                        measured["epochs_override"] = epochs
                        # Runs of one file may come from several calls and
                        # versions of the library: each says when it ran.
                        measured["measured_on"] = time.strftime("%Y-%m-%d")
                        print(json.dumps(measured), flush=True)
                    runs.append(measured)
                    report()
    minutes = report()
    print(f"\n{format_table(runs)}\n\nwhole benchmark: {minutes:.1f} min", flush=True)
    return runs


if __name__ == "__main__":
    run(output=sys.argv[1] if len(sys.argv) > 1 else None)
