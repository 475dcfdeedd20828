"""A hyperparameter search from a run config: `keras-rra tune`."""

import csv
import importlib.util
import json
import logging
import os
import shutil
import warnings

import keras
import keras_tuner
import tensorflow as tf

from keras_rra.settings.tuning_settings import OBJECTIVES
from keras_rra.settings.tuning_settings import TUNING_SETTINGS
from keras_rra.training.run import load_split
from keras_rra.training.run import train
from keras_rra.training.seed import set_seed
from keras_rra.training.strategy import check_batch_size
from keras_rra.training.strategy import resolve_strategy
from keras_rra.tuning.baseline_hyper_model import BaselineHyperModel
from keras_rra.tuning.coarse2fine_hyper_model import Coarse2FineHyperModel
from keras_rra.tuning.rra_hyper_model import RRAHyperModel
from keras_rra.utils.json_file import write_json

HYPER_MODELS = {
    "rra": RRAHyperModel,
    "coarse2fine": Coarse2FineHyperModel,
    "baseline": BaselineHyperModel,
}
PROJECT = "search"
SEARCH_FILE = "search.json"
TRIALS_FILE = "trials.csv"
BEST_CONFIG_FILE = "best_config.json"
BEST_RUN = "best_run"
# Settings of the run that may change between two calls on one search: they
# move no result (where logs go, how the hardware is used).
RESUMABLE = (
    "output",
    "tensorboard",
    "strategy",
    "jit_compile",
    "connect_timeout",
    "checkpoint_every",
)


class _NoRetracingNotes(logging.Filter):
    """Every trial builds a new model, so TensorFlow's note that a
    function was traced again says nothing about a search."""

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


def distributed_role():
    """`"chief"`, `"worker"` or None, from keras-tuner's own variables
    (`KERASTUNER_TUNER_ID`, `KERASTUNER_ORACLE_IP`, `KERASTUNER_ORACLE_PORT`)."""
    if "KERASTUNER_ORACLE_IP" not in os.environ:
        return None
    missing = [
        name
        for name in ("KERASTUNER_ORACLE_PORT", "KERASTUNER_TUNER_ID")
        if not os.environ.get(name)
    ]
    if missing:
        raise ValueError(
            f"KERASTUNER_ORACLE_IP is set but {' and '.join(missing)} is not: a "
            "distributed search needs all three (the chief's TUNER_ID starts with "
            "'chief', each worker's is its own name)."
        )
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def wait_for_oracle(timeout):
    """Waits until the chief's oracle answers; a sentence if it does not
    within `timeout` seconds."""
    import grpc

    address = (
        f"{os.environ['KERASTUNER_ORACLE_IP']}:{os.environ['KERASTUNER_ORACLE_PORT']}"
    )
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise RuntimeError(
            f"The search's oracle at {address} (KERASTUNER_ORACLE_IP, "
            f"KERASTUNER_ORACLE_PORT) did not answer within {timeout:g} s: start "
            "the chief (KERASTUNER_TUNER_ID=chief) first, or check the address "
            "(--connect-timeout waits longer)."
        ) from None
    finally:
        channel.close()


def check_tuner_packages(tuner):
    """Refuses a tuner whose packages are missing, before any trial."""
    if tuner != "bayesian":
        return
    missing = [
        package
        for package, module in (("scikit-learn", "sklearn"), ("scipy", "scipy"))
        if importlib.util.find_spec(module) is None
    ]
    if missing:
        raise ValueError(
            f"--tuner bayesian needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: pip install "
            f"{' '.join(missing)}."
        )


def even_for_replicas(train_data, validation_data, replicas, batch_size):
    """Batches that split evenly over `replicas`, which Keras 3's `fit` and
    `evaluate` under a `MirroredStrategy` need (keras-team/keras#19246: a
    last batch split unevenly fails). Training drops its last partial batch
    (each epoch is shuffled, so no example is left out of every epoch);
    validation drops at most `replicas - 1` examples, with a warning.
    `batch_size` is a multiple of `replicas` (`check_batch_size`)."""
    train_data = train_data.rebatch(batch_size, drop_remainder=True)
    examples = int(
        validation_data.reduce(0, lambda count, batch: count + tf.shape(batch[0])[0])
    )
    kept = examples - examples % replicas
    if kept < examples:
        warnings.warn(
            f"{examples - kept} of {examples} validation examples left out: "
            f"under {replicas} replicas each batch must split evenly.",
            stacklevel=2,
        )
    validation_data = validation_data.unbatch().take(kept).batch(batch_size)
    return train_data, validation_data


def search_identity(hypermodel, settings, data_config):
    """What makes two searches the same one: the model, the space, the
    fixed settings and data, the objective and the tuner."""
    fixed = {
        name: value
        for name, value in data_config.to_dict().items()
        if name not in hypermodel.space.ranges and name not in RESUMABLE
    }
    return {
        "model": hypermodel.model,
        "space": hypermodel.space.to_dict(),
        "settings": fixed,
        "tuner": settings["tuner"],
        "objective": settings["objective"],
    }


def identity_differences(saved, identity):
    """`["what: saved -> new", ...]` between two searches."""
    differences = []
    for key in ("model", "tuner", "objective"):
        if saved.get(key) != identity[key]:
            differences.append(f"{key}: {saved.get(key)!r} -> {identity[key]!r}")
    old_space, new_space = saved.get("space", {}), identity["space"]
    for name in sorted(set(old_space) | set(new_space)):
        if old_space.get(name) != new_space.get(name):
            differences.append(
                f"search range of {name}: {old_space.get(name, 'not searched')} -> "
                f"{new_space.get(name, 'not searched')}"
            )
    old, new = saved.get("settings", {}), identity["settings"]
    for name in sorted(set(old) | set(new)):
        if (
            name not in old_space
            and name not in new_space
            and old.get(name) != new.get(name)
        ):
            differences.append(f"{name}: {old.get(name)!r} -> {new.get(name)!r}")
    return differences


def _json_ready(identity):
    return json.loads(json.dumps(identity, default=str))


def _recording(tuner_class):
    """`tuner_class` that remembers the trials this process ran."""

    class RecordingTuner(tuner_class):
        def on_trial_begin(self, trial):
            self.trials_run = [*getattr(self, "trials_run", []), trial.trial_id]
            super().on_trial_begin(trial)

    RecordingTuner.__name__ = tuner_class.__name__
    return RecordingTuner


def build_tuner(hypermodel, settings, seed, directory, overwrite, strategy):
    """The keras-tuner tuner of `settings["tuner"]`."""
    objective = keras_tuner.Objective(
        settings["objective"], OBJECTIVES[settings["objective"]]
    )
    common = dict(
        objective=objective,
        seed=seed,
        directory=directory,
        project_name=PROJECT,
        overwrite=overwrite,
        executions_per_trial=settings["executions_per_trial"],
        distribution_strategy=strategy,
    )
    if settings["tuner"] == "hyperband":
        tuner = _recording(keras_tuner.Hyperband)(
            hypermodel,
            max_epochs=hypermodel.config.epochs,
            factor=settings["hyperband_factor"],
            **common,
        )
        # Hyperband sizes its brackets from the epochs; the trial budget
        # caps it.
        tuner.oracle.max_trials = settings["max_trials"]
        return tuner
    tuner_class = {
        "random": keras_tuner.RandomSearch,
        "bayesian": keras_tuner.BayesianOptimization,
    }[settings["tuner"]]
    return _recording(tuner_class)(
        hypermodel, max_trials=settings["max_trials"], **common
    )


def trial_rows(tuner, names, objective):
    """One row per trial: id, status, objective value, settings, error."""
    rows = []
    for trial_id, trial in sorted(tuner.oracle.trials.items()):
        values = trial.hyperparameters.values
        error = ""
        if trial.message:
            lines = [line for line in str(trial.message).splitlines() if line.strip()]
            error = lines[-1] if lines else ""
        score = trial.score
        # Hyperband trains its trials for different numbers of epochs.
        budget = {"epochs": values["tuner/epochs"]} if "tuner/epochs" in values else {}
        rows.append(
            {
                "trial": trial_id,
                "status": str(trial.status),
                objective: None if score is None else float(score),
                **budget,
                **{
                    name: values.get(name)
                    if trial.hyperparameters.is_active(name)
                    else None
                    for name in names
                },
                "error": error,
            }
        )
    return rows


def format_table(rows):
    """The trials as an aligned text table."""
    if not rows:
        return "no trials"
    columns = list(rows[0])

    def shown(value):
        if value is None:
            return "-"
        if isinstance(value, float):
            return f"{value:.4g}"
        return str(value)

    cells = [[shown(row[column]) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[index]) for line in cells))
        for index, column in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True))
        for line in cells
    ]
    return "\n".join(lines)


def write_trials_csv(path, rows):
    partial = f"{path}.partial"
    with open(partial, "w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else ["trial"])
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)


def tune(
    config,
    fixed=(),
    search=None,
    tune_names=None,
    overwrite=False,
    retrain=False,
    verbose=1,
    say=None,
    strategy=None,
    **settings,
):
    """Runs a keras-tuner search over `config.model` and writes its folder.

    Trials are compared on a validation split carved from the training
    split (`validation_fraction`, or `tuning_validation_fraction` when that
    is 0); the test split is used only by `retrain`. A second call on the
    same `directory` resumes (finished trials are not run again) unless
    `overwrite`; a folder of another search is refused, naming the
    difference. Under keras-tuner's chief/worker variables the chief serves
    the oracle and the workers run the trials.

    Args:
        config: the run's `TrainConfig`; settings not searched keep its
            values.
        fixed: settings the user chose (never searched).
        search: `{name: range}` added to or narrowing the declared space.
        tune_names: search only these settings.
        overwrite: start the search again.
        retrain: train the best configuration (`keras-rra train`) and
            report its test metrics.
        verbose: keras-tuner's and `fit`'s verbosity.
        say: a function printing one progress line.
        strategy: a `tf.distribute.Strategy` for each trial (default: the
            config's `strategy`).
        **settings: the search's settings (`TUNING_SETTINGS`: tuner,
            max_trials, objective, directory, executions_per_trial,
            hyperband_factor, tuning_validation_fraction).

    Returns:
        The summary: directory, trials, the best trial, its config and
        (with `retrain`) its run's metrics; on a worker, the trials it ran.
    """
    say = say or (lambda text: None)
    settings = {**TUNING_SETTINGS.defaults(), **TUNING_SETTINGS.check(settings)}
    check_tuner_packages(settings["tuner"])
    config.validate()
    directory = os.path.abspath(settings["directory"])
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise ValueError(f"--directory {directory!r} exists and is not a folder.")
    role = distributed_role()
    if role == "worker":
        say(f"waiting for the oracle ({os.environ['KERASTUNER_ORACLE_IP']})")
        wait_for_oracle(config.connect_timeout)

    validation_fraction = (
        config.validation_fraction or settings["tuning_validation_fraction"]
    )
    data_config = config.replace(validation_fraction=validation_fraction)
    set_seed(config.seed)
    if strategy is None:
        if config.strategy == "multiworker":
            raise ValueError(
                "A search spreads its trials over machines with keras-tuner's "
                "chief and workers (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, "
                "KERASTUNER_ORACLE_PORT), each trial on one machine: --strategy "
                "multiworker does not apply; use auto, default or mirrored."
            )
        strategy = resolve_strategy(config.strategy, config.connect_timeout)
    check_batch_size(strategy, config.batch_size)
    say("loading the data")
    train_data, class_names = load_split(data_config, "train")
    if len(class_names) < 2:
        raise ValueError(
            f"Dataset {config.dataset!r} has one class ({class_names[0]!r}); a "
            "classifier needs at least two."
        )
    if settings["objective"] == "val_top5_accuracy" and len(class_names) < 6:
        raise ValueError(
            f"--objective val_top5_accuracy needs 6 classes or more (with "
            f"{len(class_names)} a top-5 accuracy is always 1, so it is not "
            "reported); use val_accuracy or val_loss."
        )
    validation_data, _ = load_split(data_config, "validation", shuffle=False)
    if strategy.num_replicas_in_sync > 1:
        train_data, validation_data = even_for_replicas(
            train_data,
            validation_data,
            strategy.num_replicas_in_sync,
            config.batch_size,
        )
    steps = int(train_data.cardinality())
    hypermodel = HYPER_MODELS[config.model](
        config=config,
        fixed=fixed,
        class_names=class_names,
        search=search,
        tune=tune_names,
        steps_per_epoch=steps if steps > 0 else None,
    )
    identity = _json_ready(search_identity(hypermodel, settings, data_config))
    identity_path = os.path.join(directory, SEARCH_FILE)
    if role != "worker":
        if overwrite:
            for name in (SEARCH_FILE, TRIALS_FILE, BEST_CONFIG_FILE):
                if os.path.exists(os.path.join(directory, name)):
                    os.remove(os.path.join(directory, name))
            shutil.rmtree(os.path.join(directory, BEST_RUN), ignore_errors=True)
        elif os.path.isfile(identity_path):
            with open(identity_path, encoding="utf-8") as file:
                differences = identity_differences(json.load(file), identity)
            if differences:
                raise ValueError(
                    f"{directory!r} holds another search ({'; '.join(differences)}); "
                    "use another --directory, or --overwrite to start again."
                )
        elif os.path.isdir(os.path.join(directory, PROJECT)):
            raise ValueError(
                f"{directory!r} holds a search without {SEARCH_FILE}; use another "
                "--directory, or --overwrite to start again."
            )
    say(
        f"{settings['tuner']} search of {config.model} over "
        + ", ".join(f"{k} {v}" for k, v in hypermodel.space.describe().items())
    )
    tuner = build_tuner(
        hypermodel,
        settings,
        config.seed,
        directory,
        overwrite and role != "worker",
        strategy if strategy.num_replicas_in_sync > 1 else None,
    )
    if role != "worker":
        os.makedirs(directory, exist_ok=True)
        write_json(identity_path, identity)
    callbacks = []
    if config.tensorboard:
        # keras-tuner gives each trial its own folder under this one.
        callbacks.append(keras.callbacks.TensorBoard(config.tensorboard))
    if config.early_stopping:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=settings["objective"],
                mode=OBJECTIVES[settings["objective"]],
                patience=config.early_stopping,
            )
        )
    logging.getLogger("tensorflow").addFilter(_NoRetracingNotes())
    try:
        tuner.search(
            train_data,
            validation_data=validation_data,
            epochs=config.epochs,
            callbacks=callbacks,
            verbose=verbose,
        )
    except keras_tuner.errors.FatalError as error:
        lines = [line for line in str(error).splitlines() if line.strip()]
        raise RuntimeError(
            f"The search stopped: {lines[0] if lines else error} "
            f"{lines[-1] if len(lines) > 1 else ''}".strip()
        ) from None
    ran = list(getattr(tuner, "trials_run", []))
    if role == "worker":
        return {
            "directory": directory,
            "role": "worker",
            "tuner_id": os.environ["KERASTUNER_TUNER_ID"],
            "trials_run": ran,
        }
    names = hypermodel.space.names()
    rows = trial_rows(tuner, names, settings["objective"])
    write_trials_csv(os.path.join(directory, TRIALS_FILE), rows)
    summary = {
        "directory": directory,
        "model": config.model,
        "tuner": settings["tuner"],
        "objective": settings["objective"],
        "trials": len(rows),
        "completed": sum(row["status"] == "COMPLETED" for row in rows),
        "trials_run_here": ran,
        "table": format_table(rows),
    }
    best = [
        trial for trial in tuner.oracle.get_best_trials(1) if trial.score is not None
    ]
    if not best:
        raise RuntimeError(
            f"No trial of the search in {directory!r} finished; see "
            f"{os.path.join(directory, TRIALS_FILE)} for each one's error."
        )
    best_values = {
        name: value
        for name, value in hypermodel.space.declare(
            best[0].hyperparameters.copy()
        ).items()
    }
    best_config = hypermodel.space.config_for(best_values).replace(output=None)
    write_json(os.path.join(directory, BEST_CONFIG_FILE), best_config.to_dict())
    summary["best_trial"] = best[0].trial_id
    summary["best_score"] = float(best[0].score)
    summary["best_values"] = best_values
    summary["best_config"] = os.path.join(directory, BEST_CONFIG_FILE)
    if retrain:
        run_dir = os.path.join(directory, BEST_RUN)
        if os.path.exists(run_dir):
            say(f"replacing the previous retraining in {run_dir}")
            shutil.rmtree(run_dir)
        say(f"training the best configuration (trial {best[0].trial_id})")
        results = train(
            best_config.replace(output=run_dir),
            verbose=0 if not verbose else "auto",
        )
        summary["retrain"] = {"run_dir": results["run_dir"], "test": results["test"]}
    return summary
