"""`keras-rra benchmark export`: size and latency of every export format."""

import os
import statistics
import tempfile
import time

import numpy as np

from keras_rra.export.export_run import export_model
from keras_rra.export.predictors import load_predictor

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


def benchmark_export(
    model_path, steps=20, warmup=3, batch_sizes=BATCH_SIZES, calibration_dataset=None
):
    """Exports `model_path` to every format and times each.

    Formats: the `.keras` model through Keras `predict`, the SavedModel's
    `predict_images`, TFLite float32, float16 and int8 (LiteRT), and ONNX
    (onnxruntime), all on this CPU with their default threads. Latency is
    the median of `steps` calls on random images after `warmup` calls.

    Returns:
        `{"rows": [{"format", "size_mb", "median_ms_batch_<B>", ...}],
        "settings": {...}}`.
    """
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        output = os.path.join(folder, "model")
        written = export_model(model_path, output, "all")
        sources = [
            ("keras", model_path),
            ("saved_model", written["saved_model"]),
            ("tflite float32", written["tflite"]),
        ]
        for version, quantize in ((2, "float16"), (3, "int8")):
            quantized = export_model(
                model_path,
                output,
                "tflite",
                version=version,
                quantize=quantize,
                calibration_dataset=calibration_dataset,
            )
            sources.append((f"tflite {quantize}", quantized["tflite"]))
        sources.append(("onnx", written["onnx"]))
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
            rows.append(row)
    return {
        "rows": rows,
        "settings": {
            "model_path": model_path,
            "steps": steps,
            "warmup": warmup,
            "batch_sizes": list(batch_sizes),
        },
    }


def format_report(result):
    """The measured table as text."""
    batches = result["settings"]["batch_sizes"]
    header = "format           size MB" + "".join(
        f"  ms @ batch {batch:<3}" for batch in batches
    )
    lines = [header]
    for row in result["rows"]:
        lines.append(
            f"{row['format']:<15} {row['size_mb']:8.2f}"
            + "".join(f"  {row[f'median_ms_batch_{batch}']:14.2f}" for batch in batches)
        )
    return "\n".join(lines)
