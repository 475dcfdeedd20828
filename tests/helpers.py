"""The one test helper every layer and model test of keras-rra uses.

`run_layer_test` checks, for one layer: build, a symbolic call, an eager
call, get_config/from_config, a `.keras` save/load round trip (safe mode)
with identical outputs, and one `fit` step that changes the weights.
`run_model_test` checks the same for a model.
"""

import fcntl
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import warnings

import keras
import numpy as np
from keras import ops
from keras import tree


def _to_numpy(structure):
    return tree.map_structure(lambda x: ops.convert_to_numpy(x), structure)


def _assert_close(actual, expected, atol=1e-6):
    # A functional model gives a list where the layer gave a tuple: compare
    # the values in order.
    actual, expected = (
        tree.flatten(_to_numpy(actual)),
        tree.flatten(_to_numpy(expected)),
    )
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        np.testing.assert_allclose(a, e, atol=atol, rtol=0)


def _shapes(structure):
    return tree.map_structure(lambda x: tuple(x.shape), structure)


def _fit_one_step(model, inputs, outputs):
    """One compiled training step with MSE towards random targets on every output.

    Returns whether any trainable weight changed.
    """
    flat = [ops.convert_to_numpy(o) for o in tree.flatten(outputs)]
    floats = [i for i, o in enumerate(flat) if np.issubdtype(o.dtype, np.floating)]
    targets = [np.random.normal(size=flat[i].shape).astype("float32") for i in floats]
    wrapper_outputs = [tree.flatten(model.outputs)[i] for i in floats]
    trainer = keras.Model(model.inputs, wrapper_outputs)
    trainer.compile(optimizer=keras.optimizers.SGD(0.1), loss=["mse"] * len(floats))
    before = [ops.convert_to_numpy(w) for w in trainer.trainable_weights]
    with warnings.catch_warnings():
        # Weightless layers still run one compiled training step.
        warnings.filterwarnings("ignore", "The model does not have any trainable")
        # train_on_batch: inputs may differ in batch size (PatchAverage).
        loss = trainer.train_on_batch(inputs, targets)
    assert np.all(np.isfinite(loss))
    after = [ops.convert_to_numpy(w) for w in trainer.trainable_weights]
    return any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_data,
    expected_output_shape,
    expected_num_trainable_weights=None,
    expect_weights_change=True,
    atol=1e-6,
):
    """Runs the standard checks on a layer.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_data: an array, a list of arrays (one call argument that is a
            list), or a dict of call arguments name -> array.
        expected_output_shape: shape, or structure of shapes, of the output.
        expected_num_trainable_weights: if set, the number after build.
        expect_weights_change: whether one fit step must change a weight.
        atol: tolerance of the output comparisons.
    """
    as_kwargs = isinstance(input_data, dict)
    as_list = isinstance(input_data, list)

    def call(layer, data, **kwargs):
        return layer(**data, **kwargs) if as_kwargs else layer(data, **kwargs)

    # Build from shapes.
    layer = layer_cls(**init_kwargs)
    if as_kwargs:
        shapes = {k: tuple(v.shape) for k, v in input_data.items()}
    elif as_list:
        shapes = [tuple(v.shape) for v in input_data]
    else:
        shapes = tuple(input_data.shape)
    if as_kwargs:
        layer.build(**{f"{k}_shape": v for k, v in shapes.items()})
    else:
        layer.build(shapes)
    assert layer.built
    if expected_num_trainable_weights is not None:
        assert len(layer.trainable_weights) == expected_num_trainable_weights

    # Symbolic call.
    if as_kwargs:
        symbolic_inputs = {
            k: keras.Input(
                shape=v.shape[1:], batch_size=v.shape[0], dtype=v.dtype, name=k
            )
            for k, v in input_data.items()
        }
    elif as_list:
        symbolic_inputs = [
            keras.Input(shape=v.shape[1:], batch_size=v.shape[0], dtype=v.dtype)
            for v in input_data
        ]
    else:
        symbolic_inputs = keras.Input(
            shape=input_data.shape[1:],
            batch_size=input_data.shape[0],
            dtype=input_data.dtype,
        )
    layer = layer_cls(**init_kwargs)
    symbolic_outputs = call(layer, symbolic_inputs)
    assert _shapes(symbolic_outputs) == _shapes_of(expected_output_shape)

    # Eager call.
    eager_outputs = call(layer, input_data)
    assert _shapes(eager_outputs) == _shapes_of(expected_output_shape)
    for value in tree.flatten(_to_numpy(eager_outputs)):
        assert np.all(np.isfinite(value))

    # Config round trip: same config, same outputs with the same weights.
    config = layer.get_config()
    clone = layer_cls.from_config(config)
    call(clone, input_data)
    clone.set_weights(layer.get_weights())
    assert clone.get_config() == config
    _assert_close(call(clone, input_data), eager_outputs, atol)

    # .keras round trip in safe mode.
    model = keras.Model(symbolic_inputs, symbolic_outputs)
    model_inputs = input_data
    _assert_close(model(model_inputs), eager_outputs, atol)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "layer.keras")
        model.save(path)
        restored = keras.saving.load_model(path, safe_mode=True)
    _assert_close(restored(model_inputs), eager_outputs, atol)

    # One fit step.
    changed = _fit_one_step(model, model_inputs, eager_outputs)
    assert changed == expect_weights_change
    return layer


def _shapes_of(expected):
    if isinstance(expected, tuple) and expected and isinstance(expected[0], tuple):
        return tuple(tuple(shape) for shape in expected)
    if isinstance(expected, dict):
        return {k: tuple(v) for k, v in expected.items()}
    return tuple(expected)


def run_model_test(model_cls, init_kwargs, input_data, labels, expected_output_shapes):
    """Runs the standard checks on a classifier of the package.

    Checks the output shapes (symbolic and eager), config round trip,
    `.keras` save/load in safe mode with identical outputs, and that
    `compile()` with its defaults plus one `fit` step changes the weights
    and gives a finite loss.
    """
    model = model_cls(**init_kwargs)
    symbolic = {k: tuple(v.shape[1:]) for k, v in model.output.items()}
    assert symbolic == {k: tuple(v[1:]) for k, v in expected_output_shapes.items()}
    outputs = model(input_data)
    assert _shapes(outputs) == {k: tuple(v) for k, v in expected_output_shapes.items()}

    config = model.get_config()
    clone = model_cls.from_config(config)
    clone.set_weights(model.get_weights())
    _assert_close(clone(input_data), outputs)

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        restored = keras.saving.load_model(path, safe_mode=True)
    assert isinstance(restored, model_cls)
    _assert_close(restored(input_data), outputs)

    model.compile()
    before = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = model.fit(input_data, labels, epochs=1, batch_size=len(labels), verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after, strict=True))
    return model


def tflite_builtin_outputs(model, inputs):
    """Converts `model` to TFLite with builtin ops only (no Flex, no custom
    ops: conversion fails otherwise) through a SavedModel, as the export
    does, and returns its outputs for `inputs` as a dict of arrays."""
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as folder:
        model.export(
            folder,
            format="tf_saved_model",
            verbose=False,
            input_signature=[keras.InputSpec(shape=inputs.shape, dtype="float32")],
        )
        converter = tf.lite.TFLiteConverter.from_saved_model(folder)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        flatbuffer = converter.convert()
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=flatbuffer)
    runner = interpreter.get_signature_runner()
    (name,) = interpreter.get_signature_list()["serving_default"]["inputs"]
    return runner(**{name: inputs})


def assert_tflite_matches(model, inputs, atol=1e-5):
    """The builtin-only TFLite model gives the Keras model's outputs."""
    expected = _to_numpy(model(inputs))
    actual = tflite_builtin_outputs(model, inputs)
    assert set(actual) == set(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(actual[name], value, atol=atol, err_msg=name)


# RRA small enough for a test: tiny backbones, 32 px, two LSTM steps of 8.
TINY_RRA_SETTINGS = dict(
    backbone="tiny",
    image_size=32,
    patch_size=16,
    timesteps=2,
    lstm_units=8,
    addon_channels=8,
)
# A `keras-rra train` run of it: 3 classes of 8 synthetic images, one epoch.
TINY_RRA_RUN = dict(
    TINY_RRA_SETTINGS,
    model="rra",
    num_classes=3,
    examples_per_class=8,
    test_examples_per_class=2,
    batch_size=8,
    epochs=1,
)
# A `keras-rra tune` of the baseline small enough for three processes on
# two cores.
TINY_BASELINE_SEARCH = [
    "tune", "--model", "baseline", "--backbone", "tiny", "--image-size", "32",
    "--num-classes", "3", "--examples-per-class", "6",
    "--test-examples-per-class", "2", "--batch-size", "6", "--epochs", "1",
    "--tune", "learning_rate,dropout", "--quiet",
]  # fmt: skip


def tiny_rra(**overrides):
    """An RRA classifier small enough for a test: tiny backbones, 32 px,
    4 classes, two LSTM steps of 8 units; `overrides` change any argument."""
    from keras_rra.models import RRAClassifier

    return RRAClassifier(**{"num_classes": 4, **TINY_RRA_SETTINGS, **overrides})


def tiny_synthetic(split="train", batch_size=16, **overrides):
    """A small seeded synthetic split: 4 classes, 32 px, 16 train and 8 test
    images per class; `overrides` change any argument of `load`."""
    from keras_rra.data.loader import load

    arguments = dict(
        batch_size=batch_size,
        seed=0,
        num_classes=4,
        examples_per_class=16,
        test_examples_per_class=8,
        image_size=32,
    )
    arguments.update(overrides)
    dataset, _ = load("synthetic", split, **arguments)
    return dataset


class CrashAfter(keras.callbacks.Callback):
    """Raises KeyboardInterrupt after `steps` training steps: a killed run."""

    def __init__(self, steps):
        super().__init__()
        self.steps = steps
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.steps:
            raise KeyboardInterrupt


def free_ports(count):
    """`count` TCP ports free on 127.0.0.1 now."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_processes(commands, timeout):
    """Starts every (argv, env) and waits; always kills what is left."""
    processes = [
        subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for argv, env in commands
    ]
    deadline = time.monotonic() + timeout
    try:
        outputs = []
        for process in processes:
            left = max(1.0, deadline - time.monotonic())
            outputs.append(process.communicate(timeout=left))
        return [p.returncode for p in processes], outputs
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def assert_imports_exist(source, where):
    """Every `from keras_rra... import NAME` of `source` (a document's or a
    notebook's code) names something that exists. Returns how many names
    were checked; `where` names the source in a failure."""
    import ast
    import importlib

    checked = 0
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "keras_rra"
        ):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), (
                    f"{where}: {node.module} has no {alias.name}"
                )
                checked += 1
    return checked


def built_once(tmp_path_factory, name, build):
    """A folder `build(folder)` fills once per test session, shared by every
    xdist worker (a file lock makes the others wait for the first).

    A module-scoped fixture is set up again each time a worker comes back to
    its module (measured: the CLI's quick run trained five times in one
    suite, 57 s). Tests must only read the folder (copy it to change it).
    """
    # The parent of a worker's base temp is shared by all workers of a run.
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    folder = os.path.join(str(root), f"shared-{name}")
    done = folder + ".done"
    with open(folder + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(done):
            # A worker whose build failed leaves a part: the next starts over.
            shutil.rmtree(folder, ignore_errors=True)
            build(folder)
            open(done, "w").close()
    return folder


# RRA's sizes in the runs of the documents and notebooks: tracing the
# `cpu` preset's T = 10 unrolled LSTM steps (128 units) was most of a tiny
# run's time.
SMALL_RRA = {"timesteps": 2, "lstm_units": 16, "addon_channels": 16}


def use_small_rra(monkeypatch):
    """Makes `SMALL_RRA` part of the `cpu` preset for one test: the
    defaults of `keras-rra train`, `from_preset("cpu")` and the
    hypermodels."""
    from keras_rra.settings.presets import PRESETS

    monkeypatch.setitem(PRESETS, "cpu", {**PRESETS["cpu"], **SMALL_RRA})


def small_rra_source(code):
    """Python code with `SMALL_RRA`'s values for those keyword arguments."""
    for name, value in SMALL_RRA.items():
        code = re.sub(rf"\b{name}=\d+", f"{name}={value}", code)
    return code


# Benchmark results as the benchmarks write them, for their report.
BENCHMARK_MACHINE = {"date": "2026-12-03", "cpu": "Test CPU", "cores": 2,
                     "memory_gib": 24.0, "python": "3.11.2"}  # fmt: skip
BENCHMARK_TOP1 = {"baseline": 0.1, "navigator": 0.95, "true_box": 1.0, "center": 0.2,
        "navigator_t1": 0.8, "navigator_t4": 0.9, "coarse2fine": 0.97,
        "coarse2fine_default_init": 0.9}  # fmt: skip


def fake_accuracy_runs(presets=("hard",), seeds=(0, 1, 2), top1=None, ablations=False):
    """Accuracy-benchmark runs of every default row, as `accuracy.run_one`
    returns them; with `ablations`, the rows of T and of Coarse2Fine's
    attention initialisation too (measured on request, `--rows`)."""
    from keras_rra.benchmarks import accuracy

    extra = [*accuracy.TIMESTEP_ROWS.values(), *accuracy.ATTENTION_INIT_ROWS.values()]
    runs = []
    for preset in presets:
        rows = list(accuracy.DEFAULT_ROWS[preset])
        if ablations:
            rows += [row for row in extra if row not in rows]
        for row in rows:
            for seed in seeds:
                value = (top1 or BENCHMARK_TOP1).get(row, 0.5) + 0.01 * seed
                runs.append(dict(preset=preset, row=row, seed=seed, top1=value,
                                 train_seconds=10.0, epochs_override=None))  # fmt: skip
    return runs


def _fake_speed_row(model, timesteps, precision, rate, runner="trainer", **more):
    return dict(
        setting="small", model=model, timesteps=timesteps, jit="off",
        precision=precision, runner=runner, images_per_second=rate,
        step_seconds=16 / rate, peak_memory_mb=800.0, gflop_per_image=0.4,
        gflops_per_second=0.4 * rate, fraction_of_peak=0.4 * rate / 190, **more,
    )  # fmt: skip


def fake_speed_result():
    """A speed-benchmark result with a failed row, as `benchmark_speed`
    returns it."""
    from keras_rra.benchmarks import speed

    rows = [
        _fake_speed_row("baseline", None, "float32", 600.0),
        _fake_speed_row("baseline", None, "mixed_bfloat16", 60.0),
        _fake_speed_row("rra-navigator", 10, "float32", 180.0),
        _fake_speed_row("rra-navigator", 1, "float32", 200.0),
        _fake_speed_row("rra-navigator", 10, "float32", 190.0, runner="fit",
                        trainer_over_fit=0.947, trainer_images_per_second=180.0),
        dict(setting="small", model="coarse2fine", timesteps=None, jit="off",
             precision="float32", runner="trainer", error="timed out after 900 s"),
    ]  # fmt: skip
    from keras_rra.benchmarks.train_step import step_ratios

    model = dict(speed.speed_settings()["small"]["model"])
    return {
        "machine": BENCHMARK_MACHINE,
        "command": "keras-rra benchmark speed",
        "minutes": 12.5,
        "settings": {"small": {"model": model, "peak_size": 2048, "steps": 10}},
        "peak_gflops": {"float32": 190.0, "bfloat16": 118.0},
        "rows": rows,
        "ratios": {"small": step_ratios(rows[:4], [1, 10], "rra-navigator")},
        "trainer_over_fit": speed.trainer_over_fit(rows),
        "data": {
            "dataset": "synthetic",
            "model": "rra",
            "ratio": 9.5,
            "pipeline_images_per_second": 1700.0,
            "train_images_per_second": 180.0,
        },  # fmt: skip
        "export": {
            "baseline": {
                "settings": {"batch_sizes": [1, 8], "test_images": 0},
                "rows": [
                    {
                        "format": "onnx",
                        "size_mb": 0.93,
                        "median_ms_batch_1": 0.26,
                        "median_ms_batch_8": 0.9,
                    }
                ],
            }  # fmt: skip
        },
    }


def bomb_png(width, height):
    """A PNG of a few dozen bytes whose header declares `width` x `height`
    (8-bit RGB) and whose data ends at once: a decompression bomb as far
    as any reader that trusts the header before decoding is concerned."""
    import struct
    import zlib

    def chunk(kind, data):
        body = kind + data
        return (
            struct.pack(">I", len(data))
            + body
            + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def bomb_jpeg(width, height):
    """A small real JPEG whose frame header is changed to declare `width` x
    `height`."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 60, 30)).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)
