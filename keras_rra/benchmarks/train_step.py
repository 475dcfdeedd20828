"""`keras-rra benchmark train`: training speed, FLOP/s against the machine's
peak, and memory per model, T, XLA mode and precision.

Each configuration runs in its own process, so that its peak memory (the
process's maximum resident set) is its own and one XLA failure cannot stop
the others. A configuration trains through the `Trainer` on one in-memory
batch repeated, so the input pipeline costs nothing; `warmup` steps
(tracing, compilation) are not timed. Its FLOPs per image are counted from
its training step's graph (`training_flops`), and the achieved FLOP/s are
set against a dense matrix product of its compute dtype on the same machine
(`matmul_peak`).

Looking longer should cost almost nothing: the backbones run once per
image and patch, and only the small LSTM runs T times. The report prints
time(T=max) / time(T=min) for RRA, the XLA speed-up of each setting and
mixed bfloat16's speed-up over float32.
"""

import json
import os
import statistics
import subprocess
import sys
import time

# The sizes every measured model is given (a model takes those it has).
SHARED_SETTINGS = (
    "backbone",
    "image_size",
    "patch_size",
    "timesteps",
    "lstm_units",
    "addon_channels",
)


def train_config(settings):
    """The `TrainConfig` of one configuration's settings.

    Any model setting beyond the shared sizes (the patch source,
    Coarse2Fine's maps) comes in `settings["model_settings"]`; a setting the
    model does not take is left out.
    """
    from keras_rra.settings.model_settings import MODEL_SETTINGS
    from keras_rra.training.config import TrainConfig

    takes = MODEL_SETTINGS[settings["model"]]
    given = {name: settings[name] for name in SHARED_SETTINGS if name in settings}
    given.update(settings.get("model_settings", {}))
    return TrainConfig(
        model=settings["model"],
        batch_size=settings["batch_size"],
        **{name: value for name, value in given.items() if name in takes},
    )


def _measure(settings):
    """Runs in the child process: one configuration, as a dict of numbers."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_rra.benchmarks.peak_memory import peak_memory_mb
    from keras_rra.benchmarks.training_flops import training_flops
    from keras_rra.training.run import build_model
    from keras_rra.training.seed import set_seed
    from keras_rra.training.trainer import Trainer

    config = train_config(settings)
    set_seed(0)
    names = [str(index) for index in range(settings["num_classes"])]

    def optimizer(_=None):
        return keras.optimizers.SGD(1e-3, momentum=0.9)

    size, batch = config.image_size, config.batch_size
    images = np.random.uniform(0, 255, (batch, size, size, 3)).astype("float32")
    labels = np.arange(batch) % settings["num_classes"]
    steps, warmup = settings["steps"], settings["warmup"]
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat(steps + warmup)

    class Clock(keras.callbacks.Callback):
        def on_train_batch_end(self, index, logs=None):
            if index + 1 == warmup:
                self.start = time.perf_counter()
            self.end = time.perf_counter()

    trainer = Trainer(
        lambda: build_model(config, names),
        optimizer=optimizer,
        strategy="default",
        jit_compile=settings["jit"],
        mixed_precision=settings["precision"],
    )
    model = trainer.model

    def seconds_of(loop):
        clock = Clock()
        loop(dataset, epochs=1, callbacks=[clock], verbose=0)
        return clock.end - clock.start

    compared = {}
    if settings.get("runner", "trainer") == "fit":
        # Keras' own loop on the same model, policy, optimizer and data,
        # against the Trainer in alternating blocks in this one process:
        # measured in separate processes, the two differed by up to 20%
        # from one run to the next on this machine, more than the 5% to be
        # told apart. Each block's first one alternates.
        model.jit_compile = settings["jit"] == "on"
        loops = {"trainer": trainer.fit, "fit": model.fit}
        times = {"trainer": [], "fit": []}
        for block in range(settings.get("blocks", 6)):
            for name in ("trainer", "fit") if block % 2 == 0 else ("fit", "trainer"):
                times[name].append(seconds_of(loops[name]))
        ratios = [
            fit / mine for mine, fit in zip(times["trainer"], times["fit"], strict=True)
        ]
        seconds = statistics.median(times["fit"])
        compared = {
            "trainer_over_fit": statistics.median(ratios),
            "trainer_images_per_second": steps
            * batch
            / statistics.median(times["trainer"]),
        }
    else:
        seconds = seconds_of(trainer.fit)
    # Before counting FLOPs, whose tracing takes memory of its own.
    peak_mb = peak_memory_mb()
    flops = training_flops(model, batch)
    images_per_second = steps * batch / seconds
    return {
        "images_per_second": images_per_second,
        "step_seconds": seconds / steps,
        "peak_memory_mb": peak_mb,
        "gflop_per_image": flops / 1e9,
        "gflops_per_second": flops * images_per_second / 1e9,
        **compared,
    }


def _run_child(settings, timeout):
    argv = [
        sys.executable,
        "-m",
        "keras_rra.benchmarks.train_step",
        json.dumps(settings),
    ]
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, env=env
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": last[:200]}
    return json.loads(lines[-1])


def measure_configuration(settings, peaks, timeout=900):
    """One configuration in its own process: its numbers, with the fraction
    of `peaks` (GFLOP/s by compute dtype) it reaches, or `{"error": ...}`."""
    from keras_rra.benchmarks.matmul_peak import PEAK_DTYPES

    result = _run_child(settings, timeout)
    if "gflops_per_second" in result:
        peak = peaks[PEAK_DTYPES[settings["precision"]]]
        result["fraction_of_peak"] = result["gflops_per_second"] / peak
    return result


def measure_peaks(precisions, size):
    """The dense matmul peak of each precision's compute dtype, in GFLOP/s."""
    from keras_rra.benchmarks.matmul_peak import PEAK_DTYPES
    from keras_rra.benchmarks.matmul_peak import matmul_peak

    dtypes = dict.fromkeys(PEAK_DTYPES[precision] for precision in precisions)
    return {dtype: matmul_peak(dtype, size=size) for dtype in dtypes}


def benchmark_train(
    models=("baseline", "rra"),
    timesteps=(1, 4, 10),
    jit=("off", "on"),
    precisions=("float32",),
    backbone="tiny",
    image_size=64,
    patch_size=32,
    batch_size=16,
    lstm_units=128,
    addon_channels=256,
    num_classes=10,
    steps=10,
    warmup=3,
    peak_size=2048,
    timeout=900,
):
    """Measures the matmul peak of each precision's compute dtype, then every
    configuration; returns a dict with `peak_gflops`, `rows` and ratios.

    The baseline does not depend on T and runs once per XLA mode and
    precision.
    """
    peaks = measure_peaks(precisions, peak_size)
    rows = []
    for model in models:
        for steps_t in timesteps if model == "rra" else (None,):
            for mode in jit:
                for precision in precisions:
                    settings = {
                        "model": model,
                        "timesteps": steps_t or 1,
                        "jit": mode,
                        "precision": precision,
                        "backbone": backbone,
                        "image_size": image_size,
                        "patch_size": patch_size,
                        "batch_size": batch_size,
                        "lstm_units": lstm_units,
                        "addon_channels": addon_channels,
                        "num_classes": num_classes,
                        "steps": steps,
                        "warmup": warmup,
                    }
                    result = measure_configuration(settings, peaks, timeout)
                    rows.append(
                        {
                            "model": model,
                            "timesteps": steps_t,
                            "jit": mode,
                            "precision": precision,
                            **result,
                        }
                    )
    return {"settings": {"backbone": backbone, "image_size": image_size,
                         "patch_size": patch_size, "batch_size": batch_size,
                         "steps": steps, "warmup": warmup,
                         "peak_size": peak_size},
            "peak_gflops": peaks,
            "rows": rows, **step_ratios(rows, timesteps)}  # fmt: skip


def _rate(rows, model, timesteps, mode, precision):
    for row in rows:
        key = (row["model"], row["timesteps"], row["jit"], row["precision"])
        if key == (model, timesteps, mode, precision):
            return row.get("images_per_second")
    return None


def _label(row):
    return row["model"] + (f" T={row['timesteps']}" if row["timesteps"] else "")


def step_ratios(rows, timesteps, refined_model="rra"):
    """time(T=max)/time(T=min) of `refined_model`'s rows per XLA mode and
    precision, and the speed-ups of XLA (over the same precision without)
    and of mixed bfloat16 (over float32 in the same XLA mode)."""
    ratios = {
        "time_ratio_longest_to_shortest": {},
        "xla_speedup": {},
        "bfloat16_speedup": {},
    }
    short, long = min(timesteps), max(timesteps)
    for mode in ("off", "on") if short != long else ():
        for precision in {row["precision"] for row in rows}:
            fast = _rate(rows, refined_model, short, mode, precision)
            slow = _rate(rows, refined_model, long, mode, precision)
            if fast and slow:
                key = mode if precision == "float32" else f"{mode} {precision}"
                ratios["time_ratio_longest_to_shortest"][key] = fast / slow
    for row in rows:
        if "images_per_second" not in row:
            continue
        base = (row["model"], row["timesteps"])
        if row["jit"] == "on":
            off = _rate(rows, *base, "off", row["precision"])
            if off:
                key = _label(row)
                key += "" if row["precision"] == "float32" else f" {row['precision']}"
                ratios["xla_speedup"][key] = row["images_per_second"] / off
        if row["precision"] == "mixed_bfloat16":
            single = _rate(rows, *base, row["jit"], "float32")
            if single:
                key = f"{_label(row)} XLA {row['jit']}"
                ratios["bfloat16_speedup"][key] = row["images_per_second"] / single
    return ratios


def format_peaks(result):
    """One line per compute dtype's matmul peak."""
    size = result["settings"]["peak_size"]
    return [
        f"dense {size} x {size} matmul peak, {dtype}: {gflops:.1f} GFLOP/s"
        for dtype, gflops in result["peak_gflops"].items()
    ]


def format_report(result, peaks=True):
    """The measured table and ratios as text (`peaks`: the peaks first)."""
    lines = format_peaks(result) if peaks else []
    lines.append(
        "model                T   XLA  precision        images/s  step ms  GFLOP/img"
        "  GFLOP/s  % peak  peak MB"
    )
    for row in result["rows"]:
        steps = "-" if row["timesteps"] is None else str(row["timesteps"])
        model = row["model"] + (" (fit)" if row.get("runner") == "fit" else "")
        label = f"{model:<19} {steps:>2}  {row['jit']:>4}  {row['precision']:<15}"
        if "error" in row:
            lines.append(f"{label}failed: {row['error']}")
            continue
        lines.append(
            f"{label}{row['images_per_second']:9.1f}  "
            f"{row['step_seconds'] * 1000:7.1f}  {row['gflop_per_image']:9.4g}  "
            f"{row['gflops_per_second']:7.1f}  {100 * row['fraction_of_peak']:6.1f}  "
            f"{row['peak_memory_mb']:7.0f}"
        )
    for mode, ratio in result["time_ratio_longest_to_shortest"].items():
        lines.append(
            f"RRA time(T=max)/time(T=min), XLA {mode}: {ratio:.3f} (target <= 1.15)"
        )
    for key, speedup in result["xla_speedup"].items():
        lines.append(f"XLA speed-up, {key}: {speedup:.2f}x")
    for key, speedup in result["bfloat16_speedup"].items():
        lines.append(f"mixed bfloat16 speed-up over float32, {key}: {speedup:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_measure(json.loads(sys.argv[1]))))
