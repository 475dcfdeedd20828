"""`keras-rra benchmark speed`: every speed number of the library in one run.

In order, on this machine:

1. the dense matmul peak of each compute dtype (float32, bfloat16);
2. the training step of every model (baseline, RRA with each patch source,
   Coarse2Fine) at a small setting (the `cpu` preset) and at the papers'
   reference setting (VGG-19, 224-px image), for each XLA mode and
   precision: images/s, GFLOP per image counted from the step's graph,
   GFLOP/s, their fraction of the peak and peak memory; RRA's T = 1 rows
   give time(T=10)/time(T=1);
3. the same step through Keras' own `model.fit`, against the `Trainer`;
4. the input pipeline's images/s against the training step's;
5. each export format's size and latency.

Each training configuration runs in its own process (see `train_step`).
"""

import os
import tempfile
import time

from keras_rra.benchmarks.train_step import SHARED_SETTINGS
from keras_rra.benchmarks.train_step import measure_configuration
from keras_rra.benchmarks.train_step import measure_peaks
from keras_rra.benchmarks.train_step import step_ratios
from keras_rra.settings.presets import PRESETS

# Model label -> (model, the model settings that make it).
SPEED_MODELS = {
    "baseline": ("baseline", {}),
    "rra-navigator": ("rra", {"patch": "navigator"}),
    "rra-center": ("rra", {"patch": "center"}),
    "rra-saliency": ("rra", {"patch": "saliency"}),
    "rra-activation": ("rra", {"patch": "activation"}),
    "coarse2fine": ("coarse2fine", {}),
}
REFINED_MODEL = "rra-navigator"
SPEED_SETTING_NAMES = ("small", "reference")

# The model settings a speed setting fixes, from its preset: those the cpu
# preset changes.
_PRESET_SETTINGS = tuple(PRESETS["cpu"])


def _preset_settings(preset):
    from keras_rra.settings.run_settings import model_default
    from keras_rra.settings.run_settings import run_settings

    settings = {}
    for name in _PRESET_SETTINGS:
        owners = run_settings()[name][1]
        settings[name] = model_default(owners[0], name, preset)
    return settings


def speed_settings():
    """`{name: setting}` of the two settings measured.

    `small` is the `cpu` preset (what `keras-rra train` runs) at batch 16;
    `reference` the papers' own model settings (VGG-19 in both streams,
    224-px image, 112-px patch, LSTM 512, add-on 1024) with 200 classes at
    batch 4, where one step takes seconds: fewer steps, float32, no XLA by
    default.
    """
    return {
        "small": {
            "model": {
                **_preset_settings("cpu"),
                "timesteps": 10,
                "num_classes": 10,
                "batch_size": 16,
            },
            "jit": ("off", "on"),
            "precisions": ("float32", "mixed_bfloat16"),
            "models": tuple(SPEED_MODELS),
            "fit_models": ("baseline", REFINED_MODEL, "coarse2fine"),
            # Blocks of `steps` steps that alternate the Trainer and fit.
            "fit_blocks": 6,
            "steps": 10,
            "warmup": 3,
        },
        "reference": {
            "model": {
                **_preset_settings("paper"),
                # The and RRA's CUB setting at half the paper's input
                # side, which makes a step take seconds instead of a minute.
                "image_size": 224,
                "patch_size": 112,
                "timesteps": 10,
                "num_classes": 200,
                "batch_size": 4,
            },
            "jit": ("off",),
            "precisions": ("float32",),
            "models": ("baseline", REFINED_MODEL, "rra-center", "coarse2fine"),
            "fit_models": (),
            "fit_blocks": 2,
            "steps": 3,
            "warmup": 2,
        },
    }


def configuration(setting, label, timesteps, jit, precision, runner):
    """The settings of one row, as `train_step` measures them."""
    model, model_settings = SPEED_MODELS[label]
    values = dict(setting["model"])
    # A model's own settings (Coarse2Fine's maps, RRA's patch pooling) go
    # to the models that take them.
    extra = {
        name: values.pop(name)
        for name in _PRESET_SETTINGS
        if name in values and name not in SHARED_SETTINGS
    }
    return {
        **values,
        "timesteps": timesteps or values["timesteps"],
        "model": model,
        "model_settings": {**extra, **model_settings},
        "jit": jit,
        "precision": precision,
        "runner": runner,
        "steps": setting["steps"],
        "warmup": setting["warmup"],
        "blocks": setting["fit_blocks"],
    }


def plan(settings, models=None, jit=None, precisions=None):
    """The rows to measure, in order, as `(setting, label, T, jit, precision,
    runner)`; T is None for models without refinement steps.

    Every model of a setting runs for each of its XLA modes and precisions
    (`models`, `jit`, `precisions` replace every setting's own);
    `REFINED_MODEL` with the setting's T and with T = 1; each of a
    setting's `fit_models` once more through `model.fit`, in float32
    without XLA.
    """
    rows = []
    for name, setting in settings.items():
        longest = setting["model"]["timesteps"]
        for label in models or setting["models"]:
            refined = SPEED_MODELS[label][0] == "rra"
            for steps in (longest, 1) if label == REFINED_MODEL else (longest,):
                for mode in jit or setting["jit"]:
                    for precision in precisions or setting["precisions"]:
                        row = (name, label, steps if refined else None, mode, precision)
                        rows.append((*row, "trainer"))
            if label in setting["fit_models"]:
                rows.append(
                    (name, label, longest if refined else None, "off", "float32", "fit")
                )
    return rows


def trainer_over_fit(rows):
    """images/s of the Trainer over `model.fit`'s, per measured `fit` row
    (the median over blocks that alternate the two loops in one process)."""
    return {
        f"{row['setting']} {row['model']}": row["trainer_over_fit"]
        for row in rows
        if row["runner"] == "fit" and "trainer_over_fit" in row
    }


def _data_rates(setting, steps, warmup):
    from keras_rra.benchmarks.data_pipeline import benchmark_data
    from keras_rra.benchmarks.train_step import train_config

    settings = configuration(setting, REFINED_MODEL, None, "off", "float32", "trainer")
    config = train_config(settings).replace(dataset="synthetic")
    return benchmark_data(config, steps=steps, warmup=warmup)


def _export_rates(setting, labels, steps, warmup, formats):
    """Size and latency per format of each (untrained) model of `setting`:
    neither depends on the weights' values."""
    import keras

    from keras_rra.benchmarks.export_latency import benchmark_export
    from keras_rra.benchmarks.train_step import train_config
    from keras_rra.training.run import build_model

    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for label in labels:
            settings = configuration(setting, label, None, "off", "float32", "trainer")
            keras.backend.clear_session()
            names = [str(index) for index in range(settings["num_classes"])]
            path = os.path.join(folder, f"{label}.keras")
            build_model(train_config(settings), names).save(path)
            results[label] = benchmark_export(
                path,
                steps=steps,
                warmup=warmup,
                calibration_dataset="synthetic",
                test_images=0,
                formats=formats,
            )
    return results


def benchmark_speed(
    settings=("small", "reference"),
    models=None,
    jit=None,
    precisions=None,
    peak_size=2048,
    export_models=("baseline", REFINED_MODEL, "coarse2fine"),
    data_steps=20,
    export_steps=20,
    export_formats=None,
    overrides=None,
    timeout=900,
    progress=None,
):
    """Runs every part of the speed benchmark; returns one dict of numbers.

    Args:
        settings: names of `speed_settings()` to measure.
        models, jit, precisions: replace each setting's own lists.
        peak_size: side of the matmul-peak matrices.
        export_models: models of the first setting whose export formats are
            measured (empty: none).
        data_steps: timed batches of the input pipeline (0: not measured).
        export_steps: timed calls per export format.
        export_formats: the formats measured (default: all of
            `export_latency.FORMATS`).
        overrides: `{setting: {key: value}}` replacing a setting's values
            (its `model` dict is updated, not replaced): a smaller run.
        timeout: seconds one training configuration may take.
        progress: called with a line of text before each part.
    """
    from keras_rra.benchmarks.machine import describe_machine

    say = progress or (lambda line: None)
    known = speed_settings()
    for name in settings:
        if name not in known:
            raise ValueError(
                f"Unknown speed setting {name!r}; known: {', '.join(known)}."
            )
    for label in models or ():
        if label not in SPEED_MODELS:
            raise ValueError(
                f"Unknown model {label!r}; known: {', '.join(SPEED_MODELS)}."
            )
    chosen = {}
    for name in settings:
        setting = dict(known[name])
        change = dict((overrides or {}).get(name, {}))
        setting["model"] = {**setting["model"], **change.pop("model", {})}
        chosen[name] = {**setting, **change}
    start = time.perf_counter()
    rows_plan = plan(chosen, models, jit, precisions)
    say(f"measuring the matmul peaks ({peak_size} x {peak_size})")
    peaks = measure_peaks({row[4] for row in rows_plan}, peak_size)
    rows = []
    for index, (name, label, steps, mode, precision, runner) in enumerate(rows_plan):
        say(
            f"[{index + 1}/{len(rows_plan)}] {name} {label}"
            f"{'' if steps is None else f' T={steps}'} XLA {mode} {precision} {runner}"
        )
        settings_ = configuration(chosen[name], label, steps, mode, precision, runner)
        result = measure_configuration(settings_, peaks, timeout)
        rows.append(
            {
                "setting": name,
                "model": label,
                "timesteps": steps,
                "jit": mode,
                "precision": precision,
                "runner": runner,
                **result,
            }
        )
    ratios = {
        name: step_ratios(
            [
                row
                for row in rows
                if row["setting"] == name and row["runner"] == "trainer"
            ],
            [1, chosen[name]["model"]["timesteps"]],
            REFINED_MODEL,
        )
        for name in chosen
    }
    first = chosen[settings[0]]
    data = None
    if data_steps:
        say(f"timing the input pipeline of the {settings[0]} setting")
        data = _data_rates(first, data_steps, warmup=3)
    export = {}
    if export_models:
        say(f"exporting {', '.join(export_models)} ({settings[0]} setting)")
        export = _export_rates(
            first, export_models, export_steps, warmup=3, formats=export_formats
        )
    return {
        "machine": describe_machine(),
        "settings": {
            name: {**setting, "peak_size": peak_size}
            for name, setting in chosen.items()
        },
        "peak_gflops": peaks,
        "rows": rows,
        "ratios": ratios,
        "trainer_over_fit": trainer_over_fit(rows),
        "data": data,
        "export": export,
        "minutes": (time.perf_counter() - start) / 60,
    }


def describe_setting(model):
    """'tiny, 64 px, patch 32 px, LSTM 128, ...' of a setting's model."""
    return (
        f"{model['backbone']}, {model['image_size']} px, patch "
        f"{model['patch_size']} px, LSTM {model['lstm_units']}, add-on "
        f"{model['addon_channels']}, {model['num_classes']} classes, batch "
        f"{model['batch_size']}"
    )


def format_report(result):
    """The speed benchmark as text: peaks, one table per setting with its
    ratios, the Trainer against `model.fit`, the pipeline and the exports."""
    from keras_rra.benchmarks import data_pipeline
    from keras_rra.benchmarks import export_latency
    from keras_rra.benchmarks import train_step

    peak_size = next(iter(result["settings"].values()))["peak_size"]
    lines = train_step.format_peaks(
        {"settings": {"peak_size": peak_size}, "peak_gflops": result["peak_gflops"]}
    )
    for name in [n for n in SPEED_SETTING_NAMES if n in result["settings"]]:
        setting = result["settings"][name]
        model = setting["model"]
        lines += [
            "",
            f"{name}: {describe_setting(model)}, {setting['steps']} timed steps",
        ]
        rows = [row for row in result["rows"] if row["setting"] == name]
        table = {"rows": rows, **result["ratios"][name]}
        lines.append(train_step.format_report(table, peaks=False))
    for key, ratio in result["trainer_over_fit"].items():
        lines.append(
            f"Trainer / model.fit images/s, {key}: {ratio:.3f} (median over "
            "blocks alternating the two in one process; target >= 0.95)"
        )
    if result["data"]:
        lines += ["", data_pipeline.format_report(result["data"])]
    for label, export in result["export"].items():
        lines += ["", f"export, {label}:", export_latency.format_report(export)]
    lines += ["", f"whole benchmark: {result['minutes']:.1f} min"]
    return "\n".join(lines)
