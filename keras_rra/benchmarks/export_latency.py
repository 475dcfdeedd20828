"""`keras-rra benchmark export`: size and latency of every export format."""

import os
import statistics
import tempfile
import time

import numpy as np

from keras_rra.export.export_run import export_model
from keras_rra.export.export_run import split_arrays
from keras_rra.export.predictors import load_predictor
from keras_rra.training.run import load_run_config
from keras_rra.utils.validation import check_positive_int

BATCH_SIZES = (1, 8)


def _size_mb(path):
    if os.path.isfile(path):
        return os.path.getsize(path) / 2**20
    return (
        sum(
            os.path.getsize(os.path.join(root, name))
            for root, _, names in os.walk(path)
            for name in names
        )
        / 2**20
    )


def _median_seconds(predictor, images, steps, warmup):
    for _ in range(warmup):
        predictor.probabilities(images)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        predictor.probabilities(images)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _top1(predictor, images, batch_size=50):
    return np.concatenate(
        [
            predictor.probabilities(images[start : start + batch_size]).argmax(-1)
            for start in range(0, len(images), batch_size)
        ]
    )


FORMATS = (
    "keras",
    "saved_model",
    "tflite float32",
    "tflite float16",
    "tflite int8",
    "onnx",
)


def check_formats(formats):
    """Format names in `FORMATS` order, `-` or `_` read as a space
    (`tflite-int8`); Keras, the reference of every agreement, is always
    first."""
    if formats is None:
        return list(FORMATS)
    wanted = {str(name).strip().replace("-", " ").replace("_", " ") for name in formats}
    wanted = {"saved_model" if name == "saved model" else name for name in wanted}
    unknown = sorted(wanted - set(FORMATS))
    if unknown or not wanted:
        raise ValueError(
            f"Unknown export format(s) {', '.join(map(repr, unknown)) or '(none)'}; "
            f"expected some of {', '.join(FORMATS)}."
        )
    return [name for name in FORMATS if name in wanted or name == "keras"]


def benchmark_export(
    model_path,
    steps=20,
    warmup=3,
    batch_sizes=BATCH_SIZES,
    calibration_dataset=None,
    test_images=1000,
    formats=None,
):
    """Exports `model_path` to every format, times each and checks its answers.

    Formats: the `.keras` model through Keras `predict`, the SavedModel's
    `predict_images`, TFLite float32, float16 and int8 (LiteRT), and ONNX
    (onnxruntime), all on this CPU with their default threads. Latency is
    the median of `steps` calls on random images after `warmup` calls.
    With the run's `config.json` beside the model, each format's top-1
    accuracy on the run's test split and its top-1 agreement with Keras are
    measured too, on its first `test_images` images.

    `formats` limits the measured formats (see `FORMATS`; Keras is always
    measured, as the reference).

    Returns:
        `{"rows": [{"format", "size_mb", "median_ms_batch_<B>", ...,
        "top1_accuracy", "top1_agreement"}], "settings": {...}}`; the last
        two are None without a run config.
    """
    check_positive_int("test_images", test_images, minimum=0)
    formats = check_formats(formats)
    config = load_run_config(model_path)
    test = None
    if config is not None and test_images:
        test = split_arrays(config, "test", test_images)
    if test is not None and test[1].ndim == 2:
        test = (test[0], test[1].argmax(-1))
    keras_top1 = None
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "model")
        sources = [("keras", model_path)]
        if len(formats) > 1:
            # Every other format is converted from version 1's SavedModel.
            written = export_model(model_path, output, "saved_model")
            if "saved_model" in formats:
                sources.append(("saved_model", written["saved_model"]))
        for name in formats:
            if name.startswith("tflite"):
                quantize = name.split()[1].replace("float32", "none")
                converted = export_model(
                    model_path,
                    output,
                    "tflite",
                    version=1,
                    quantize=quantize,
                    calibration_dataset=(
                        calibration_dataset if quantize == "int8" else None
                    ),
                )
                sources.append((name, converted["tflite"]))
            elif name == "onnx":
                converted = export_model(model_path, output, "onnx", version=1)
                sources.append((name, converted["onnx"]))
        rng = np.random.default_rng(0)
        for name, path in sources:
            predictor = load_predictor(path)
            row = {"format": name, "size_mb": round(_size_mb(path), 3)}
            for batch in batch_sizes:
                images = rng.uniform(0, 255, (batch, *predictor.image_size, 3))
                seconds = _median_seconds(
                    predictor, images.astype("float32"), steps, warmup
                )
                row[f"median_ms_batch_{batch}"] = round(seconds * 1000, 3)
            row["top1_accuracy"] = row["top1_agreement"] = None
            if test is not None:
                top1 = _top1(predictor, test[0])
                # The first source is Keras itself.
                keras_top1 = top1 if keras_top1 is None else keras_top1
                row["top1_accuracy"] = round(float(np.mean(top1 == test[1])), 4)
                row["top1_agreement"] = round(float(np.mean(top1 == keras_top1)), 4)
            rows.append(row)
    return {
        "rows": rows,
        "settings": {
            "model_path": model_path,
            "steps": steps,
            "warmup": warmup,
            "batch_sizes": list(batch_sizes),
            "test_images": 0 if test is None else len(test[0]),
        },
    }


def format_report(result):
    """The measured table as text."""
    batches = result["settings"]["batch_sizes"]
    header = "format           size MB" + "".join(
        f"  ms @ batch {batch:<3}" for batch in batches
    )
    checked = result["settings"]["test_images"] > 0
    if checked:
        header += "  top-1  agrees"
    lines = [header]
    for row in result["rows"]:
        line = f"{row['format']:<15} {row['size_mb']:8.2f}" + "".join(
            f"  {row[f'median_ms_batch_{batch}']:14.2f}" for batch in batches
        )
        if checked:
            line += f"  {row['top1_accuracy']:.4f} {row['top1_agreement']:7.2%}"
        lines.append(line)
    if checked:
        lines.append(
            f"top-1 on the run's {result['settings']['test_images']} test images; "
            "agrees: the share with Keras' top-1."
        )
    return "\n".join(lines)
