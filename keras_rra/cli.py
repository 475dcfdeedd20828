"""The `keras-rra` command: train, evaluate, predict, export, benchmark.

Heavy imports (TensorFlow) happen inside the commands so that `--help`
answers at once.
"""

import argparse
import json
import os
import sys


def _epoch_list(text):
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected epochs separated by commas, e.g. 30,60; received {text!r}"
        ) from None


def _boolean(text):
    value = text.strip().lower()
    if value in ("true", "yes", "on", "1"):
        return True
    if value in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false; received {text!r}")


def _float_list(text):
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, e.g. 0.25,0.35; received {text!r}"
        ) from None


def _word_list(text):
    return [part.strip() for part in text.split(",") if part.strip()]


# Other spellings of some flags.
FLAG_ALIASES = {"jit_compile": ["--jit"]}

# Flags of `train`, one per TrainConfig field: (type, help).
TRAIN_FLAGS = {
    "model": (str, "rra, baseline or coarse2fine"),
    "dataset": (
        str,
        "synthetic, folder:PATH, cub:PATH, aircraft:PATH or a tfds name "
        "(caltech_birds2011, stanford_dogs, cars196, oxford_flowers102, ...)",
    ),
    "data_dir": (str, "tfds data folder, or the folder of folder/cub/aircraft"),
    "augmentation": (str, "paper (resize) or standard (crop and flip)"),
    "resize_size": (int, "shorter side before the standard crop"),
    "boxes": (str, "patch boxes for --patch boxes: object or a CSV file"),
    "on_bad_image": (str, "skip (with a warning) or error"),
    "cache": (str, "cache decoded images: memory or a folder"),
    "split_fraction": (float, "test share of a folder without split folders"),
    "aircraft_level": (str, "FGVC-Aircraft labels: variant, family, manufacturer"),
    "num_classes": (int, "classes of the synthetic dataset"),
    "examples_per_class": (int, "training images per class (synthetic)"),
    "test_examples_per_class": (int, "test images per class (synthetic)"),
    "backbone": (str, "backbone name, e.g. tiny, vgg19, resnet50"),
    "weights": (str, "backbone weights: imagenet or a weights file (default: none)"),
    "image_size": (int, "side of the image the global stream sees"),
    "input_size": (int, "side of the input images (default: image size)"),
    "patch": (
        str,
        "patch source: navigator (learned), center, boxes, saliency or activation",
    ),
    "patch_size": (int, "side of the local stream's patch"),
    "center_fraction": (float, "side of the centred patch relative to the image"),
    "num_boxes": (int, "candidate boxes per image for --patch boxes"),
    "eval_boxes": (str, "at inference with boxes: first or mean"),
    "attention_maps": (int, "Coarse2Fine: attention maps M"),
    "orthogonal_attention": (_boolean, "Coarse2Fine: orthogonal start (true/false)"),
    "signed_sqrt": (_boolean, "Coarse2Fine: signed square root of pooled features"),
    "l2_normalize": (_boolean, "Coarse2Fine: L2-normalise pooled features"),
    "fine_input": (str, "Coarse2Fine: zoom or mask"),
    "decoder_filters": (int, "channels of the inverse mapping (saliency)"),
    "min_zoom_extent": (float, "smallest saliency box side, relative to the image"),
    "max_zoom_extent": (float, "largest saliency box side (soft), relative"),
    "area_weight": (float, "weight of the saliency map's mean in the loss"),
    "num_parts": (int, "navigator: parts (boxes) looked at per image"),
    "anchor_sizes": (_float_list, "navigator: candidate box sides, e.g. 0.25"),
    "ranking_weight": (float, "navigator: weight of its ranking loss"),
    "exploration": (float, "navigator: Gumbel noise on its scores in training"),
    "stage1_epochs": (int, "Coarse2Fine: epochs of stage 1 (coarse)"),
    "stage2_epochs": (int, "Coarse2Fine: epochs of stage 2 (coarse + fine)"),
    "timesteps": (int, "refinement steps T"),
    "lstm_units": (int, "units of each LSTM"),
    "lstm_layers": (int, "stacked LSTMs"),
    "addon_channels": (int, "channels of the global add-on convolutions"),
    "local_weight": (float, "weight λ of the local stream"),
    "global_loss": (str, "RRA: joint (CE of the summed logits) or separate"),
    "dropout": (float, "dropout before the classifiers"),
    "epochs": (int, "training epochs"),
    "validation_freq": (int, "evaluate the test split every N epochs (0: never)"),
    "batch_size": (int, "examples per batch"),
    "optimizer": (str, "adam, adamw or sgd"),
    "learning_rate": (float, "learning rate"),
    "weight_decay": (float, "weight decay"),
    "momentum": (float, "SGD momentum"),
    "schedule": (str, "learning rate: constant, step or cosine"),
    "decay_epochs": (_epoch_list, "epochs of the step decay, e.g. 30,60"),
    "decay_factor": (float, "factor of each step decay (0.1)"),
    "warmup_epochs": (int, "linear warm-up epochs of the cosine schedule"),
    "global_learning_rate": (float, "SGD: the global stream's own base rate"),
    "clip_norm": (float, "clip gradients to this global norm"),
    "strategy": (str, "auto, default, mirrored, multiworker (TF_CONFIG) or tpu"),
    "jit_compile": (str, "XLA: auto (accelerators only), on or off"),
    "mixed_precision": (str, "float32, mixed_float16 or mixed_bfloat16"),
    "checkpoint_every": (int, "checkpoint every N steps too (0: per epoch)"),
    "connect_timeout": (float, "seconds a multi-worker cluster may take to form"),
    "seed": (int, "random seed of data, initialisation and order"),
    "output": (str, "run folder (default: runs/<timestamp>)"),
}


def _flag(name):
    return "--" + name.replace("_", "-")


def _add_train_flags(parser):
    """`--config` and one flag per `TrainConfig` setting."""
    parser.add_argument("--config", help="JSON or YAML file with the same keys")
    for name, (kind, text) in TRAIN_FLAGS.items():
        parser.add_argument(
            _flag(name), *FLAG_ALIASES.get(name, []), type=kind, dest=name, help=text
        )


def _build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-rra",
        description="Fine-grained image classification with RRA for Keras 3.",
    )
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
        help="continue the unfinished run in folder RUN from its last checkpoint "
        "(flags may change only epochs, validation, data location, strategy, jit, "
        "checkpointing); a run folder given as --output with a checkpoint "
        "resumes too",
    )
    train.add_argument("--quiet", action="store_true", help="no progress bars")

    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate a saved model and print metrics as JSON",
        description="Evaluate a saved model. Dataset settings default to the "
        "run's config.json beside the model.",
    )
    evaluate.add_argument("--model-path", required=True, help="a .keras file")
    evaluate.add_argument("--dataset", help="dataset name")
    evaluate.add_argument("--data-dir", help="data folder of the dataset")
    evaluate.add_argument("--on-bad-image", help="skip or error")
    evaluate.add_argument("--split", default="test", help="split (default: test)")
    evaluate.add_argument("--batch-size", type=int)
    evaluate.add_argument("--examples-per-class", type=int)
    evaluate.add_argument("--test-examples-per-class", type=int)
    evaluate.add_argument("--seed", type=int)

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
        help="training images/s and peak memory per model, T and XLA mode",
        description="Times the Trainer's training step for each model, number "
        "of refinement steps T and XLA mode, each in its own process, and "
        "prints images/s, peak memory, time(T=max)/time(T=min) (target <= 1.15) "
        "and the XLA speed-up.",
    )
    train_bench.add_argument("--models", type=_word_list, default=["baseline", "rra"])
    train_bench.add_argument("--timesteps", type=_epoch_list, default=[1, 4, 10])
    train_bench.add_argument("--jit", type=_word_list, default=["off", "on"])
    train_bench.add_argument("--backbone", default="tiny")
    train_bench.add_argument("--image-size", type=int, default=64)
    train_bench.add_argument("--patch-size", type=int, default=32)
    train_bench.add_argument("--batch-size", type=int, default=16)
    train_bench.add_argument("--lstm-units", type=int, default=128)
    train_bench.add_argument("--addon-channels", type=int, default=256)
    train_bench.add_argument("--num-classes", type=int, default=10)
    train_bench.add_argument("--steps", type=int, default=10, help="timed steps")
    train_bench.add_argument("--warmup", type=int, default=3, help="untimed steps")

    accuracy = benchmarks.add_parser(
        "accuracy",
        help="where-to-look sources against their bounds, over seeds",
        description="Trains each row (baseline = lower bound, centred patch, "
        "learned navigator, true part box = upper bound, Coarse2Fine) on the "
        "synthetic presets with every seed, exactly as `keras-rra train` does, "
        "and prints mean ± std of top-1 and of the localisation of the chosen "
        "boxes. The default run takes about 25 minutes on 2 CPU cores.",
    )
    accuracy.add_argument(
        "--presets", type=_word_list, default=None, help="hard,easy (default: both)"
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
    accuracy.add_argument("--output", help="a JSON file for every run's numbers")

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
        "--test-images",
        type=int,
        default=1000,
        help="test images each format's top-1 is measured on (0: none)",
    )

    predict = commands.add_parser(
        "predict",
        help="print the top-k classes of images, one JSON line each",
    )
    predict.add_argument(
        "--model-path",
        required=True,
        help="a .keras file, a SavedModel folder, a .tflite or an .onnx file",
    )
    predict.add_argument("--top-k", type=int, default=5)
    predict.add_argument("images", nargs="+", metavar="IMAGE")

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
    export.add_argument("--overwrite", action="store_true")
    return parser


def _config_from(args):
    from keras_rra.training.config import TrainConfig

    values = vars(args)
    config = (
        TrainConfig.from_file(values["config"]) if "config" in values else TrainConfig()
    )
    flags = {key: values[key] for key in TRAIN_FLAGS if key in values}
    return config.replace(**flags)


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
        changes = {key: values[key] for key in TRAIN_FLAGS if key in values}
        config = resume_config(values["resume"], changes)
    else:
        config = _config_from(args)
    results = train(config, verbose=0 if values.get("quiet") else "auto")
    print(json.dumps(results, indent=2, sort_keys=True))
    return 0


def _evaluate(args):
    from keras_rra.training.config import TrainConfig
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.localization import synthetic_localization
    from keras_rra.training.run import evaluate
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split
    from keras_rra.training.seed import set_seed

    model = load_classifier(args.model_path)
    config = load_run_config(args.model_path) or TrainConfig(
        model="rra" if hasattr(model, "patch") else "baseline",
        num_classes=model.num_classes,
        image_size=int(model.inputs[0].shape[1]),
    )
    changes = {
        key: getattr(args, key)
        for key in (
            "dataset",
            "data_dir",
            "on_bad_image",
            "batch_size",
            "examples_per_class",
            "seed",
        )
        if getattr(args, key) is not None
    }
    if args.test_examples_per_class is not None:
        changes["test_examples_per_class"] = args.test_examples_per_class
    config = config.replace(**changes)
    set_seed(config.seed)
    dataset, names = load_split(config, args.split, shuffle=False)
    if len(names) != model.num_classes:
        raise ValueError(
            f"Dataset {config.dataset!r} has {len(names)} classes; the model "
            f"{args.model_path!r} predicts {model.num_classes}."
        )
    report = {
        "model_path": args.model_path,
        "dataset": config.dataset,
        "split": args.split,
        "metrics": evaluate(model, dataset),
    }
    # Where the dataset knows the true part boxes and the model chooses a
    # region: how well the region finds the part.
    localization = synthetic_localization(model, config, split=args.split)
    if localization is not None:
        report["localization"] = localization
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
    )
    print(json.dumps(written, sort_keys=True))
    return 0


def _predict(args):
    from keras_rra.export.predictors import load_predictor
    from keras_rra.training.inference import predict_files
    from keras_rra.training.run import evaluation_augmentation
    from keras_rra.training.run import load_run_config

    if args.top_k < 1:
        raise ValueError(f"--top-k must be >= 1; received {args.top_k}.")
    predictor = load_predictor(args.model_path)
    config = load_run_config(args.model_path) if predictor.format == "keras" else None
    augmentation = evaluation_augmentation(config)
    results = predict_files(
        predictor, args.images, top_k=args.top_k, augmentation=augmentation
    )
    failed = 0
    for result in results:
        print(json.dumps(result))
        if "error" in result:
            failed += 1
            print(f"keras-rra: {result['error']}", file=sys.stderr)
    return 1 if failed else 0


def _print_report(text, result):
    """A benchmark's table for people, then its JSON line for programs."""
    print(text)
    print(json.dumps(result, sort_keys=True))
    return 0


def _benchmark(args):
    if args.benchmark == "accuracy":
        from keras_rra.benchmarks.accuracy import run

        run(args.presets, args.rows, args.seeds, args.epochs, args.output)
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
        )
        return _print_report(format_report(result), result)
    from keras_rra.benchmarks.data_pipeline import benchmark_data
    from keras_rra.benchmarks.data_pipeline import format_report

    result = benchmark_data(_config_from(args), steps=args.steps, warmup=args.warmup)
    return _print_report(format_report(result), result)


def _benchmark_train(args):
    from keras_rra.benchmarks.train_step import benchmark_train
    from keras_rra.benchmarks.train_step import format_report
    from keras_rra.training.config import MODELS
    from keras_rra.training.config import TrainConfig
    from keras_rra.training.strategy import JIT_MODES

    for name, values, known in (
        ("--models", args.models, MODELS),
        ("--jit", args.jit, JIT_MODES),
    ):
        unknown = [value for value in values if value not in known]
        if unknown or not values:
            raise ValueError(
                f"{name}: unknown {', '.join(map(repr, unknown)) or 'empty list'}; "
                f"expected some of {', '.join(known)}."
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
    result = benchmark_train(
        models=args.models,
        timesteps=args.timesteps,
        jit=args.jit,
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


def main(argv=None):
    """Entry point of the `keras-rra` command; returns the exit code."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _build_parser().parse_args(argv)
    command = {
        "train": _train,
        "evaluate": _evaluate,
        "predict": _predict,
        "export": _export,
        "benchmark": _benchmark,
    }
    try:
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
        print(f"keras-rra {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
