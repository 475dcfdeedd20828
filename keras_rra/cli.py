"""The `keras-rra` command: train, tune, evaluate, predict, explain, plot,
export, benchmark.

Heavy imports (TensorFlow) happen inside the commands so that `--help`
answers at once.
"""

import argparse
import difflib
import json
import os
import sys
import warnings


def _epoch_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epochs separated by commas, e.g. 30,60; received {text!r}"
        ) from None


def _word_list(text):
    return [part.strip() for part in text.split(",") if part.strip()]


# Other spellings of some flags.
FLAG_ALIASES = {"jit_compile": ["--jit"]}
# The settings `benchmark train` varies, as `train` declares them.
BENCHMARK_MODEL_SETTINGS = (
    "backbone",
    "image_size",
    "patch_size",
    "lstm_units",
    "addon_channels",
    "num_classes",
)
# The flags of `evaluate`: data settings of the run it evaluates on.
EVALUATE_SETTINGS = (
    "dataset",
    "data_dir",
    "part_boxes",
    "on_bad_image",
    "batch_size",
    "examples_per_class",
    "test_examples_per_class",
    "seed",
)


def _help(name, setting, owners):
    """A setting's help line, with each model's default under the CLI's
    default preset (and the paper preset's where it differs)."""
    from keras_rra.settings.presets import PRESET
    from keras_rra.settings.run_settings import defaults_by_model

    if not owners:
        return setting.describe()
    defaults = defaults_by_model(name, PRESET.default)
    text = setting.describe(defaults).replace(
        "(default: ", f"[{', '.join(owners)}] (default: ", 1
    )
    paper = defaults_by_model(name, "paper")
    if defaults == paper:
        return text
    shown = {_shown(value) for value in paper.values()}
    if len(shown) == 1:
        return f"{text[:-1]}; preset paper: {shown.pop()})"
    listed = ", ".join(f"{_shown(value)} ({model})" for model, value in paper.items())
    return f"{text[:-1]}; preset paper: {listed})"


def _shown(value):
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def _add_setting(parser, name, setting, owners=()):
    parser.add_argument(
        setting.flag,
        *FLAG_ALIASES.get(name, []),
        type=setting.parse,
        dest=name,
        metavar=name.upper(),
        help=_help(name, setting, owners).replace("%", "%%"),
    )


def _add_train_flags(parser):
    """`--config` and one flag per run setting, generated from the
    declarations of `keras_rra.settings`."""
    from keras_rra.settings.run_settings import run_settings

    parser.add_argument("--config", help="JSON or YAML file with the same keys")
    groups = {
        "run": parser.add_argument_group("run"),
        "data": parser.add_argument_group("data"),
        "model": parser.add_argument_group(
            "model settings (the constructors' arguments; [the models that take each])"
        ),
        "training": parser.add_argument_group("training"),
    }
    from keras_rra.settings.data_settings import DATA_SETTINGS

    for name, (setting, owners) in run_settings().items():
        if name in ("model", "preset"):
            group = groups["run"]
        elif name in DATA_SETTINGS:
            group = groups["data"]
        elif owners:
            group = groups["model"]
        else:
            group = groups["training"]
        _add_setting(group, name, setting, owners)


def train_flag_names():
    """The names of the settings `train` takes as flags."""
    from keras_rra.settings.run_settings import run_settings

    return list(run_settings())


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations (`--epoch` is not silently
    `--epochs`), and with the closest known flag or command suggested for
    an unknown one."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)

    def parse_args(self, args=None, namespace=None):
        args, unknown = self.parse_known_args(args, namespace)
        if unknown:
            parser = self._command_parser(args)
            flags = [
                option for action in parser._actions for option in action.option_strings
            ]
            word = unknown[0].split("=", 1)[0]
            close = difflib.get_close_matches(word, flags, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            parser.error(f"unrecognized argument {word}{hint}")
        return args

    def _command_parser(self, args):
        """The parser of the (sub)command the arguments chose."""
        parser = self
        for action in self._subparsers._group_actions if self._subparsers else []:
            name = getattr(args, action.dest, None)
            if name in action.choices:
                parser = action.choices[name]
                if isinstance(parser, _Parser) and parser._subparsers:
                    return parser._command_parser(args)
        return parser

    def _check_value(self, action, value):
        # An unknown command: the closest one, as for flags.
        if action.choices is not None and value not in action.choices:
            close = difflib.get_close_matches(value, list(action.choices), n=1)
            if close:
                raise argparse.ArgumentError(
                    action,
                    f"invalid choice: {value!r}; did you mean {close[0]!r}? "
                    f"(choose from {', '.join(map(repr, action.choices))})",
                )
        super()._check_value(action, value)


def _add_max_image_pixels(parser):
    """The pixel limit of untrusted images, as `train` declares it."""
    from keras_rra.settings.data_settings import COMMON_DATA_SETTINGS

    setting = COMMON_DATA_SETTINGS["max_image_pixels"]
    _add_setting(parser, setting.name, setting)
    parser.set_defaults(max_image_pixels=setting.default)


def _add_verbose(parser):
    parser.add_argument(
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="show TensorFlow's own log lines (held back by default, whether or "
        "not TF_CPP_MIN_LOG_LEVEL is set)",
    )


def _build_parser():
    parser = _Parser(
        prog="keras-rra",
        description="Fine-grained image classification with RRA for Keras 3.",
    )
    _add_verbose(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    train = commands.add_parser(
        "train",
        help="train a model and write a run folder",
        description="Train a model. Settings come from the defaults, then "
        "--config FILE, then the flags given.",
        argument_default=argparse.SUPPRESS,
    )
    _add_train_flags(train)
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the run in folder RUN from its last checkpoint: an "
        "unfinished one, or a finished one to more --epochs (flags may change "
        "only epochs, validation, data location, strategy, jit, checkpointing); "
        "a run folder given as --output with a checkpoint resumes too. To train "
        "a new run from a saved model's weights (new data, other classes), use "
        "--init-from MODEL.keras",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")

    tune = commands.add_parser(
        "tune",
        help="search the model's settings with keras-tuner",
        description="A keras-tuner search over the chosen model's settings: "
        "every setting declared with a range (see `keras_rra.settings`) that "
        "no flag fixes. Trials are compared on a validation split carved from "
        "the training split, never the test split. A flag of `train` fixes "
        "that setting; --search narrows or adds a range. Writes DIRECTORY/"
        "trials.csv and DIRECTORY/best_config.json (for `keras-rra train "
        "--config`). A second call on the same directory resumes. With "
        "keras-tuner's KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT set, the chief serves the search and the "
        "workers run its trials.",
        argument_default=argparse.SUPPRESS,
    )
    from keras_rra.settings.tuning_settings import TUNING_SETTINGS

    search_group = tune.add_argument_group("search")
    for setting in TUNING_SETTINGS:
        _add_setting(search_group, setting.name, setting)
    search_group.add_argument(
        "--search",
        action="append",
        metavar="NAME=RANGE",
        help="a setting's range: choices (lstm_units=64,128; backbone=tiny,"
        "mobilenetv3small) or an interval (timesteps=1:10, "
        "learning_rate=1e-4:1e-2:log); repeatable",
    )
    search_group.add_argument(
        "--tune",
        type=_word_list,
        metavar="NAMES",
        help="search only these settings, e.g. timesteps,learning_rate",
    )
    search_group.add_argument(
        "--overwrite", action="store_true", help="start the search again"
    )
    search_group.add_argument(
        "--retrain",
        action="store_true",
        help="train the best configuration and report its test metrics",
    )
    _add_train_flags(tune)
    tune.add_argument("--quiet", action="store_true", help="no progress")

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a saved model and print metrics as JSON",
        description="Evaluate a saved model. Dataset settings default to the "
        "run's config.json beside the model; without one, --dataset is needed.",
    )
    evaluate.add_argument("--model-path", required=True, help="a .keras file")
    evaluate.add_argument("--split", default="test", help="split (default: test)")
    evaluate.add_argument("--quiet", action="store_true", help="no progress")
    from keras_rra.settings.run_settings import run_settings

    for name in EVALUATE_SETTINGS:
        _add_setting(evaluate, name, run_settings()[name][0])
    evaluate.set_defaults(**dict.fromkeys(EVALUATE_SETTINGS))

    benchmark = commands.add_parser(
        "benchmark",
        help="measure speed and print the numbers",
        description="Benchmarks that print measured numbers.",
    )
    benchmarks = benchmark.add_subparsers(dest="benchmark", metavar="BENCHMARK")
    benchmarks.required = True
    data = benchmarks.add_parser(
        "data",
        help="images/s of the input pipeline next to the training step's",
        description="Times the training split's input pipeline and the "
        "model's training step on the same batch size, and prints their ratio "
        "(target: >= 3). Settings as for `train`.",
        argument_default=argparse.SUPPRESS,
    )
    _add_train_flags(data)
    data.add_argument("--steps", type=int, default=20, help="timed batches")
    data.add_argument("--warmup", type=int, default=3, help="untimed batches first")

    train_bench = benchmarks.add_parser(
        "train",
        help="training images/s, FLOP/s against the matmul peak, and memory "
        "per model, T, XLA mode and precision",
        description="Measures the machine's dense matmul peak of each "
        "precision's compute dtype, then times the Trainer's training step for "
        "each model, number of refinement steps T, XLA mode and precision, each "
        "in its own process, and prints images/s, GFLOP per image (counted from "
        "the step's graph), GFLOP/s and their fraction of the peak, peak memory, "
        "time(T=max)/time(T=min) (target <= 1.15), the XLA speed-up and mixed "
        "bfloat16's speed-up over float32.",
    )
    train_bench.add_argument("--models", type=_word_list, default=["baseline", "rra"])
    train_bench.add_argument("--timesteps", type=_epoch_list, default=[1, 4, 10])
    train_bench.add_argument("--jit", type=_word_list, default=["off", "on"])
    from keras_rra.settings.training_settings import MIXED_PRECISION

    train_bench.add_argument(
        "--precisions",
        type=_word_list,
        default=["float32"],
        help="mixed-precision policies, separated by commas (default float32; "
        f"some of {', '.join(MIXED_PRECISION)})",
    )
    train_bench.add_argument(
        "--peak-size",
        type=int,
        default=2048,
        help="side of the matrices of the matmul peak (default 2048)",
    )
    # The model's settings as `train` takes them, with the cpu preset's
    # defaults; the benchmark's own batch is smaller.
    from keras_rra.settings.presets import PRESET
    from keras_rra.settings.run_settings import model_default
    from keras_rra.settings.run_settings import run_settings

    for name in BENCHMARK_MODEL_SETTINGS:
        setting, owners = run_settings()[name]
        _add_setting(train_bench, name, setting, owners)
        default = model_default(owners[0], name, PRESET.default) if owners else None
        train_bench.set_defaults(**{name: default or setting.default})
    train_bench.add_argument(
        "--batch-size", type=int, default=16, help="examples per batch (default 16)"
    )
    train_bench.add_argument("--steps", type=int, default=10, help="timed steps")
    train_bench.add_argument("--warmup", type=int, default=3, help="untimed steps")

    from keras_rra.benchmarks import accuracy as accuracy_benchmark

    accuracy = benchmarks.add_parser(
        "accuracy",
        help="where-to-look sources against their bounds, over seeds",
        description="Trains each row (baseline = lower bound, centred patch, "
        "learned navigator, true part box = upper bound, Coarse2Fine, the "
        "full-resolution baselines) on the synthetic presets with every seed, "
        "exactly as `keras-rra train` does, and prints mean ± std of top-1, of "
        "the localisation of the chosen boxes, inference FLOPs and seconds per "
        "epoch.",
    )
    accuracy.add_argument(
        "--presets",
        type=_word_list,
        default=None,
        help="comma-separated synthetic presets (default: "
        + ",".join(accuracy_benchmark.DEFAULT_PRESETS)
        + "); cub is --full",
    )
    accuracy.add_argument(
        "--full",
        action="store_true",
        help="the papers' setting instead: CUB-200-2011 through tfds, ImageNet "
        "weights, the paper preset, the reference code's SGD recipe, 90 epochs "
        "(for a machine with a GPU and network; hours)",
    )
    accuracy.add_argument(
        "--rows",
        type=_word_list,
        default=None,
        help="rows to run, e.g. baseline,navigator,true_box (default: each "
        "preset's comparison); also saliency, coarse2fine_zoom, activation",
    )
    accuracy.add_argument(
        "--seeds", type=_epoch_list, default=[0, 1, 2], help="seeds (default 0,1,2)"
    )
    accuracy.add_argument(
        "--epochs", type=int, default=None, help="override every preset's epochs"
    )
    accuracy.add_argument(
        "--output",
        help="a JSON file for every run's numbers, the machine and the command, "
        "rewritten after each run; a benchmark interrupted goes on from it",
    )

    from keras_rra.benchmarks.speed import SPEED_MODELS
    from keras_rra.benchmarks.speed import SPEED_SETTING_NAMES

    speed = benchmarks.add_parser(
        "speed",
        help="every speed number in one run: peak, training per model, "
        "precision and XLA mode, Trainer vs fit, pipeline, export",
        description="Measures the machine's dense matmul peaks, then the "
        "training step of each model (baseline, RRA with each patch source, "
        "Coarse2Fine) at the small (cpu preset) and the reference (VGG-19, "
        "224 px) setting for each XLA mode and precision, each in its own "
        "process: images/s, GFLOP per image counted from the step's graph, "
        "GFLOP/s, the fraction of the peak and peak memory; RRA's time(T=10)/"
        "time(T=1); the Trainer against model.fit; the input pipeline against "
        "the step; each export format's size and latency. The default run takes "
        "about 30 minutes on 2 CPU cores.",
    )
    speed.add_argument(
        "--settings",
        type=_word_list,
        default=list(SPEED_SETTING_NAMES),
        help=f"settings to measure (default {','.join(SPEED_SETTING_NAMES)})",
    )
    speed.add_argument(
        "--models",
        type=_word_list,
        help=f"models, replacing each setting's own: some of {', '.join(SPEED_MODELS)}",
    )
    speed.add_argument(
        "--jit", type=_word_list, help="XLA modes, replacing each setting's own"
    )
    speed.add_argument(
        "--precisions",
        type=_word_list,
        help="mixed-precision policies, replacing each setting's own",
    )
    speed.add_argument(
        "--peak-size", type=int, default=2048, help="side of the matmul (2048)"
    )
    speed.add_argument(
        "--export-models",
        type=_word_list,
        default=["baseline", "rra-navigator", "coarse2fine"],
        help="models whose export formats are timed, or none "
        "(default baseline,rra-navigator,coarse2fine)",
    )
    speed.add_argument(
        "--data-steps",
        type=int,
        default=20,
        help="timed batches of the input pipeline (0: not measured; default 20)",
    )
    speed.add_argument(
        "--export-steps", type=int, default=20, help="timed calls per export format"
    )
    speed.add_argument("--output", help="a JSON file for every number")

    everything = benchmarks.add_parser(
        "all",
        help="accuracy and speed benchmarks, written up as BENCHMARKS.md "
        "with PNG plots",
        description="Runs `benchmark accuracy` and `benchmark speed` with their "
        "defaults into --output-dir (accuracy.json, speed.json: a part already "
        "there is kept, an interrupted one goes on), then writes BENCHMARKS.md "
        "and accuracy.png and speed.png beside them (and timesteps.png when "
        "the T rows were measured). About two hours on 2 CPU cores.",
    )
    everything.add_argument(
        "--output-dir", required=True, help="folder of the JSON, report and plots"
    )
    everything.add_argument(
        "--full",
        action="store_true",
        help="accuracy on CUB with the papers' setting (see benchmark accuracy)",
    )
    everything.add_argument(
        "--report-only",
        action="store_true",
        help="measure nothing: write BENCHMARKS.md and the plots from the JSON "
        "already in --output-dir",
    )
    everything.add_argument(
        "--again",
        action="store_true",
        help="measure both parts again instead of going on from their JSON",
    )

    docs = benchmarks.add_parser(
        "docs",
        help="write the README's and the docs' measured numbers from the JSON "
        "in docs/results (--check: only compare)",
        description="Rewrites every '<!-- measured: NAME -->...<!-- /measured "
        "-->' in README.md and docs/**/*.md from the measured JSON in "
        "docs/results (see keras_rra.benchmarks.measured_docs). With --check, "
        "writes nothing and fails, listing each, where a file says something "
        "else. Run from the repository's root.",
    )
    docs.add_argument(
        "--check", action="store_true", help="compare only; exit 1 on a difference"
    )
    recorded = {
        "default-run": (
            "time `keras-rra train` with its defaults, as the README runs it",
            "Runs `keras-rra train` with no flags in an empty folder and writes "
            "its wall time, the machine, the commit and its metrics.json to "
            "--output (the README's numbers: docs/results/default_run.json).",
        ),
        "ci": (
            "time `bash .ci/run` on a fresh clone of the repository",
            "Clones the repository's committed HEAD into a temporary folder, runs "
            "`bash .ci/run` there as CI does, and writes its wall time and test "
            "count to --output (docs/results/ci.json).",
        ),
    }
    for name, (short, long) in recorded.items():
        measured = benchmarks.add_parser(name, help=short, description=long)
        measured.add_argument("--output", required=True, help="a JSON file")

    export_bench = benchmarks.add_parser(
        "export",
        help="size and latency of every export format next to Keras predict",
        description="Exports the model to every format in a temporary folder "
        "and prints each format's size and median latency at batch 1 and 8.",
    )
    export_bench.add_argument("--model-path", required=True, help="a .keras file")
    export_bench.add_argument("--steps", type=int, default=20, help="timed calls")
    export_bench.add_argument("--warmup", type=int, default=3, help="untimed calls")
    export_bench.add_argument(
        "--calibration-dataset", help="int8: dataset that calibrates"
    )
    export_bench.add_argument(
        "--formats",
        type=_word_list,
        help="formats to measure, e.g. tflite-int8,onnx (default: all of keras, "
        "saved_model, tflite-float32, tflite-float16, tflite-int8, onnx; keras is "
        "always measured, as the reference)",
    )
    export_bench.add_argument(
        "--test-images",
        type=int,
        default=1000,
        help="test images each format's top-1 is measured on (0: none)",
    )

    predict = commands.add_parser(
        "predict",
        help="print the top-k classes of images, one JSON line each",
        description="Predicts image files, folders (every image under them) and "
        "glob patterns. Each image is decoded and sized as the model's data "
        "was, from what the model file itself carries.",
    )
    predict.add_argument(
        "--model-path",
        required=True,
        help="a .keras file, a SavedModel folder, a .tflite or an .onnx file",
    )
    predict.add_argument("--top-k", type=int, default=5, help="classes per image")
    predict.add_argument(
        "--output", help="write a CSV file (image, top-k classes and scores, error)"
    )
    _add_max_image_pixels(predict)
    predict.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files, folders or globs"
    )

    explain = commands.add_parser(
        "explain",
        help="draw what the model saw: Grad-CAM per step, attention, its boxes",
        description="Writes one PNG per image to OUTPUT: the image with the "
        "regions the model looked at, the global Grad-CAM, the Grad-CAM of "
        "each refinement step (RRA) and the attention over the steps; prints "
        "one JSON line per image.",
    )
    explain.add_argument("--model-path", required=True, help="a .keras file")
    explain.add_argument("--output", required=True, help="folder of the figures")
    explain.add_argument(
        "--class-index",
        type=int,
        help="the class to explain (default: each image's predicted class)",
    )
    _add_max_image_pixels(explain)
    explain.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files, folders or globs"
    )

    plot = commands.add_parser(
        "plot",
        help="plot a run: training curves, confusion matrix, per-class accuracy",
        description="Writes RUN/curves.png (every loss term and metric from "
        "history.csv), RUN/confusion.png and RUN/per_class_accuracy.png (the "
        "test split). `train` writes them at the end of every run.",
    )
    plot.add_argument("run", metavar="RUN", help="a run folder of `keras-rra train`")

    export = commands.add_parser(
        "export",
        help="export a saved model: SavedModel (TF Serving), TFLite, ONNX",
        description="Writes OUTPUT/VERSION/ (a SavedModel with the signatures "
        "serving_default and predict_images) and, converted from it, "
        "OUTPUT/VERSION[-QUANTIZE].tflite and OUTPUT/VERSION.onnx.",
    )
    export.add_argument("--model-path", required=True, help="a .keras file")
    export.add_argument(
        "--format", default="all", help="saved_model, tflite, onnx or all"
    )
    export.add_argument("--output", required=True, help="e.g. savedmodels/NAME")
    export.add_argument("--version", type=int, help="default: the next free one")
    export.add_argument("--quantize", default="none", help="none, float16 or int8")
    export.add_argument(
        "--calibration-dataset",
        help="int8: dataset whose training images calibrate (default: the run's)",
    )
    export.add_argument("--top-k", type=int, default=5)
    _add_max_image_pixels(export)
    export.add_argument("--overwrite", action="store_true")
    export.add_argument("--quiet", action="store_true", help="no progress lines")
    for command in commands.choices.values():
        _add_verbose(command)
    for command in benchmarks.choices.values():
        _add_verbose(command)
    return parser


def _config_from(args):
    from keras_rra.training.config import TrainConfig

    values = vars(args)
    given = {}
    if "config" in values:
        config = TrainConfig.from_file(values["config"])
        given.update(TrainConfig.read_file(values["config"]))
    else:
        config = TrainConfig()
    flags = {key: values[key] for key in train_flag_names() if key in values}
    given.update(flags)
    config = config.replace(**flags)
    if config.init_from:
        # Fine-tuning keeps the saved model's settings unless given.
        from keras_rra.training.run import init_from_settings

        given = {str(key).replace("-", "_") for key in given}
        config = init_from_settings(config, given)
    return config


def _train(args):
    from keras_rra.training.run import resume_config
    from keras_rra.training.run import train

    values = vars(args)
    if "resume" in values:
        if "config" in values or "output" in values:
            raise ValueError(
                "--resume RUN continues with RUN's own config.json and folder; "
                "it cannot be combined with --config or --output."
            )
        changes = {key: values[key] for key in train_flag_names() if key in values}
        config = resume_config(values["resume"], changes)
    else:
        config = _config_from(args)
    import keras

    # Hands the trained model to the plots: reading it back from
    # model.keras took longer than drawing them.
    trained = keras.callbacks.Callback()
    results = train(
        config, verbose=0 if values.get("quiet") else "auto", callbacks=[trained]
    )
    _write_plots(results["run_dir"], _progress(args), trained.model)
    print(json.dumps(results, indent=2, sort_keys=True))
    return 0


def _write_plots(run_dir, say, model):
    """A finished run's plots; a plot that fails costs a warning, not the
    run."""
    from keras_rra.explain import plot_run

    if not os.path.isfile(os.path.join(run_dir, "model.keras")):
        return  # Not the chief of a multi-worker run.
    say("plotting the run")
    try:
        for path in plot_run(run_dir, model=model):
            say(f"wrote {path}")
    except (ValueError, OSError, ImportError) as error:
        warnings.warn(f"the run's plots were not written: {error}", stacklevel=2)


def _explain(args):
    from keras_rra.explain import explain_files
    from keras_rra.training.inference import load_classifier

    say = _progress(args)
    model = load_classifier(args.model_path)
    say(f"explaining into {args.output}")
    for result in explain_files(
        model,
        args.images,
        args.output,
        class_index=args.class_index,
        max_image_pixels=args.max_image_pixels,
    ):
        print(json.dumps(result))
    return 0


def _plot(args):
    from keras_rra.explain import plot_run

    for path in plot_run(args.run):
        print(path)
    return 0


def _tune(args):
    from keras_rra.settings.tuning_settings import TUNING_SETTINGS
    from keras_rra.tuning.search_space import parse_search_argument
    from keras_rra.tuning.tune_run import tune

    values = vars(args)
    config = _config_from(args)
    fixed = [key for key in train_flag_names() if key in values]
    if "config" in values:
        # A config file's settings are chosen too: none of them is searched.
        from keras_rra.training.config import TrainConfig

        fixed += list(TrainConfig.read_file(values["config"]))
    search = dict(
        parse_search_argument(text, config.model) for text in values.get("search", [])
    )
    quiet = values.get("quiet", False)
    summary = tune(
        config,
        fixed=fixed,
        search=search,
        tune_names=values.get("tune"),
        overwrite=values.get("overwrite", False),
        retrain=values.get("retrain", False),
        verbose=0 if quiet else 1,
        say=_progress(args),
        **{s.name: values[s.name] for s in TUNING_SETTINGS if s.name in values},
    )
    table = summary.pop("table", None)
    if table:
        print(table)
    print(json.dumps(summary, sort_keys=True))
    return 0


def _evaluate(args):
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.run import evaluate
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split
    from keras_rra.training.run import model_data_config
    from keras_rra.training.run import part_localization
    from keras_rra.training.seed import set_seed

    say = _progress(args)
    say(f"loading {args.model_path}")
    model = load_classifier(args.model_path)
    config = load_run_config(args.model_path)
    if config is None:
        if args.dataset is None:
            raise ValueError(
                f"{args.model_path!r} has no run config.json beside it, so the "
                "data it was trained on is unknown: name the dataset to evaluate "
                "on with --dataset (and --data-dir where it needs one)."
            )
        config = model_data_config(model, args.dataset)
    changes = {
        key: getattr(args, key)
        for key in EVALUATE_SETTINGS
        if getattr(args, key) is not None
    }
    if "dataset" in changes and "part_boxes" not in changes:
        # The run's part boxes belong to the run's dataset.
        changes["part_boxes"] = None
    config = config.replace(**changes)
    set_seed(config.seed)
    dataset, names = load_split(config, args.split, shuffle=False)
    if len(names) != model.num_classes:
        raise ValueError(
            f"Dataset {config.dataset!r} has {len(names)} classes; the model "
            f"{args.model_path!r} predicts {model.num_classes}."
        )
    # Where the true part boxes are known and the model chooses a region:
    # how well the region finds the part (first: a bad boxes file stops
    # the command before the long evaluation).
    localization = part_localization(model, config, split=args.split)
    say(f"evaluating on {config.dataset}, split {args.split}")
    report = {
        "model_path": args.model_path,
        "dataset": config.dataset,
        "split": args.split,
        "metrics": evaluate(model, dataset),
    }
    if localization is not None:
        report["localization"] = localization
    # The explanation's own number where the part boxes are known.
    from keras_rra.explain import synthetic_pointing_game

    say("pointing game of the Grad-CAMs")
    pointing = synthetic_pointing_game(model, config, split=args.split)
    if pointing is not None:
        report["pointing_game"] = pointing
    print(json.dumps(report, sort_keys=True))
    return 0


def _export(args):
    from keras_rra.export.export_run import export_model

    written = export_model(
        args.model_path,
        args.output,
        export_format=args.format,
        version=args.version,
        quantize=args.quantize,
        overwrite=args.overwrite,
        calibration_dataset=args.calibration_dataset,
        top_k=args.top_k,
        progress=_progress(args),
        max_image_pixels=args.max_image_pixels,
    )
    print(json.dumps(written, sort_keys=True))
    return 0


def _predict(args):
    from keras_rra.export.predictors import load_predictor
    from keras_rra.training.inference import predict_files
    from keras_rra.training.inference import write_predictions_csv

    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1; received {args.top_k}.")
    # The model carries its own preprocessing and class names, in every
    # format: nothing beside the file is read.
    predictor = load_predictor(args.model_path)
    results = predict_files(
        predictor,
        args.images,
        top_k=args.top_k,
        max_image_pixels=args.max_image_pixels,
    )
    if not results:
        raise ValueError(f"No image file in {', '.join(args.images)}.")
    failed = [result for result in results if "error" in result]
    for result in failed:
        print(f"keras-rra: {result['error']}", file=sys.stderr)
    if args.output:
        top_k = min(args.top_k, len(predictor.class_names))
        write_predictions_csv(args.output, results, top_k)
        print(
            f"keras-rra predict: wrote {len(results) - len(failed)} predictions"
            f"{f' and {len(failed)} errors' if failed else ''} to {args.output}"
        )
    else:
        for result in results:
            print(json.dumps(result))
    return 1 if failed else 0


def _command_line(args):
    """The command as a user would type it again, for a benchmark's record."""
    import shlex

    return shlex.join(["keras-rra", *args.argv])


def _print_report(text, result):
    """A benchmark's table for people, then its JSON line for programs."""
    print(text)
    print(json.dumps(result, sort_keys=True))
    return 0


def _benchmark(args):
    if args.benchmark == "accuracy":
        from keras_rra.benchmarks.accuracy import run

        if args.full and args.presets:
            raise ValueError("--full is the cub preset; give --full or --presets.")
        run(
            ["cub"] if args.full else args.presets,
            args.rows,
            args.seeds,
            args.epochs,
            args.output,
            command=_command_line(args),
        )
        return 0
    if args.benchmark == "speed":
        return _benchmark_speed(args)
    if args.benchmark == "docs":
        return _benchmark_docs(args)
    if args.benchmark in ("default-run", "ci"):
        from keras_rra.benchmarks import recorded_runs

        measure = {
            "default-run": recorded_runs.measure_default_run,
            "ci": recorded_runs.measure_ci,
        }[args.benchmark]
        _say_benchmark(f"measuring {args.benchmark} into {args.output}")
        print(json.dumps(measure(args.output), sort_keys=True))
        return 0
    if args.benchmark == "all":
        from keras_rra.benchmarks.report import benchmark_all

        path = benchmark_all(
            args.output_dir,
            again=args.again,
            report_only=args.report_only,
            command=_command_line(args),
            accuracy_options={"presets": ["cub"]} if args.full else None,
            progress=_say_benchmark,
        )
        print(f"keras-rra benchmark: wrote {path} and its plots")
        return 0
    if args.steps < 1 or args.warmup < 1:
        raise ValueError(
            f"--steps and --warmup must be >= 1; received {args.steps}, {args.warmup}."
        )
    if args.benchmark == "train":
        return _benchmark_train(args)
    if args.benchmark == "export":
        from keras_rra.benchmarks.export_latency import benchmark_export
        from keras_rra.benchmarks.export_latency import format_report

        result = benchmark_export(
            args.model_path,
            steps=args.steps,
            warmup=args.warmup,
            calibration_dataset=args.calibration_dataset,
            test_images=args.test_images,
            formats=args.formats,
        )
        return _print_report(format_report(result), result)
    from keras_rra.benchmarks.data_pipeline import benchmark_data
    from keras_rra.benchmarks.data_pipeline import format_report

    result = benchmark_data(_config_from(args), steps=args.steps, warmup=args.warmup)
    return _print_report(format_report(result), result)


def _benchmark_docs(args):
    from keras_rra.benchmarks import measured_docs

    paths = measured_docs.documents()
    if not args.check:
        for path in measured_docs.write_documents(paths):
            _say_benchmark(f"wrote {path}")
        return 0
    found = measured_docs.differences(paths)
    for path, name, written, measured in found:
        print(
            f"{path}: {name}: says {written!r}, measured {measured!r}", file=sys.stderr
        )
    if found:
        print(
            f"keras-rra benchmark docs: {len(found)} number(s) differ from the "
            "measured JSON; `keras-rra benchmark docs` writes them.",
            file=sys.stderr,
        )
    return 1 if found else 0


def _say_benchmark(line):
    print(f"keras-rra benchmark: {line}", flush=True)


def _check_lists(*checks):
    """Each `(flag, values, known)`: values given must be known, and some."""
    for name, values, known in checks:
        if values is None:
            continue
        unknown = [value for value in values if value not in known]
        if unknown or not values:
            raise ValueError(
                f"{name}: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                f"expected some of {', '.join(known)}."
            )


def _benchmark_speed(args):
    from keras_rra.benchmarks.speed import SPEED_MODELS
    from keras_rra.benchmarks.speed import SPEED_SETTING_NAMES
    from keras_rra.benchmarks.speed import benchmark_speed
    from keras_rra.benchmarks.speed import format_report
    from keras_rra.settings.training_settings import JIT_MODES
    from keras_rra.settings.training_settings import MIXED_PRECISION
    from keras_rra.utils.json_file import write_json
    from keras_rra.utils.validation import check_positive_int

    exports = [] if args.export_models == ["none"] else args.export_models
    _check_lists(
        ("--settings", args.settings, SPEED_SETTING_NAMES),
        ("--models", args.models, SPEED_MODELS),
        ("--jit", args.jit, JIT_MODES),
        ("--precisions", args.precisions, MIXED_PRECISION),
        ("--export-models", exports or None, SPEED_MODELS),
    )
    check_positive_int("peak_size", args.peak_size)
    check_positive_int("data_steps", args.data_steps, minimum=0)
    check_positive_int("export_steps", args.export_steps)
    result = benchmark_speed(
        settings=args.settings,
        models=args.models,
        jit=args.jit,
        precisions=args.precisions,
        peak_size=args.peak_size,
        export_models=exports,
        data_steps=args.data_steps,
        export_steps=args.export_steps,
        progress=_say_benchmark,
    )
    result["command"] = _command_line(args)
    if args.output:
        write_json(args.output, result)
    return _print_report(format_report(result), result)


def _benchmark_train(args):
    from keras_rra.benchmarks.train_step import benchmark_train
    from keras_rra.benchmarks.train_step import format_report
    from keras_rra.settings.training_settings import MIXED_PRECISION
    from keras_rra.training.config import MODELS
    from keras_rra.training.config import TrainConfig
    from keras_rra.training.strategy import JIT_MODES
    from keras_rra.utils.validation import check_positive_int

    _check_lists(
        ("--models", args.models, MODELS),
        ("--jit", args.jit, JIT_MODES),
        ("--precisions", args.precisions, MIXED_PRECISION),
    )
    # The same checks as a training run's, before any process starts.
    TrainConfig(
        backbone=args.backbone,
        image_size=args.image_size,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        lstm_units=args.lstm_units,
        addon_channels=args.addon_channels,
        num_classes=args.num_classes,
        timesteps=max(args.timesteps or [0]),
    ).validate()
    check_positive_int("peak_size", args.peak_size)
    result = benchmark_train(
        models=args.models,
        timesteps=args.timesteps,
        jit=args.jit,
        precisions=args.precisions,
        peak_size=args.peak_size,
        backbone=args.backbone,
        image_size=args.image_size,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        lstm_units=args.lstm_units,
        addon_channels=args.addon_channels,
        num_classes=args.num_classes,
        steps=args.steps,
        warmup=args.warmup,
    )
    return _print_report(format_report(result), result)


def _progress(args):
    """A function that prints one progress line to standard error (whose
    standard output stays JSON), or nothing with --quiet."""
    if getattr(args, "quiet", False):
        return lambda text: None
    return lambda text: print(f"keras-rra {args.command}: {text}", file=sys.stderr)


def _load_tensorflow_quietly(verbose=False):
    """Imports TensorFlow without what its C++ side prints while it loads
    and probes devices (oneDNN notes, CUDA probes) and with its loggers at
    errors only, whether or not `TF_CPP_MIN_LOG_LEVEL` is set: absl writes
    the start-up lines before any log level applies (`TF_CPP_MIN_LOG_LEVEL=3`
    does not stop them), so only the file descriptor can hold them back.
    `verbose` (the `--verbose` flag) leaves TensorFlow's logging as it is."""
    if verbose or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow as tf

                tf.config.list_physical_devices()
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)
    # Python-side lines ("WARNING:tensorflow:... retracing") too.
    import logging

    tf.get_logger().setLevel(logging.ERROR)
    logging.getLogger("absl").setLevel(logging.ERROR)


def _in_flags(message):
    """A message about settings, in the words of the command line: a
    setting named as `name` becomes its `--flag`."""
    from keras_rra.settings.run_settings import run_settings
    from keras_rra.settings.tuning_settings import TUNING_SETTINGS

    settings = [setting for setting, _ in run_settings().values()]
    for setting in [*settings, *TUNING_SETTINGS]:
        message = message.replace(f"`{setting.name}`", setting.flag)
    return message


def _show_warning(message, category, filename, lineno, file=None, line=None):
    # One line per warning, in the command's voice: the Python source line
    # that raised it means nothing to a user of the command.
    print(f"keras-rra: warning: {message}", file=file or sys.stderr)


def main(argv=None):
    """Entry point of the `keras-rra` command; returns the exit code."""
    args = _build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    command = {
        "train": _train,
        "tune": _tune,
        "explain": _explain,
        "plot": _plot,
        "evaluate": _evaluate,
        "predict": _predict,
        "export": _export,
        "benchmark": _benchmark,
    }
    try:
        _load_tensorflow_quietly(verbose=getattr(args, "verbose", False))
        return command[args.command](args)
    except (
        ValueError,
        FileNotFoundError,
        OSError,
        FloatingPointError,
        RuntimeError,
    ) as error:
        if os.environ.get("KERAS_RRA_DEBUG"):
            raise
        print(
            f"keras-rra {args.command}: error: {_in_flags(str(error))}",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
