"""Training and evaluation runs: datasets, model and optimiser from a config."""

import datetime
import json
import os
import time

import keras

from keras_rra.data.loader import load
from keras_rra.models.baseline_classifier import BaselineClassifier
from keras_rra.models.rra_classifier import RRAClassifier
from keras_rra.training.config import TrainConfig
from keras_rra.training.seed import set_seed

RUN_FILES = (
    "model.keras",
    "config.json",
    "metrics.json",
    "history.csv",
    "class_names.txt",
)


def load_split(config, split, shuffle=None):
    """The dataset split described by `config`: `(dataset, class_names)`."""
    boxes = None
    if config.model == "rra" and config.patch == "boxes":
        boxes = config.boxes or "part"
    return load(
        config.dataset,
        split,
        batch_size=config.batch_size,
        shuffle=shuffle,
        seed=config.seed,
        boxes=boxes,
        num_boxes=config.num_boxes,
        augmentation=config.augmentation,
        resize_size=config.resize_size,
        on_bad_image=config.on_bad_image,
        cache=config.cache,
        data_dir=config.data_dir,
        split_fraction=config.split_fraction,
        aircraft_level=config.aircraft_level,
        num_classes=config.num_classes,
        image_size=config.input_size or config.image_size,
        examples_per_class=config.examples_per_class,
        test_examples_per_class=config.test_examples_per_class,
    )


def build_model(config, class_names):
    """The classifier described by `config`, not yet compiled."""
    if config.model == "baseline":
        return BaselineClassifier(
            num_classes=len(class_names),
            backbone=config.backbone,
            image_size=config.image_size,
            weights=config.weights,
            dropout=config.dropout,
            class_names=class_names,
        )
    return RRAClassifier(
        num_classes=len(class_names),
        backbone=config.backbone,
        image_size=config.image_size,
        patch_size=config.patch_size,
        input_size=config.input_size,
        weights=config.weights,
        timesteps=config.timesteps,
        lstm_units=config.lstm_units,
        lstm_layers=config.lstm_layers,
        addon_channels=config.addon_channels,
        local_weight=config.local_weight,
        patch=config.patch,
        center_fraction=config.center_fraction,
        num_boxes=config.num_boxes if config.patch == "boxes" else None,
        eval_boxes=config.eval_boxes,
        dropout=config.dropout,
        seed=config.seed,
        class_names=class_names,
    )


def build_optimizer(config):
    """The optimiser described by `config`."""
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(
            learning_rate=config.learning_rate,
            momentum=config.momentum,
            weight_decay=config.weight_decay or None,
        )
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=config.learning_rate, weight_decay=config.weight_decay
        )
    return keras.optimizers.Adam(
        learning_rate=config.learning_rate, weight_decay=config.weight_decay or None
    )


def new_run_dir(root="runs"):
    """A fresh `root/<timestamp>` folder name (with a suffix if taken)."""
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(root, stamp)
    suffix = 1
    while os.path.exists(path):
        path = os.path.join(root, f"{stamp}-{suffix}")
        suffix += 1
    return path


def _check_run_dir(path):
    if os.path.exists(path) and not os.path.isdir(path):
        raise ValueError(f"Output path {path!r} exists and is not a folder.")
    taken = [name for name in RUN_FILES if os.path.exists(os.path.join(path, name))]
    if taken:
        raise ValueError(
            f"Output folder {path!r} already holds a run ({', '.join(taken)}); "
            "choose another --output or remove it."
        )


def write_json(path, values):
    """Writes JSON atomically: a reader never sees half a file."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(values, file, indent=2, sort_keys=True)
        file.write("\n")
    os.replace(partial, path)


def save_model(model, path):
    """Saves a `.keras` file atomically."""
    partial = f"{path}.partial.keras"
    model.save(partial)
    os.replace(partial, path)


def evaluate(model, dataset):
    """Test metrics as a dict of Python floats."""
    metrics = model.evaluate(dataset, verbose=0, return_dict=True)
    return {name: float(value) for name, value in metrics.items()}


def train(config, verbose="auto"):
    """Trains, evaluates on the test split and writes a run folder.

    Args:
        config: a `TrainConfig`.
        verbose: Keras verbosity of `fit` ("auto" shows progress bars).

    Returns:
        The contents of `metrics.json`, including `run_dir`.
    """
    config.validate()
    run_dir = config.output or new_run_dir()
    config = config.replace(output=run_dir)
    _check_run_dir(run_dir)
    set_seed(config.seed)

    # The data first: a dataset that fails to load leaves no run folder.
    train_data, class_names = load_split(config, "train")
    test_data, _ = load_split(config, "test")
    os.makedirs(run_dir, exist_ok=True)
    model = build_model(config, class_names)
    model.compile(optimizer=build_optimizer(config))

    write_json(os.path.join(run_dir, "config.json"), config.to_dict())
    with open(os.path.join(run_dir, "class_names.txt"), "w", encoding="utf-8") as file:
        file.write("\n".join(class_names) + "\n")

    start = time.perf_counter()
    history = model.fit(
        train_data,
        epochs=config.epochs,
        verbose=verbose,
        shuffle=False,  # the dataset shuffles itself, with the run's seed
        # The test split is watched for learning curves only: no model
        # selection or early stopping uses it.
        validation_data=test_data if config.validation_freq else None,
        validation_freq=config.validation_freq or 1,
        callbacks=[keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"))],
    )
    train_seconds = time.perf_counter() - start
    test_metrics = evaluate(model, test_data)
    save_model(model, os.path.join(run_dir, "model.keras"))

    results = {
        "run_dir": run_dir,
        "model": config.model,
        "dataset": config.dataset,
        "epochs": config.epochs,
        "train_seconds": round(train_seconds, 2),
        "train": {name: float(values[-1]) for name, values in history.history.items()},
        "test": test_metrics,
    }
    write_json(os.path.join(run_dir, "metrics.json"), results)
    return results


def load_run_config(model_path):
    """The `TrainConfig` saved beside a model, or None if there is none."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        return TrainConfig.from_dict(json.load(file), source=path)
