"""`keras-rra benchmark train`: training speed and memory per model, T and XLA.

Each configuration runs in its own process, so that its peak memory (the
process's maximum resident set) is its own and one XLA failure cannot stop
the others. A configuration trains through the `Trainer` on one in-memory
batch repeated, so the input pipeline costs nothing; `warmup` steps
(tracing, compilation) are not timed.

Looking longer should cost almost nothing: the backbones run once per
image and patch, and only the small LSTM runs T times. The report prints
time(T=max) / time(T=min) for RRA, and the XLA speed-up of each setting.
"""

import json
import os
import subprocess
import sys
import time


def _measure(settings):
    """Runs in the child process: one configuration, as a dict of numbers."""
    import resource

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_rra.settings.model_settings import MODEL_SETTINGS
    from keras_rra.training.config import TrainConfig
    from keras_rra.training.run import build_model
    from keras_rra.training.seed import set_seed
    from keras_rra.training.trainer import Trainer

    takes = MODEL_SETTINGS[settings["model"]]
    config = TrainConfig(
        model=settings["model"],
        batch_size=settings["batch_size"],
        **{
            name: settings[name]
            for name in (
                "backbone",
                "image_size",
                "patch_size",
                "timesteps",
                "lstm_units",
                "addon_channels",
            )
            if name in takes
        },
    )
    set_seed(0)
    names = [str(index) for index in range(settings["num_classes"])]
    trainer = Trainer(
        lambda: build_model(config, names),
        optimizer=lambda _: keras.optimizers.SGD(1e-3, momentum=0.9),
        strategy="default",
        jit_compile=settings["jit"],
    )
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

    clock = Clock()
    trainer.fit(dataset, epochs=1, callbacks=[clock], verbose=0)
    seconds = clock.end - clock.start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "images_per_second": steps * batch / seconds,
        "step_seconds": seconds / steps,
        "peak_memory_mb": peak_kib / 1024,
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


def benchmark_train(
    models=("baseline", "rra"),
    timesteps=(1, 4, 10),
    jit=("off", "on"),
    backbone="tiny",
    image_size=64,
    patch_size=32,
    batch_size=16,
    lstm_units=128,
    addon_channels=256,
    num_classes=10,
    steps=10,
    warmup=3,
    timeout=900,
):
    """Measures every configuration; returns a dict with `rows` and ratios.

    The baseline does not depend on T and runs once per XLA mode.
    """
    rows = []
    for model in models:
        for steps_t in timesteps if model == "rra" else (None,):
            for mode in jit:
                settings = {
                    "model": model,
                    "timesteps": steps_t or 1,
                    "jit": mode,
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
                result = _run_child(settings, timeout)
                rows.append(
                    {"model": model, "timesteps": steps_t, "jit": mode, **result}
                )
    return {"settings": {"backbone": backbone, "image_size": image_size,
                         "patch_size": patch_size, "batch_size": batch_size,
                         "steps": steps, "warmup": warmup},
            "rows": rows, **_ratios(rows, timesteps)}  # fmt: skip


def _rate(rows, model, timesteps, mode):
    for row in rows:
        if (row["model"], row["timesteps"], row["jit"]) == (model, timesteps, mode):
            return row.get("images_per_second")
    return None


def _ratios(rows, timesteps):
    ratios = {"time_ratio_longest_to_shortest": {}, "xla_speedup": {}}
    short, long = min(timesteps), max(timesteps)
    for mode in ("off", "on"):
        fast, slow = _rate(rows, "rra", short, mode), _rate(rows, "rra", long, mode)
        if fast and slow:
            ratios["time_ratio_longest_to_shortest"][mode] = fast / slow
    for row in rows:
        if row["jit"] != "on" or "images_per_second" not in row:
            continue
        off = _rate(rows, row["model"], row["timesteps"], "off")
        if off:
            key = f"{row['model']}" + (
                f" T={row['timesteps']}" if row["timesteps"] else ""
            )
            ratios["xla_speedup"][key] = row["images_per_second"] / off
    return ratios


def format_report(result):
    """The measured table and ratios as text."""
    lines = [
        "model        T   XLA  images/s  step ms  peak MB",
    ]
    for row in result["rows"]:
        steps = "-" if row["timesteps"] is None else str(row["timesteps"])
        label = f"{row['model']:<11} {steps:>2}  {row['jit']:>4}  "
        if "error" in row:
            lines.append(f"{label}failed: {row['error']}")
            continue
        lines.append(
            f"{label}{row['images_per_second']:8.1f}  "
            f"{row['step_seconds'] * 1000:7.1f}  {row['peak_memory_mb']:7.0f}"
        )
    for mode, ratio in result["time_ratio_longest_to_shortest"].items():
        lines.append(
            f"RRA time(T=max)/time(T=min), XLA {mode}: {ratio:.3f} (target <= 1.15)"
        )
    for key, speedup in result["xla_speedup"].items():
        lines.append(f"XLA speed-up, {key}: {speedup:.2f}x")
    return "\n".join(lines)


if __name__ == "__main__":
    print(json.dumps(_measure(json.loads(sys.argv[1]))))
