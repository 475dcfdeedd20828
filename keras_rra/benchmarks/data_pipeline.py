"""`keras-rra benchmark data`: can the input pipeline feed training?

It times the training split's pipeline alone (decode, resize, augment,
batch) and the model's training step alone on one of its batches, both in
images per second, and prints their ratio. A ratio of 3 or more means the
pipeline is never what training waits for.
"""

import time

from keras_rra.training.run import build_model
from keras_rra.training.run import build_optimizer
from keras_rra.training.run import load_split
from keras_rra.training.seed import set_seed


def _images_in(batch):
    inputs = batch[0]
    images = inputs["images"] if isinstance(inputs, dict) else inputs
    return int(images.shape[0])


def benchmark_data(config, steps=20, warmup=3):
    """Measures the input pipeline and the training step of `config`.

    Args:
        config: a `TrainConfig` (dataset, sizes, batch, model).
        steps: batches timed for each side.
        warmup: batches run first and not timed (tracing, autotuning).

    Returns:
        A dict of the settings and `pipeline_images_per_second`,
        `train_images_per_second` and `ratio` (pipeline / training).
    """
    set_seed(config.seed)
    dataset, class_names = load_split(config, "train")
    iterator = iter(dataset.repeat())
    for _ in range(warmup):
        batch = next(iterator)
    start, images = time.perf_counter(), 0
    for _ in range(steps):
        images += _images_in(next(iterator))
    pipeline_rate = images / (time.perf_counter() - start)

    model = build_model(config, class_names)
    model.compile(optimizer=build_optimizer(config))
    inputs, labels = batch
    for _ in range(warmup):
        model.train_on_batch(inputs, labels)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(inputs, labels)
    train_rate = steps * _images_in(batch) / (time.perf_counter() - start)
    return {
        "dataset": config.dataset,
        "model": config.model,
        "backbone": config.backbone,
        "image_size": config.input_size or config.image_size,
        "batch_size": config.batch_size,
        "steps": steps,
        "pipeline_images_per_second": round(pipeline_rate, 1),
        "train_images_per_second": round(train_rate, 1),
        "ratio": round(pipeline_rate / train_rate, 2),
    }


def format_report(result):
    """The result as a small table, one setting per line."""
    width = max(len(key) for key in result)
    lines = [f"{key:<{width}}  {value}" for key, value in result.items()]
    verdict = "ok" if result["ratio"] >= 3 else "below the 3x target"
    return "\n".join([*lines, f"{'pipeline / training':<{width}}  {verdict}"])
