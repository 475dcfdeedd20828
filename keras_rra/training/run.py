"""Training and evaluation runs: datasets, model and optimiser from a config."""

import datetime
import importlib.util
import inspect
import json
import os
import time

import keras

from keras_rra.data.boxes_file import read_boxes_file
from keras_rra.data.loader import load
from keras_rra.data.loader import parse_name
from keras_rra.data.loader import resolve_augmentation
from keras_rra.layers.image_converter import ImageConverter
from keras_rra.models import MODEL_CLASSES
from keras_rra.settings.data_settings import SOURCE_SETTINGS
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.training.config import RESUMABLE_CHANGES
from keras_rra.training.config import TrainConfig
from keras_rra.training.inference import load_classifier
from keras_rra.training.localization import dataset_localization
from keras_rra.training.localization import synthetic_localization
from keras_rra.training.multi_rate_sgd import MultiRateSGD
from keras_rra.training.run_progress import RunProgress
from keras_rra.training.schedules import build_schedule
from keras_rra.training.seed import set_seed
from keras_rra.training.strategy import check_batch_size
from keras_rra.training.strategy import resolve_strategy
from keras_rra.training.trainer import Trainer
from keras_rra.training.training_checkpoint import LATEST
from keras_rra.training.training_checkpoint import is_chief
from keras_rra.training.two_stage_training import TwoStageTraining
from keras_rra.utils.json_file import write_json
from keras_rra.utils.validation import smaller_side

RUN_FILES = (
    "model.keras",
    "config.json",
    "metrics.json",
    "history.csv",
    "class_names.txt",
)


def load_split(config, split, shuffle=None, part_boxes=False):
    """The dataset split described by `config`: `(dataset, class_names)`.

    The dataset's source takes its own settings only (see
    `keras_rra.data.sources`). With `part_boxes`, each example's inputs are
    `{"images", "boxes"}` with its true part box from `config.part_boxes`
    (to score where a model looks), whatever boxes the model takes."""
    boxes, num_boxes = None, config.boxes_per_image()
    if part_boxes:
        boxes, num_boxes = config.part_boxes, 1
    elif config.model == "rra" and config.patch == "boxes":
        boxes = config.boxes or "part"
    kind, _ = parse_name(config.dataset, config.data_dir)
    return load(
        config.dataset,
        split,
        batch_size=config.batch_size,
        shuffle=shuffle,
        seed=config.seed,
        boxes=boxes,
        num_boxes=num_boxes,
        augmentation=config.augmentation,
        resize_size=config.resize_size,
        on_bad_image=config.on_bad_image,
        cache=config.cache,
        data_dir=config.data_dir,
        validation_fraction=config.validation_fraction,
        max_image_pixels=config.max_image_pixels,
        image_size=smaller_side(config.input_size or config.image_size),
        **{name: getattr(config, name) for name in SOURCE_SETTINGS[kind].names()},
    )


def part_localization(model, config, split="test"):
    """How well the region `model` chooses finds the part, on a split of
    `config`'s data: the scores of
    `keras_rra.training.localization.localization_scores`.

    The synthetic datasets know their part boxes; any other dataset is
    scored against `config.part_boxes` (a boxes CSV) when it is set.
    Returns None when the model chooses no region, when the boxes are
    unknown, or when the model is given its boxes (`patch="boxes"` outside
    the synthetic data: its region is the file's).
    """
    kind, _ = parse_name(config.dataset, config.data_dir)
    if kind == "synthetic":
        return synthetic_localization(model, config, split)
    if config.part_boxes is None or len(model.inputs) > 1:
        return None
    dataset, _ = load_split(config, split, shuffle=False, part_boxes=True)
    return dataset_localization(model, dataset)


def image_converter(config):
    """The `ImageConverter` of the run's data: its evaluation resize and
    crop, which the model keeps (and every export with it)."""
    augmentation = resolve_augmentation(
        config.dataset,
        config.augmentation,
        smaller_side(config.input_size or config.image_size),
        config.resize_size,
        config.data_dir,
    )
    return ImageConverter(
        augmentation.image_size,
        augmentation=augmentation.preset,
        resize_size=augmentation.resize_size,
        name="image_converter",
    )


def build_model(config, class_names, transfer=None):
    """The classifier described by `config`, not yet compiled: the chosen
    model's class with the config's model settings, under the same names.

    With `config.init_from`, every weight of that saved classifier that
    fits is copied in (see `FineGrainedClassifier.copy_weights_from`); the
    names of the layers that start afresh go to `transfer["rebuilt_layers"]`
    when a dict is given."""
    model_class = MODEL_CLASSES[config.model]
    # The run's seed also seeds a model's own random choices.
    seeded = {"seed": config.seed} if "seed" in model_signature(model_class) else {}
    model = model_class(
        num_classes=len(class_names),
        class_names=class_names,
        image_converter=image_converter(config),
        **seeded,
        **config.model_settings(),
    )
    if config.init_from:
        source = load_classifier(config.init_from)
        if type(source) is not model_class:
            raise ValueError(
                f"`init_from` {config.init_from!r} holds a {type(source).__name__}; "
                f"model {config.model!r} is a {model_class.__name__}."
            )
        rebuilt = model.copy_weights_from(source)
        if transfer is not None:
            transfer["rebuilt_layers"] = rebuilt
    return model


def init_from_settings(config, given):
    """`config` with the model and model settings of the classifier saved at
    `config.init_from`, except the settings named in `given` (those the user
    chose): fine-tuning keeps the architecture it starts from."""
    if not config.init_from:
        return config
    config.validate()
    source = load_classifier(config.init_from)
    names = {model_class: name for name, model_class in MODEL_CLASSES.items()}
    name = names.get(type(source))
    if name is None:
        raise ValueError(
            f"`init_from` {config.init_from!r} holds a {type(source).__name__}, "
            "not a keras-rra classifier."
        )
    values = {} if "model" in given else {"model": name}
    if values.get("model", config.model) == name:
        saved = source.get_config()
        settings = MODEL_SETTINGS[name]
        for key in settings.names():
            if key in given or key not in saved:
                continue
            value = saved[key]
            if isinstance(value, (list, tuple)) and settings[key].kind == "size":
                # A model keeps (height, width); a square one is one side.
                value = value[0] if len(set(value)) == 1 else list(value)
            try:
                values[key] = settings.check_value(key, value)
            except (TypeError, ValueError):
                continue  # A Python object (a user's backbone): not a setting.
    return config.replace(**values)


def model_signature(model_class):
    """The constructor arguments of a model class, by name."""
    return inspect.signature(model_class.__init__).parameters


def build_optimizer(config, model=None, steps_per_epoch=None):
    """The optimiser described by `config`, with its learning-rate schedule.

    `sgd` is the RRA reference recipe: momentum, weight decay added to the
    gradient (as torch.optim.SGD does), and with `global_learning_rate` the
    global stream of `model` learns at its own rate.
    """
    learning_rate = build_schedule(
        config.learning_rate,
        config.schedule,
        steps_per_epoch=steps_per_epoch,
        epochs=config.epochs,
        decay_epochs=config.decay_epochs,
        decay_factor=config.decay_factor,
        warmup_epochs=config.warmup_epochs,
    )
    if config.optimizer == "sgd":
        optimizer = MultiRateSGD(
            learning_rate=learning_rate,
            momentum=config.momentum,
            l2_weight_decay=config.weight_decay,
        )
        if config.global_learning_rate is not None and model is not None:
            optimizer.set_learning_rate_multiplier(
                model.global_stream_variables(),
                config.global_learning_rate / config.learning_rate,
            )
        return optimizer
    if config.optimizer == "adamw":
        return keras.optimizers.AdamW(
            learning_rate=learning_rate, weight_decay=config.weight_decay
        )
    return keras.optimizers.Adam(
        learning_rate=learning_rate, weight_decay=config.weight_decay or None
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


def _saved_config(run_dir):
    path = os.path.join(run_dir, "config.json")
    if not os.path.isfile(path):
        raise ValueError(
            f"{run_dir!r} has a checkpoint but no config.json; it cannot be resumed."
        )
    with open(path, encoding="utf-8") as file:
        return TrainConfig.from_dict(json.load(file), source=path)


def config_differences(saved, config):
    """Settings (other than `RESUMABLE_CHANGES`) where two configs differ,
    as `["name: saved -> new", ...]`."""
    old, new = saved.to_dict(), config.to_dict()
    return [
        f"{key}: {old.get(key)!r} -> {new.get(key)!r}"
        for key in TrainConfig.keys()
        if key not in RESUMABLE_CHANGES
        and (key in old or key in new)
        and old.get(key) != new.get(key)
    ]


def can_resume(run_dir):
    """Whether `run_dir` holds a checkpoint of an unfinished run."""
    return os.path.isfile(
        os.path.join(run_dir, "checkpoints", LATEST)
    ) and not os.path.exists(os.path.join(run_dir, "model.keras"))


def finished_epochs(run_dir):
    """The epochs a finished run in `run_dir` has trained, as its last
    checkpoint records them; None if it is not finished or has none."""
    latest = os.path.join(run_dir, "checkpoints", LATEST)
    if not (
        os.path.exists(os.path.join(run_dir, "model.keras")) and os.path.isfile(latest)
    ):
        return None
    with open(latest, encoding="utf-8") as file:
        return int(json.load(file)["epoch"])


def can_continue(run_dir, epochs):
    """Whether a finished run in `run_dir` can train on to `epochs` epochs
    from its last checkpoint (more than it has)."""
    done = finished_epochs(run_dir)
    return done is not None and epochs > done


def resume_config(run_dir, changes=None):
    """The config of the unfinished run in `run_dir`, with `changes` applied.

    Raises ValueError if the folder cannot be resumed, or if `changes` alter
    a setting outside `RESUMABLE_CHANGES` (naming each).
    """
    if not os.path.isdir(run_dir):
        raise ValueError(f"Run folder {run_dir!r} does not exist.")
    model_path = os.path.join(run_dir, "model.keras")
    if os.path.exists(model_path):
        done = finished_epochs(run_dir)
        fine_tune = f"; or start a new run from its weights: --init-from {model_path}"
        if done is None:
            raise ValueError(
                f"Run {run_dir!r} is finished and kept no checkpoint to train on "
                f"from{fine_tune}."
            )
        epochs = (changes or {}).get("epochs", _saved_config(run_dir).epochs)
        if epochs <= done:
            raise ValueError(
                f"Run {run_dir!r} is finished after {done} epochs: pass --epochs "
                f"more than {done} to train it on from its last checkpoint"
                f"{fine_tune}."
            )
    elif not can_resume(run_dir):
        raise ValueError(f"Run folder {run_dir!r} has no checkpoint to resume from.")
    saved = _saved_config(run_dir)
    config = saved.replace(**dict(changes or {}), output=run_dir)
    config = config.with_resolved_paths()
    _refuse_differences(run_dir, saved, config)
    return config


def _refuse_differences(run_dir, saved, config):
    differences = config_differences(saved, config)
    if differences:
        raise ValueError(
            f"Run {run_dir!r} was started with other settings; resuming it would "
            f"mix two configurations: {'; '.join(differences)}. Use another "
            "--output for a new run."
        )


def save_model(model, path):
    """Saves a `.keras` file atomically."""
    partial = f"{path}.partial.keras"
    model.save(partial)
    os.replace(partial, path)


def evaluate(model, dataset, verbose=0):
    """Test metrics as a dict of Python floats (a model saved without
    `compile` gets the default loss and metrics)."""
    if not getattr(model, "compiled", False):
        model.compile()
    metrics = model.evaluate(dataset, verbose=verbose, return_dict=True)
    return {name: float(value) for name, value in metrics.items()}


def selection_callbacks(config):
    """Early stopping, keeping the best weights and TensorBoard logs, as
    the config asks."""
    callbacks = []
    if config.early_stopping or config.keep == "best":
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor="val_loss",
                patience=config.early_stopping or config.epochs + 1,
                restore_best_weights=config.keep == "best",
            )
        )
    if config.tensorboard:
        if importlib.util.find_spec("tensorboard") is None:
            raise ValueError(
                "--tensorboard needs the tensorboard package, which is not "
                "installed: pip install tensorboard."
            )
        callbacks.append(keras.callbacks.TensorBoard(config.tensorboard))
    return callbacks


def train(config, verbose="auto", callbacks=None):
    """Trains with the `Trainer`, evaluates on the test split and writes a
    run folder.

    If `config.output` holds a checkpoint of an unfinished run, the run
    resumes from it; if it holds a finished run and `config.epochs` is more
    than it trained, it trains on from its last checkpoint (and rewrites
    `model.keras` and `metrics.json` at the end). Either way the settings
    must be those the run was started with (only `RESUMABLE_CHANGES` may
    differ). With `config.init_from` a new run starts from that saved
    classifier's weights (see `build_model`).

    Args:
        config: a `TrainConfig`.
        verbose: progress-bar verbosity (0, 1, 2 or "auto").
        callbacks: extra Keras callbacks.

    Returns:
        The contents of `metrics.json`: `run_dir`, `model`, `dataset`,
        `epochs`, `train_seconds`, `train` (the last epoch's training
        metrics), `validation` (the validation split's, when
        `validation_fraction` carves one) and `test` (the test split,
        evaluated once after training and never used to choose).
    """
    config.validate()
    if config.part_boxes is not None:
        # Read before training: a bad file stops the run before it starts.
        read_boxes_file(config.part_boxes, 1)
    run_dir = config.output or new_run_dir()
    config = config.replace(output=run_dir).with_resolved_paths()
    resuming = can_resume(run_dir) or can_continue(run_dir, config.epochs)
    if resuming:
        _refuse_differences(run_dir, _saved_config(run_dir), config)
    else:
        _check_run_dir(run_dir)
    set_seed(config.seed)
    # Before any TensorFlow op: a multi-worker strategy configures the
    # runtime at creation.
    strategy = resolve_strategy(config.strategy, config.connect_timeout)
    check_batch_size(strategy, config.batch_size)

    # The data first: a dataset that fails to load leaves no run folder.
    train_data, class_names = load_split(config, "train")
    if len(class_names) < 2:
        raise ValueError(
            f"Dataset {config.dataset!r} has one class ({class_names[0]!r}) in its "
            "train split; a classifier needs at least two."
        )
    test_data, _ = load_split(config, "test")
    # The split the run watches: the validation split carved from the
    # training data (learning curves, early stopping and --keep best), or
    # none. The test split is evaluated once, after training.
    watched = None
    if config.validation_fraction:
        watched, _ = load_split(config, "validation", shuffle=False)
    steps = int(train_data.cardinality())
    transfer = {}
    trainer = Trainer(
        lambda: build_model(config, class_names, transfer),
        optimizer=lambda model: build_optimizer(config, model, steps),
        strategy=strategy,
        jit_compile=config.jit_compile,
        mixed_precision=config.mixed_precision,
        clip_norm=config.clip_norm,
        checkpoint_dir=os.path.join(run_dir, "checkpoints"),
        checkpoint_every=config.checkpoint_every,
    )
    chief = is_chief(trainer.strategy)
    callbacks = list(callbacks or [])
    if verbose != 0:
        callbacks.append(RunProgress(config.epochs))
    callbacks += selection_callbacks(config)
    if config.model == "coarse2fine":
        callbacks.insert(0, TwoStageTraining(config.stage1_epochs))
    if chief:
        os.makedirs(run_dir, exist_ok=True)
        write_json(os.path.join(run_dir, "config.json"), config.to_dict())
        with open(
            os.path.join(run_dir, "class_names.txt"), "w", encoding="utf-8"
        ) as file:
            file.write("\n".join(class_names) + "\n")
        callbacks.append(
            keras.callbacks.CSVLogger(
                os.path.join(run_dir, "history.csv"), append=resuming
            )
        )

    start = time.perf_counter()
    history = trainer.fit(
        train_data,
        epochs=config.epochs,
        validation_data=watched if config.validation_freq else None,
        validation_freq=config.validation_freq,
        callbacks=callbacks,
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start
    # E.g. RRA's part stream takes the batch-normalisation statistics of the
    # patches its navigator chooses, not the moving averages of training.
    changed = trainer.model.finish_training(
        load_split(config, "train", shuffle=False)[0]
    )
    test_metrics = trainer.evaluate(test_data)
    results = {
        "run_dir": run_dir,
        "model": config.model,
        "dataset": config.dataset,
        "epochs": config.epochs,
        "train_seconds": round(train_seconds, 2),
        **last_epoch_metrics(history.history),
        "test": test_metrics,
    }
    if changed and watched is not None and config.validation_freq:
        # The validation numbers describe the model that is saved; history.csv
        # keeps those seen while training.
        results["validation"] = trainer.evaluate(watched)
    if config.init_from:
        results["init_from"] = {"path": config.init_from, **transfer}
    if chief:
        # Saved before anything else can fail: the trained model is kept.
        save_model(trainer.model, os.path.join(run_dir, "model.keras"))
    localization = part_localization(trainer.model, config)
    if localization is not None:
        results["test_localization"] = localization
    if chief:
        write_json(os.path.join(run_dir, "metrics.json"), results)
    return results


def last_epoch_metrics(history):
    """The last epoch's metrics of a Keras history: `train` and, where a
    validation split was watched, `validation` (its `val_` metrics, under
    their own names)."""
    metrics = {"train": {}}
    for name, values in history.items():
        if not values:
            continue
        if name.startswith("val_"):
            metrics.setdefault("validation", {})[name[4:]] = float(values[-1])
        else:
            metrics["train"][name] = float(values[-1])
    return metrics


def model_data_config(model, dataset):
    """A config to read `dataset` for a saved `model` without its run's
    config: sized by the model's own `ImageConverter` (its resize and
    crop), as the model was evaluated in training."""
    converter = model.image_converter
    size = int(model.inputs[0].shape[1])
    values = {"image_size": size, "num_classes": model.num_classes}
    if converter is not None:
        values.update(
            augmentation=converter.augmentation, resize_size=converter.resize_size
        )
    # Only the data settings matter here: the baseline's model settings
    # check nothing against the data.
    return TrainConfig(model="baseline", dataset=dataset, **values)


def load_run_config(model_path):
    """The `TrainConfig` saved beside a model, or None if there is none."""
    path = os.path.join(os.path.dirname(os.path.abspath(model_path)), "config.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        return TrainConfig.from_dict(json.load(file), source=path)
