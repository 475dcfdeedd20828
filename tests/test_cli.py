import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from keras_rra.cli import main
from tests.helpers import TINY_BASELINE_SEARCH as SEARCH
from tests.helpers import built_once

QUICK = [
    "--epochs", "2",
    "--examples-per-class", "6",
    "--num-classes", "4",
    "--image-size", "32",
    "--patch-size", "16",
    "--timesteps", "3",
    "--lstm-units", "16",
    "--addon-channels", "16",
    "--quiet",
]  # fmt: skip


def _no_error():
    return contextlib.nullcontext()


def _json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="session")
def quick_run(tmp_path_factory):
    """One quick run for the whole session, read by many tests; trained
    with its progress lines, kept in `train.stderr` beside the run."""

    def train(folder):
        os.makedirs(folder)
        argv = [flag for flag in QUICK if flag != "--quiet"]
        argv += ["--output", os.path.join(folder, "run")]
        with open(os.path.join(folder, "train.stderr"), "w") as err:
            with open(os.devnull, "w") as out:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                    assert main(["train", *argv]) == 0

    return os.path.join(built_once(tmp_path_factory, "quick-run", train), "run")


def test_a_trained_navigator_predicts_with_its_patches_statistics(quick_run):
    # `keras-rra train` sets the part stream's batch-normalisation
    # statistics from the patches chosen on the training split: the saved
    # model, calibrated again on the same images, keeps them.
    import keras

    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    model_path = os.path.join(quick_run, "model.keras")
    model = keras.saving.load_model(model_path)
    saved = [np.array(v) for v in model.local_backbone.non_trainable_variables]
    data, _ = load_split(load_run_config(model_path), "train", shuffle=False)
    model.calibrate_statistics(data)
    again = [np.array(v) for v in model.local_backbone.non_trainable_variables]
    for a, b in zip(saved, again, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_train_writes_the_run_folder(quick_run, capsys):
    for name in (
        "model.keras",
        "config.json",
        "metrics.json",
        "history.csv",
        "class_names.txt",
        # The run's plots: curves, confusion matrix, per-class accuracy.
        "curves.png",
        "confusion.png",
        "per_class_accuracy.png",
    ):
        assert os.path.isfile(os.path.join(quick_run, name)), name
    with open(os.path.join(quick_run, "config.json")) as file:
        config = json.load(file)
    assert config["epochs"] == 2 and config["output"] == quick_run
    with open(os.path.join(quick_run, "history.csv")) as file:
        rows = file.read().strip().splitlines()
    assert len(rows) == 3 and "val_accuracy" in rows[0] and "NA" not in rows[1]
    with open(os.path.join(quick_run, "class_names.txt")) as file:
        assert file.read().split() == [
            "red_circle",
            "green_square",
            "blue_triangle",
            "yellow_ring",
        ]


def test_evaluate_reproduces_the_printed_metrics(quick_run, capsys):
    with open(os.path.join(quick_run, "metrics.json")) as file:
        trained = json.load(file)["test"]
    assert (
        main(["evaluate", "--model-path", os.path.join(quick_run, "model.keras")]) == 0
    )
    evaluated = _json_lines(capsys.readouterr().out)[-1]["metrics"]
    assert evaluated.keys() == trained.keys()
    for name in trained:
        assert evaluated[name] == pytest.approx(trained[name], abs=1e-6)


def test_predict_png_and_jpeg_and_survive_a_bad_file(quick_run, tmp_path, capsys):
    from keras_rra.data import synthetic

    images = synthetic.generate("test", 4, 32, 6, seed=0)["images"]
    png, jpeg = str(tmp_path / "a.png"), str(tmp_path / "b.jpg")
    Image.fromarray(images[0]).save(png)
    Image.fromarray(images[1]).resize((50, 40)).save(jpeg)  # another size: resized
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    model_path = os.path.join(quick_run, "model.keras")
    argv = ["predict", "--model-path", model_path, "--top-k", "2"]
    code = main([*argv, png, str(broken), jpeg])
    captured = capsys.readouterr()
    lines = _json_lines(captured.out)
    assert code == 1  # one file failed, the others were predicted
    assert [line["image"] for line in lines] == [png, str(broken), jpeg]
    assert "broken.jpg" in lines[1]["error"] and "broken.jpg" in captured.err
    # A PNG is lossless: its prediction is the model's on the same pixels.
    import keras

    from keras_rra.training.inference import load_classifier

    model = load_classifier(model_path)
    logits = model.predict(images[:1].astype("float32"), verbose=0)["logits"]
    direct = keras.ops.convert_to_numpy(keras.ops.softmax(logits))[0]
    top = lines[0]["predictions"][0]
    assert top["index"] == int(np.argmax(direct))
    assert top["probability"] == pytest.approx(float(direct.max()), abs=1e-6)
    for line in (lines[0], lines[2]):
        assert len(line["predictions"]) == 2
        assert line["predictions"][0]["class"] in synthetic.class_names(4)
        probabilities = [p["probability"] for p in line["predictions"]]
        assert probabilities == sorted(probabilities, reverse=True)


def test_flags_override_the_config_file(tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "epochs: 5\nmodel: baseline\nexamples_per_class: 4\nnum_classes: 3\n"
    )
    out = str(tmp_path / "run")
    argv = ["train", "--config", str(config), "--epochs", "1"]
    argv += ["--image-size", "32", "--quiet", "--output", out]
    code = main(argv)
    assert code == 0
    with open(os.path.join(out, "config.json")) as file:
        resolved = json.load(file)
    assert (resolved["epochs"], resolved["model"], resolved["num_classes"]) == (
        1,
        "baseline",
        3,
    )


def test_same_seed_same_metrics(tmp_path):
    results = []
    for name in ("a", "b"):
        out = str(tmp_path / name)
        assert main(["train", *QUICK, "--seed", "3", "--output", out]) == 0
        with open(os.path.join(out, "metrics.json")) as file:
            results.append(json.load(file))
    assert results[0]["test"] == results[1]["test"]
    assert results[0]["train"] == results[1]["train"]


def test_the_run_watches_a_validation_split_and_tests_once(quick_run):
    # By default 10% of the training split (seeded) is the validation split:
    # history's val_ columns and metrics.json's "validation" are its
    # numbers, measured on images the model was not trained on, and the test
    # split is evaluated once, after training.
    import keras

    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    model_path = os.path.join(quick_run, "model.keras")
    with open(os.path.join(quick_run, "metrics.json")) as file:
        metrics = json.load(file)
    with open(os.path.join(quick_run, "history.csv")) as file:
        history = list(csv.DictReader(file))
    assert not any(name.startswith("val_") for name in metrics["train"])
    assert "val_accuracy" in history[-1]
    config = load_run_config(model_path)
    assert config.validation_fraction == 0.1
    validation, _ = load_split(config, "validation", shuffle=False)
    model = keras.saving.load_model(model_path)
    measured = model.evaluate(validation, verbose=0, return_dict=True)
    # The saved model's numbers: a navigator model's part stream takes the
    # statistics of its patches after training (`finish_training`), so they
    # are measured again then; history.csv keeps those seen while training.
    assert measured["loss"] == pytest.approx(metrics["validation"]["loss"], rel=1e-4)
    assert measured["accuracy"] == pytest.approx(metrics["validation"]["accuracy"])


def test_without_a_validation_split_nothing_is_watched(tmp_path):
    out = str(tmp_path / "run")
    argv = ["train", *QUICK, "--epochs", "1", "--validation-fraction", "0"]
    assert main([*argv, "--output", out]) == 0
    with open(os.path.join(out, "metrics.json")) as file:
        metrics = json.load(file)
    with open(os.path.join(out, "history.csv")) as file:
        rows = list(csv.DictReader(file))
    assert "validation" not in metrics and "accuracy" in metrics["test"]
    # Keras' CSVLogger names val_ columns all the same; none has a value.
    values = [value for key, value in rows[0].items() if key.startswith("val_")]
    assert set(values) <= {"", "NA"}


def test_a_finished_run_trains_on_to_more_epochs(tmp_path, capsys):
    # "Run ... is finished (it has model.keras)." was the only answer.
    run, straight = str(tmp_path / "run"), str(tmp_path / "straight")
    # The centred patch: the navigator's box choices are argmaxes, and under
    # a loaded machine's last-bit differences one flipped choice makes two
    # otherwise equal runs part (as in the other exact resume tests).
    quick = [*QUICK, "--patch", "center"]
    assert main(["train", *quick, "--epochs", "1", "--output", run]) == 0
    assert main(["train", "--resume", run, "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "is finished after 1 epochs: pass --epochs more than 1" in err
    assert f"--init-from {run}" in err
    assert main(["train", "--resume", run, "--epochs", "2", "--quiet"]) == 0
    assert main(["train", *quick, "--epochs", "2", "--output", straight]) == 0
    with open(os.path.join(run, "history.csv")) as file:
        assert [row["epoch"] for row in csv.DictReader(file)] == ["0", "1"]
    # From the last checkpoint: the same as two epochs in one go.
    assert _metrics(run)["epochs"] == 2
    assert _metrics(run)["test"] == pytest.approx(_metrics(straight)["test"])


def test_fine_tune_from_a_saved_model_with_other_classes(quick_run, tmp_path):
    model = os.path.join(quick_run, "model.keras")
    out = str(tmp_path / "tuned")
    argv = ["train", "--init-from", model, "--num-classes", "3", "--epochs", "1"]
    assert main([*argv, "--examples-per-class", "4", "--quiet", "--output", out]) == 0
    metrics = _metrics(out)
    # The heads and the navigator's teacher start afresh; the rest is kept.
    assert metrics["init_from"] == {
        "path": model,
        "rebuilt_layers": ["global_classifier", "local_classifier", "part_teacher"],
    }
    with open(os.path.join(out, "config.json")) as file:
        config = json.load(file)
    # The saved model's settings, where no flag changes them.
    assert (config["timesteps"], config["lstm_units"], config["num_classes"]) == (
        3,
        16,
        3,
    )


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--init-from", "no/such.keras"], "'no/such.keras' does not exist"),
        (["--model", "baseline"], "holds a RRAClassifier; model 'baseline'"),
    ],
)
def test_fine_tune_mistakes_are_one_sentence(quick_run, extra, message, capsys):
    model = os.path.join(quick_run, "model.keras")
    argv = ["train", "--init-from", model, *extra, "--epochs", "1", "--quiet"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_refuses_to_overwrite_a_run(quick_run, capsys):
    assert main(["train", *QUICK, "--output", quick_run]) == 1
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--dataset", "imagenet"], "Unknown dataset 'imagenet'"),
        (["train", "--dataset", "folder:/no/such/folder"], "/no/such/folder"),
        (["train", "--dataset", "cub"], "needs a folder"),
        (["train", "--on-bad-image", "ignore"], "Unknown --on-bad-image='ignore'"),
        (["train", "--backbone", "resnet5"], "Unknown --backbone='resnet5'"),
        (["train", "--patch-size", "128"], "patch_size=128 is larger"),
        (["train", "--timesteps", "0"], "--timesteps must be >= 1"),
        (["train", "--num-classes", "1"], "--num-classes must be >= 2"),
        (["evaluate", "--model-path", "no/such/model.keras"], "no/such/model.keras"),
        (["predict", "--model-path", "no/such/model.keras", "x.png"], "does not exist"),
    ],
)
def test_bad_input_is_one_clear_sentence(argv, message, capsys):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        # An abbreviation is not silently taken for the flag it starts.
        (["train", "--epoch", "1"], "argument --epoch; did you mean --epochs?"),
        (["train", "--epocs", "1"], "argument --epocs; did you mean --epochs?"),
        (["predict", "--model-path", "m", "--topk", "2", "x"], "mean --top-k?"),
        (["trian"], "invalid choice: 'trian'; did you mean 'train'?"),
        (["train", "--learning-rate", "abc"], "received 'abc', which is not a number"),
        (["train", "--timesteps", "2.5"], "'2.5', which is not a whole number"),
    ],
)
def test_command_line_mistakes_are_one_sentence_with_a_suggestion(
    argv, message, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_predict_refuses_an_image_over_the_pixel_limit(quick_run, tmp_path, capsys):
    # It died with Pillow's DecompressionBombError traceback.
    from tests.helpers import bomb_png

    bomb, good = tmp_path / "bomb.png", tmp_path / "good.png"
    bomb.write_bytes(bomb_png(20000, 20000))
    Image.fromarray(np.zeros((40, 30, 3), "uint8")).save(good)
    model = os.path.join(quick_run, "model.keras")
    code = main(["predict", "--model-path", model, str(bomb), str(good)])
    captured = capsys.readouterr()
    lines = _json_lines(captured.out)
    assert code == 1 and "predictions" in lines[1]
    assert "declares more than 178,956,970 pixels" in lines[0]["error"]
    assert "max_image_pixels" in captured.err and "Traceback" not in captured.err
    # The limit is a flag of its own.
    argv = ["predict", "--model-path", model, "--max-image-pixels", "1000", str(good)]
    assert main(argv) == 1
    assert "limit of 1,000" in capsys.readouterr().out


def test_a_file_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "model.keras"
    fake.write_text("hello")
    assert main(["evaluate", "--model-path", str(fake)]) == 1
    assert "is not a .keras model file" in capsys.readouterr().err


def test_python_dash_m_help():
    result = subprocess.run(
        [sys.executable, "-m", "keras_rra", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        result.returncode == 0
        and "train" in result.stdout
        and "predict" in result.stdout
    )


@pytest.mark.slow
def test_default_run_beats_chance_clearly(tmp_path):
    """`keras-rra train` with its defaults (RRA with its navigator, tiny
    backbone, synthetic), for 4 of its 15 epochs (0.399 top-1 measured
    with the default validation split held out; chance is 0.1):
    the whole run's minutes are measured for the README, not spent in
    every test run."""
    out = str(tmp_path / "default")
    # Without the test split after every epoch (learning curves only): the
    # final test metrics are the run's.
    argv = ["train", "--quiet", "--epochs", "4", "--validation-freq", "0"]
    assert main([*argv, "--output", out]) == 0
    with open(os.path.join(out, "metrics.json")) as file:
        metrics = json.load(file)
    with open(os.path.join(out, "config.json")) as file:
        config = json.load(file)
    assert (config["model"], config["preset"], config["patch"]) == (
        "rra",
        "cpu",
        "navigator",
    )
    chance = 1 / 10
    assert metrics["test"]["accuracy"] > 3 * chance
    assert np.isfinite(metrics["train"]["loss"])


def _tiny_folder(root):
    from keras_rra.data import synthetic

    return synthetic.write_image_folder(
        str(root),
        num_classes=3,
        image_size=40,
        examples_per_class=4,
        test_examples_per_class=2,
        seed=3,
    )


def test_train_on_a_folder_and_its_boxes(tmp_path, capsys):
    root = _tiny_folder(tmp_path / "images")
    run_dir = str(tmp_path / "run")
    argv = [
        "train", *QUICK, "--epochs", "1", "--dataset", "folder",
        "--data-dir", root, "--image-size", "32", "--patch", "boxes",
        "--boxes", os.path.join(root, "part_boxes.csv"), "--output", run_dir,
    ]  # fmt: skip
    assert main(argv) == 0
    results = json.loads(capsys.readouterr().out)
    assert results["dataset"] == "folder"
    with open(os.path.join(run_dir, "class_names.txt")) as file:
        assert len(file.read().split()) == 3
    assert main(["evaluate", "--model-path", os.path.join(run_dir, "model.keras")]) == 0
    assert _json_lines(capsys.readouterr().out)[0]["metrics"]["accuracy"] >= 0


def test_where_the_model_looks_is_scored_against_a_part_boxes_file(tmp_path, capsys):
    import keras
    from PIL import Image

    from keras_rra.data.boxes_file import read_boxes_file
    from keras_rra.training.localization import localization_scores

    root = _tiny_folder(tmp_path / "images")
    part_boxes = os.path.join(root, "part_boxes.csv")
    run_dir = str(tmp_path / "run")
    # At the images' own size with a plain resize, the boxes file's boxes
    # are the boxes of the images the model sees.
    argv = [
        "train", *QUICK, "--epochs", "1", "--dataset", f"folder:{root}",
        "--image-size", "40", "--augmentation", "paper",
        "--part-boxes", part_boxes, "--output", run_dir,
    ]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    model_path = os.path.join(run_dir, "model.keras")
    model = keras.saving.load_model(model_path)
    table = read_boxes_file(part_boxes, 1)
    keys = sorted(key for key in table if key.startswith("test/"))
    images = np.stack(
        [np.asarray(Image.open(os.path.join(root, key)), "float32") for key in keys]
    )
    boxes = model.predict(images, verbose=0)["patch_boxes"][:, 0]
    expected = localization_scores(boxes, np.stack([table[k][0] for k in keys]))
    with open(os.path.join(run_dir, "metrics.json")) as file:
        measured = json.load(file)["test_localization"]
    # Where the navigator's teacher points is scored too (its values are
    # checked in tests/test_localization.py); its boxes are the navigator's.
    teacher = {k: measured.pop(f"teacher_{k}") for k in expected}
    assert teacher["mean_box_area"] == pytest.approx(0.0625)
    assert 0 <= teacher["part_centre_hit_rate"] <= 1
    assert measured == pytest.approx(expected, abs=1e-6)
    # evaluate reads the file from the run's config, or from the flag.
    for extra in ([], ["--part-boxes", part_boxes]):
        assert main(["evaluate", "--model-path", model_path, *extra]) == 0
        report = _json_lines(capsys.readouterr().out)[-1]
        localization = report["localization"]
        assert localization.pop("teacher_part_centre_hit_rate") == pytest.approx(
            teacher["part_centre_hit_rate"]
        )
        for name in ("mean_iou", "mean_box_area"):
            localization.pop(f"teacher_{name}")
        assert localization == pytest.approx(expected, abs=1e-6)
    # A dataset named anew: the run's boxes file goes with the run's data.
    argv = ["evaluate", "--model-path", model_path, "--dataset", f"folder:{root}"]
    assert main(argv) == 0
    assert "localization" not in _json_lines(capsys.readouterr().out)[-1]


def test_a_bad_part_boxes_file_stops_the_run_before_it_starts(tmp_path, capsys):
    root = _tiny_folder(tmp_path / "images")
    run_dir = tmp_path / "run"
    base = ["train", *QUICK, "--dataset", f"folder:{root}", "--output", str(run_dir)]
    missing = str(tmp_path / "none.csv")
    assert main([*base, "--part-boxes", missing]) == 1
    assert f"Boxes file {missing!r} does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("test/a.png,0.1,0.2,0.3\n")
    assert main([*base, "--part-boxes", str(bad)]) == 1
    assert "line 1: expected the image key and then 4 values per box" in (
        capsys.readouterr().err
    )
    assert not run_dir.exists()
    # The synthetic datasets know their own part boxes.
    argv = ["train", *QUICK, "--part-boxes", str(bad), "--output", str(run_dir)]
    assert main(argv) == 1
    assert "part_boxes is for datasets that do not know their part boxes" in (
        capsys.readouterr().err
    )
    assert not run_dir.exists()


def test_a_failed_dataset_leaves_no_run_folder(tmp_path, capsys):
    run_dir = tmp_path / "run"
    argv = ["train", "--dataset", f"folder:{tmp_path}/none", "--output", str(run_dir)]
    assert main(argv) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not run_dir.exists()


def test_evaluate_on_a_dataset_with_other_classes(quick_run, tmp_path, capsys):
    root = _tiny_folder(tmp_path / "images")
    model_path = os.path.join(quick_run, "model.keras")
    argv = ["evaluate", "--model-path", model_path, "--dataset", f"folder:{root}"]
    assert main(argv) == 1
    assert "has 3 classes; the model" in capsys.readouterr().err


def test_benchmark_data_prints_both_rates_and_the_ratio(tmp_path, capsys):
    root = _tiny_folder(tmp_path / "images")
    argv = [
        "benchmark", "data", "--dataset", f"folder:{root}", "--image-size", "32",
        "--patch-size", "16", "--batch-size", "4", "--timesteps", "2",
        "--lstm-units", "8", "--addon-channels", "8", "--steps", "2",
        "--warmup", "1",
    ]  # fmt: skip
    assert main(argv) == 0
    result = _json_lines(capsys.readouterr().out)[0]
    assert result["pipeline_images_per_second"] > 0
    assert result["train_images_per_second"] > 0
    expected = result["pipeline_images_per_second"] / result["train_images_per_second"]
    assert result["ratio"] == pytest.approx(expected, rel=0.02)


# The centred patch: a resumed run must match the uninterrupted one to the
# last digits, and the navigator's discrete choice of box (its teacher's
# argmax) turns the last-bit differences of a heavily loaded machine into
# other boxes, and so other weights (seen in CI with three test workers on
# two cores); the navigator's own state is saved and restored with the
# model's weights like any other layer's.
RESUMABLE = [
    "--patch", "center",
    "--epochs", "3",
    "--examples-per-class", "60",
    "--test-examples-per-class", "10",
    "--num-classes", "4",
    "--batch-size", "8",
    "--image-size", "32",
    "--patch-size", "16",
    "--timesteps", "2",
    "--lstm-units", "8",
    "--addon-channels", "8",
    "--optimizer", "sgd",
    "--learning-rate", "0.01",
    "--schedule", "step",
    "--decay-epochs", "2",
    "--checkpoint-every", "5",
    "--quiet",
]  # fmt: skip


def _cli(*argv, **kwargs):
    return subprocess.Popen(
        [sys.executable, "-m", "keras_rra", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def _metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.json")) as file:
        return json.load(file)


@pytest.mark.slow
def test_sigkill_and_resume_match_an_uninterrupted_run(tmp_path):
    straight = str(tmp_path / "straight")
    killed = str(tmp_path / "killed")
    assert _cli("train", *RESUMABLE, "--output", straight).wait(timeout=300) == 0

    process = _cli("train", *RESUMABLE, "--output", killed)
    latest = os.path.join(killed, "checkpoints", "latest.json")
    try:
        deadline = time.monotonic() + 240
        state = None
        while time.monotonic() < deadline and process.poll() is None:
            if os.path.isfile(latest):
                with open(latest) as file:
                    state = json.load(file)
                if state["step_in_epoch"]:
                    break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert state is not None and state["step_in_epoch"] > 0, state
    assert not os.path.exists(os.path.join(killed, "model.keras"))

    resumed = _cli("train", "--resume", killed, "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    expected, actual = _metrics(straight), _metrics(killed)
    for split in ("train", "test"):
        for name, value in expected[split].items():
            assert actual[split][name] == pytest.approx(value, abs=1e-5), name
    with open(os.path.join(killed, "history.csv")) as file:
        epochs = [line.split(",")[0] for line in file.read().splitlines()[1:]]
    assert epochs[-1] == "2"


def test_resume_refuses_other_settings(quick_run, tmp_path, capsys):
    # A copy of the quick run (it checkpoints each epoch's end), as if
    # killed at the end.
    run_dir = str(tmp_path / "run")
    shutil.copytree(quick_run, run_dir)
    os.remove(os.path.join(run_dir, "model.keras"))
    argv = [*QUICK, "--output", run_dir]
    capsys.readouterr()
    assert main(["train", "--resume", run_dir, "--timesteps", "4", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert "timesteps: 3 -> 4" in err and err.count("\n") == 1
    # The same through --output, with two differences named.
    changed = [*argv, "--lstm-units", "32", "--seed", "5"]
    assert main(["train", *changed]) == 1
    err = capsys.readouterr().err
    assert "lstm_units: 16 -> 32" in err and "seed: 0 -> 5" in err
    # Resumable changes are accepted: more epochs continue the run.
    assert main(["train", "--resume", run_dir, "--epochs", "3", "--quiet"]) == 0
    with open(os.path.join(run_dir, "history.csv")) as file:
        assert len(file.read().strip().splitlines()) == 4  # header + 3 epochs


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--resume", "/no/such/run"], "does not exist"),
        (["--resume", ".", "--output", "x"], "cannot be combined"),
        (["--strategy", "gpus"], "Unknown --strategy='gpus'"),
        (["--jit", "yes"], "Unknown --jit-compile='yes'"),
        (["--mixed-precision", "half"], "Unknown --mixed-precision='half'"),
        (["--schedule", "step", "--warmup-epochs", "1"], "cosine' only"),
        (["--global-learning-rate", "0.1"], "needs optimizer='sgd'"),
        (["--decay-epochs", "a,b"], "epochs separated by commas"),
    ],
)
def test_bad_training_flags(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) if "a,b" in argv else _no_error():
        code = main(["train", *QUICK, *argv])
        assert code == 1
    assert message in capsys.readouterr().err


def test_a_diverging_run_stops_with_the_step(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    argv = [*QUICK, "--optimizer", "sgd", "--learning-rate", "1e12"]
    assert main(["train", *argv, "--output", run_dir]) == 1
    err = capsys.readouterr().err
    assert "The loss became" in err and "global step" in err
    assert not os.path.exists(os.path.join(run_dir, "model.keras"))


def test_benchmark_train_prints_the_table_and_ratios(capsys):
    argv = [
        "benchmark", "train", "--models", "rra", "--timesteps", "1,2",
        "--jit", "off", "--steps", "2", "--warmup", "1", "--image-size", "32",
        "--patch-size", "16", "--batch-size", "4", "--lstm-units", "8",
        "--addon-channels", "8", "--peak-size", "128",
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    result = _json_lines(out)[-1]
    rows = result["rows"]
    assert [(row["timesteps"], row["precision"]) for row in rows] == [
        (1, "float32"),
        (2, "float32"),
    ]
    assert set(result["peak_gflops"]) == {"float32"}
    for row in rows:
        assert row["images_per_second"] > 0 and row["peak_memory_mb"] > 50
        assert row["gflops_per_second"] == pytest.approx(
            row["gflop_per_image"] * row["images_per_second"]
        )
        assert row["fraction_of_peak"] == pytest.approx(
            row["gflops_per_second"] / result["peak_gflops"]["float32"]
        )
    # Counted from the graph: one more LSTM step adds a little work.
    assert 0 < rows[0]["gflop_per_image"] < rows[1]["gflop_per_image"]
    ratio = result["time_ratio_longest_to_shortest"]["off"]
    assert ratio == pytest.approx(
        rows[0]["images_per_second"] / rows[1]["images_per_second"]
    )
    assert "time(T=max)/time(T=min), XLA off" in out
    assert "matmul peak, float32" in out and "% peak" in out


def test_benchmark_speed_passes_its_flags_and_records_the_command(
    tmp_path, monkeypatch, capsys
):
    from keras_rra.benchmarks import speed
    from tests.helpers import fake_speed_result

    given = {}

    def fake_speed(**options):
        given.update(options)
        options["progress"]("measuring the matmul peaks (64 x 64)")
        return fake_speed_result()

    monkeypatch.setattr(speed, "benchmark_speed", fake_speed)
    output = tmp_path / "speed.json"
    argv = [
        "benchmark", "speed", "--settings", "small", "--models", "baseline",
        "--jit", "off", "--precisions", "float32", "--peak-size", "64",
        "--export-models", "none", "--data-steps", "0", "--output", str(output),
    ]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert given["settings"] == ["small"] and given["models"] == ["baseline"]
    assert given["export_models"] == [] and given["data_steps"] == 0
    assert given["peak_size"] == 64 and given["precisions"] == ["float32"]
    assert "keras-rra benchmark: measuring the matmul peaks" in out
    assert "Trainer / model.fit images/s, small rra-navigator" in out
    written = json.loads(output.read_text())
    assert written["command"].startswith("keras-rra benchmark speed --settings small")
    assert _json_lines(out)[-1]["command"] == written["command"]


def test_benchmark_accuracy_full_is_the_cub_preset(monkeypatch, capsys):
    from keras_rra.benchmarks import accuracy

    given = []
    monkeypatch.setattr(
        accuracy, "run", lambda presets, *args, **kwargs: given.append(presets)
    )
    assert main(["benchmark", "accuracy", "--full"]) == 0
    assert given == [["cub"]]
    assert main(["benchmark", "accuracy", "--full", "--presets", "hard"]) == 1
    assert "give --full or --presets" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--settings", "huge"], "--settings: unknown 'huge'; expected some of small"),
        (["--models", "rra"], "--models: unknown 'rra'; expected some of baseline"),
        (["--export-models", "vgg"], "--export-models: unknown 'vgg'"),
        (["--jit", "maybe"], "--jit: unknown 'maybe'"),
        (["--data-steps", "-1"], "data_steps=-1"),
    ],
)
def test_benchmark_speed_bad_flags(flags, message, capsys):
    assert main(["benchmark", "speed", *flags]) == 1
    assert message in capsys.readouterr().err


def test_benchmark_all_writes_the_report_from_measured_parts(tmp_path, capsys):
    from keras_rra.benchmarks.accuracy import DEFAULT_PRESETS
    from tests.helpers import fake_accuracy_runs
    from tests.helpers import fake_speed_result

    folder = tmp_path / "results"
    folder.mkdir()
    runs = fake_accuracy_runs(DEFAULT_PRESETS)
    (folder / "accuracy.json").write_text(json.dumps({"runs": runs, "minutes": 40}))
    (folder / "speed.json").write_text(json.dumps(fake_speed_result()))
    assert main(["benchmark", "all", "--output-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {folder / 'BENCHMARKS.md'}" in out
    text = (folder / "BENCHMARKS.md").read_text()
    assert "Command: `keras-rra benchmark all --output-dir" in text
    assert "On the easy preset, RRA with its learned navigator" in text
    assert {path.name for path in folder.iterdir()} >= {
        "accuracy.png", "speed.png", "BENCHMARKS.md"
    }  # fmt: skip
    # The ablations were not run: no plot of T, and the report says how to
    # run them.
    assert not (folder / "timesteps.png").exists()
    assert "--rows navigator_t1,navigator_t4,coarse2fine_default_init`" in text
    assert main(["benchmark", "all", "--output-dir", str(folder / "speed.json")]) == 1
    assert "is a file, not a folder" in capsys.readouterr().err


def test_benchmark_train_bad_flags(capsys):
    assert main(["benchmark", "train", "--models", "vgg"]) == 1
    assert "--models: unknown 'vgg'" in capsys.readouterr().err
    assert main(["benchmark", "train", "--precisions", "half"]) == 1
    assert "--precisions: unknown 'half'" in capsys.readouterr().err
    assert main(["benchmark", "train", "--peak-size", "0"]) == 1
    assert "peak_size=0" in capsys.readouterr().err


def test_evaluate_reports_the_localization_of_the_navigator(quick_run, capsys):
    import keras

    from keras_rra.data import synthetic
    from keras_rra.training.localization import localization_scores
    from keras_rra.training.localization import teacher_scores

    path = os.path.join(quick_run, "model.keras")
    assert main(["evaluate", "--model-path", path]) == 0
    report = _json_lines(capsys.readouterr().out)[-1]
    reported = report["localization"]
    # The Grad-CAMs' pointing game, with a uniform random point's chance.
    pointing = report["pointing_game"]
    assert set(pointing) == {"global_cam", "cam_t1", "cam_tT", "uniform_random"}
    assert all(0 <= value <= 1 for value in pointing.values())
    # Score the navigator's best boxes directly.
    data = synthetic.generate("test", 4, 32, 6, seed=0)
    model = keras.saving.load_model(path)
    boxes = model.predict(data["images"].astype("float32"), verbose=0)["patch_boxes"]
    expected = localization_scores(boxes[:, 0], data["part_boxes"])
    assert expected["mean_box_area"] == pytest.approx(0.0625)
    # And where its teacher points, given the labels.
    teacher = model.teacher_boxes(data["images"].astype("float32"), data["labels"])
    expected.update(teacher_scores(teacher, data["part_boxes"]))
    assert reported == pytest.approx(expected, abs=1e-6)
    with open(os.path.join(quick_run, "metrics.json")) as file:
        assert json.load(file)["test_localization"] == pytest.approx(expected, abs=1e-6)


C2F_QUICK = [
    "--model", "coarse2fine",
    "--stage1-epochs", "1",
    "--stage2-epochs", "1",
    "--num-attention-maps", "4",
    "--fine-input", "zoom",
    "--decoder-filters", "8",
    "--area-weight", "0.1",
    "--examples-per-class", "6",
    "--num-classes", "4",
    "--image-size", "32",
    "--quiet",
]  # fmt: skip


def test_train_coarse2fine_with_its_navigator(tmp_path):
    run_dir = str(tmp_path / "c2f-navigator")
    flags = [flag for flag in C2F_QUICK if flag not in ("--fine-input", "zoom")]
    flags += ["--input-size", "64"]
    assert main(["train", *flags, "--output", run_dir]) == 0
    with open(os.path.join(run_dir, "history.csv")) as file:
        rows = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(file)]
    # The navigator and its teacher learn in both stages.
    first, second = rows
    assert first["loss"] == pytest.approx(
        first["coarse_logits_loss"] + first["teacher_loss"] + first["ranking_loss"],
        rel=1e-4,
    )
    assert second["loss"] == pytest.approx(
        second["coarse_logits_loss"]
        + second["fine_logits_loss"]
        + second["teacher_loss"]
        + second["ranking_loss"]
        + second["guided_loss"],
        rel=1e-4,
    )
    with open(os.path.join(run_dir, "metrics.json")) as file:
        localization = json.load(file)["test_localization"]
    assert localization["mean_box_area"] == pytest.approx(0.25)


def test_train_coarse2fine_in_two_stages(tmp_path, capsys):
    import keras

    run_dir = str(tmp_path / "c2f")
    assert main(["train", *C2F_QUICK, "--output", run_dir]) == 0
    with open(os.path.join(run_dir, "config.json")) as file:
        config = json.load(file)
    assert (config["stage1_epochs"], config["stage2_epochs"], config["epochs"]) == (
        1,
        1,
        2,
    )
    with open(os.path.join(run_dir, "history.csv")) as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 2
    first, second = ({k: float(v) for k, v in row.items()} for row in rows)
    assert first["loss"] == pytest.approx(first["coarse_logits_loss"], rel=1e-5)
    assert second["loss"] == pytest.approx(
        second["coarse_logits_loss"]
        + second["fine_logits_loss"]
        + 0.1 * second["saliency_area"],
        rel=1e-4,
    )
    model = keras.saving.load_model(os.path.join(run_dir, "model.keras"))
    assert model.stage == 2 and int(model.coarse_steps.numpy()) == 1
    capsys.readouterr()
    assert main(["evaluate", "--model-path", os.path.join(run_dir, "model.keras")]) == 0
    report = _json_lines(capsys.readouterr().out)[-1]
    assert set(report["localization"]) == {
        "part_centre_hit_rate",
        "mean_iou",
        "mean_box_area",
    }
    assert 0.0 <= report["localization"]["part_centre_hit_rate"] <= 1.0


def test_train_rra_with_a_saliency_patch(tmp_path, capsys):
    run_dir = str(tmp_path / "saliency")
    argv = ["train", *QUICK, "--epochs", "1", "--patch", "saliency"]
    assert main([*argv, "--decoder-filters", "8", "--output", run_dir]) == 0
    with open(os.path.join(run_dir, "metrics.json")) as file:
        metrics = json.load(file)
    assert 0.0 < metrics["test_localization"]["mean_box_area"] <= 1.0
    assert "saliency_area" in metrics["train"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--stage1-epochs", "1"], "apply to model='coarse2fine' only"),
        (
            ["--model", "coarse2fine", "--epochs", "1", "--stage1-epochs", "2"],
            "do not fit",
        ),
    ],
)
def test_bad_stage_settings(argv, message, capsys):
    assert main(["train", *argv]) == 1
    assert message in capsys.readouterr().err


def test_boolean_flags_refuse_other_words(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--orthogonal-attention", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


def test_export_all_formats_from_a_run(quick_run, tmp_path, capsys):
    output = str(tmp_path / "savedmodels" / "quick")
    model_path = os.path.join(quick_run, "model.keras")
    argv = ["export", "--model-path", model_path, "--output", output]
    assert main([*argv, "--quantize", "int8"]) == 0
    out, err = capsys.readouterr()
    written = _json_lines(out)[-1]
    for stage in (
        "writing the SavedModel",
        "converting to TFLite",
        "converting to ONNX",
    ):
        assert stage in err, stage
    assert written == {
        "saved_model": os.path.join(output, "1"),
        "tflite": os.path.join(output, "1-int8.tflite"),
        "onnx": os.path.join(output, "1.onnx"),
    }
    for path in written.values():
        assert os.path.exists(path), path
    assert os.path.isfile(os.path.join(output, "1-int8.labels.txt"))
    # The next export is version 2; an existing version is refused.
    assert main([*argv, "--format", "saved_model"]) == 0
    assert _json_lines(capsys.readouterr().out)[-1] == {
        "saved_model": os.path.join(output, "2")
    }
    assert main([*argv, "--format", "saved_model", "--version", "1"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert sorted(os.listdir(output)) == [
        "1",
        "1-int8.labels.txt",
        "1-int8.tflite",
        "1.labels.txt",
        "1.onnx",
        "2",
    ]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--format", "pdf"], "Unknown `format`='pdf'"),
        (["--quantize", "int4"], "Unknown `quantize`='int4'"),
        (
            ["--format", "onnx", "--quantize", "int8"],
            "quantize='int8' applies to TFLite models; format 'onnx' writes none",
        ),
        (
            ["--format", "tflite", "--calibration-dataset", "synthetic"],
            "calibrates int8 models only; quantize='none'",
        ),
    ],
)
def test_export_bad_flags(quick_run, tmp_path, extra, message, capsys):
    model_path = os.path.join(quick_run, "model.keras")
    argv = ["export", "--model-path", model_path, "--output", str(tmp_path / "m")]
    assert main([*argv, *extra]) == 1
    assert message in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "m")


def test_export_of_something_that_is_not_a_model(tmp_path, capsys):
    fake = tmp_path / "model.keras"
    fake.write_text("not a model")
    argv = ["export", "--model-path", str(fake), "--output", str(tmp_path / "m")]
    assert main(argv) == 1
    assert "is not a .keras model file" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "m")


def test_predict_refuses_what_is_not_a_model(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    fake = tmp_path / "notes.txt"
    fake.write_text("hello")
    for path, message in (
        (str(tmp_path / "empty"), "without saved_model.pb"),
        (str(fake), "is not a model"),
    ):
        assert main(["predict", "--model-path", path, "x.png"]) == 1
        assert message in capsys.readouterr().err


def test_benchmark_export_prints_size_and_latency(quick_run, capsys):
    model_path = os.path.join(quick_run, "model.keras")
    argv = ["benchmark", "export", "--model-path", model_path]
    assert main([*argv, "--steps", "2", "--warmup", "1"]) == 0
    out = capsys.readouterr().out
    result = _json_lines(out)[-1]
    assert [row["format"] for row in result["rows"]] == [
        "keras",
        "saved_model",
        "tflite float32",
        "tflite float16",
        "tflite int8",
        "onnx",
    ]
    for row in result["rows"]:
        assert row["size_mb"] > 0
        assert row["median_ms_batch_1"] > 0 and row["median_ms_batch_8"] > 0
    sizes = {row["format"]: row["size_mb"] for row in result["rows"]}
    # Quantised weights take less room.
    assert sizes["tflite int8"] < sizes["tflite float16"] < sizes["tflite float32"]
    assert "ms @ batch 8" in out
    # Answers, on the run's test split: Keras' top-1 is the trained run's.
    with open(os.path.join(quick_run, "metrics.json")) as file:
        trained = json.load(file)["test"]["accuracy"]
    rows = {row["format"]: row for row in result["rows"]}
    assert result["settings"]["test_images"] == 4
    assert rows["keras"]["top1_accuracy"] == pytest.approx(trained, abs=1e-4)
    assert rows["keras"]["top1_agreement"] == 1.0
    for name in ("saved_model", "tflite float32", "onnx"):
        assert rows[name]["top1_agreement"] == 1.0, name
    assert "agrees" in out


def test_benchmark_export_without_a_run_config_skips_the_answers(
    quick_run, tmp_path, capsys
):
    model_path = str(tmp_path / "model.keras")
    shutil.copy(os.path.join(quick_run, "model.keras"), model_path)
    argv = ["benchmark", "export", "--model-path", model_path, "--steps", "1"]
    # int8 needs calibration images; without a config they come from here.
    argv += ["--warmup", "1", "--calibration-dataset", "synthetic"]
    assert main([*argv, "--formats", "tflite-int8"]) == 0
    out = capsys.readouterr().out
    result = _json_lines(out)[-1]
    # Keras is measured too, as the reference.
    assert [row["format"] for row in result["rows"]] == ["keras", "tflite int8"]
    assert result["settings"]["test_images"] == 0
    assert {row["top1_accuracy"] for row in result["rows"]} == {None}
    assert "agrees" not in out
    assert main([*argv, "--test-images", "-1"]) == 1
    assert "test_images" in capsys.readouterr().err
    assert main([*argv, "--formats", "tflite-int4"]) == 1
    assert "Unknown export format(s) 'tflite int4'" in capsys.readouterr().err


def test_evaluate_without_a_run_config_needs_a_dataset(tmp_path, capsys):
    from keras_rra.models import BaselineClassifier

    model = BaselineClassifier(num_classes=10, backbone="tiny", image_size=32)
    path = str(tmp_path / "model.keras")
    model.save(path)
    assert main(["evaluate", "--model-path", path]) == 1
    error = capsys.readouterr().err
    assert "no run config.json beside it" in error and "--dataset" in error
    argv = ["evaluate", "--model-path", path, "--dataset", "synthetic"]
    argv += ["--examples-per-class", "2", "--test-examples-per-class", "2"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["dataset"] == "synthetic" and "accuracy" in report["metrics"]


def test_the_command_answers_help_without_tensorflow():
    code = (
        "import sys\n"
        "from keras_rra import cli\n"
        "for argv in (['--help'], ['train', '--help'], ['tune', '--help'],\n"
        "             ['explain', '--help'], ['plot', '--help'],\n"
        "             ['export', '--help']):\n"
        "    try:\n"
        "        cli.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print([name in sys.modules for name in ('tensorflow', 'keras', "
        "'keras_tuner', 'matplotlib')])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "[False, False, False, False]"
    assert result.stderr == ""


@pytest.mark.parametrize("level", [None, "3", "0"], ids=["unset", "3", "0"])
def test_a_command_prints_no_tensorflow_log_lines(quick_run, tmp_path, level):
    # TF_CPP_MIN_LOG_LEVEL=3, the usual way to quiet TensorFlow, printed
    # absl's and oneDNN's start-up lines: absl writes them before any level
    # applies.
    image = str(tmp_path / "image.png")
    Image.fromarray(np.zeros((40, 30, 3), "uint8")).save(image)
    model = os.path.join(quick_run, "model.keras")
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    if level is not None:
        environment["TF_CPP_MIN_LOG_LEVEL"] = level
    process = _cli("predict", "--model-path", model, image, env=environment)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert _json_lines(out)[0]["image"] == image
    assert err.strip() == "", err


def test_verbose_shows_tensorflow_log_lines(quick_run, tmp_path):
    image = str(tmp_path / "image.png")
    Image.fromarray(np.zeros((40, 30, 3), "uint8")).save(image)
    model = os.path.join(quick_run, "model.keras")
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    argv = ["predict", "--verbose", "--model-path", model, image]
    process = _cli(*argv, env=environment)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    # TensorFlow's own start-up lines (absl's header, oneDNN's note).
    assert "absl" in err or "oneDNN" in err, err


def test_bad_data_warnings_are_one_clean_line_each(tmp_path, capsys):
    root = _tiny_folder(tmp_path / "images")
    broken = os.path.join(root, "train", os.listdir(os.path.join(root, "train"))[0])
    with open(os.path.join(broken, "broken.png"), "wb") as file:
        file.write(b"not a png")
    argv = ["train", *QUICK, "--epochs", "1", "--dataset", f"folder:{root}"]
    assert main([*argv, "--output", str(tmp_path / "run")]) == 0
    err = capsys.readouterr().err
    # The warning is the command's own sentence, then the files it names;
    # no Python file, line or source is shown.
    lines = err.splitlines()
    (start,) = [i for i, line in enumerate(lines) if "skipped 1 example" in line]
    assert lines[start].startswith("keras-rra: warning: ")
    assert "broken.png: not an image file" in lines[start + 1]
    assert "return load(" not in err and ".py:" not in err


def test_predict_on_folders_and_globs_to_a_csv(quick_run, tmp_path, capsys):
    folder = tmp_path / "photos"
    (folder / "more").mkdir(parents=True)
    for path in (folder / "a.png", folder / "more" / "b.jpg"):
        Image.fromarray(np.full((36, 50, 3), 90, "uint8")).save(path)
    (folder / "notes.txt").write_text("not an image")
    model = os.path.join(quick_run, "model.keras")
    table = str(tmp_path / "results.csv")
    argv = ["predict", "--model-path", model, "--top-k", "2", "--output", table]
    assert main([*argv, str(folder), str(tmp_path / "photos" / "*.png")]) == 0
    captured = capsys.readouterr()
    assert "wrote 3 predictions" in captured.out
    assert "notes.txt" in captured.err and "keras-rra: warning:" in captured.err
    with open(table, newline="") as file:
        rows = list(csv.DictReader(file))
    assert [os.path.basename(row["image"]) for row in rows] == [
        "a.png",
        "b.jpg",
        "a.png",
    ]
    assert rows[0]["class_1"] and float(rows[0]["probability_1"]) > 0
    assert main(["predict", "--model-path", model, str(tmp_path / "*.gif")]) == 1
    assert "No image file matches" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["predict", "--model-path", model, str(tmp_path / "empty")]) == 1
    assert "No image file in" in capsys.readouterr().err


def test_a_folder_of_one_class_is_named(tmp_path, capsys):
    from keras_rra.data import synthetic

    root = synthetic.write_image_folder(
        str(tmp_path / "one"),
        num_classes=2,
        image_size=32,
        examples_per_class=2,
        test_examples_per_class=1,
    )
    for split in ("train", "test"):
        shutil.rmtree(
            os.path.join(root, split, sorted(os.listdir(os.path.join(root, split)))[1])
        )
    assert main(["train", *QUICK, "--dataset", f"folder:{root}"]) == 1
    error = capsys.readouterr().err
    assert f"folder:{root}" in error and "has one class" in error
    assert "num_classes" not in error


def test_progress_lines_for_train_and_evaluate(quick_run, capsys):
    # The quick run was trained without --quiet (export: in
    # test_export_all_formats_from_a_run).
    with open(os.path.join(os.path.dirname(quick_run), "train.stderr")) as file:
        err = file.read()
    assert "building the training graph" in err
    assert "keras-rra: epoch 1/2 took" in err and "the run ends in about" in err
    assert "keras-rra train: plotting the run" in err
    model = os.path.join(quick_run, "model.keras")
    assert main(["evaluate", "--model-path", model]) == 0
    assert "keras-rra evaluate: evaluating on synthetic" in capsys.readouterr().err
    assert main(["evaluate", "--model-path", model, "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_early_stopping_keep_best_and_tensorboard(tmp_path, capsys):
    run_dir = str(tmp_path / "run")
    logs = str(tmp_path / "logs")
    argv = ["train", *QUICK, "--epochs", "6", "--validation-fraction", "0.25"]
    argv += ["--early-stopping", "1", "--keep", "best", "--tensorboard", logs]
    assert main([*argv, "--output", run_dir]) == 0
    with open(os.path.join(run_dir, "history.csv")) as file:
        rows = list(csv.DictReader(file))
    losses = [float(row["val_loss"]) for row in rows]
    # Stopped one epoch after the best validation loss, unless it kept falling.
    assert len(rows) == 6 or losses[-1] >= min(losses)
    assert sorted(os.listdir(logs)) == ["train", "validation"]
    capsys.readouterr()
    argv = ["train", *QUICK, "--keep", "best", "--validation-fraction", "0"]
    assert main([*argv, "--output", str(tmp_path / "refused")]) == 1
    assert "chooses on a validation split" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "refused")


def test_true_part_boxes_with_the_default_number_of_boxes(tmp_path, capsys):
    # The upper-bound row of the accuracy benchmark: patch boxes on the
    # synthetic data, K left at its default (one box from the data).
    run_dir = str(tmp_path / "run")
    argv = ["train", *QUICK, "--epochs", "1", "--patch", "boxes"]
    assert main([*argv, "--output", run_dir]) == 0
    results = json.loads(capsys.readouterr().out)
    assert 0 <= results["test_localization"]["part_centre_hit_rate"] <= 1


@pytest.mark.slow
def test_tune_then_train_from_the_best_config_then_resume(tmp_path, capsys):
    directory = str(tmp_path / "search")
    argv = [*SEARCH, "--directory", directory, "--max-trials", "2"]
    assert main([*argv, "--retrain"]) == 0
    out = capsys.readouterr().out
    summary = _json_lines(out)[-1]
    assert summary["trials"] == summary["completed"] == 2
    assert summary["trials_run_here"] == ["0", "1"]
    # The table of trials, on screen and in trials.csv.
    assert "val_accuracy" in out and "learning_rate" in out and "COMPLETED" in out
    with open(os.path.join(directory, "trials.csv"), encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert [row["status"] for row in rows] == ["COMPLETED", "COMPLETED"]
    best = summary["best_values"]
    assert set(best) == {"learning_rate", "dropout"}
    assert 1e-4 <= best["learning_rate"] <= 1e-2
    # --retrain trained the best configuration and evaluated on the test split.
    assert 0 <= summary["retrain"]["test"]["accuracy"] <= 1
    # best_config.json is a config `keras-rra train` takes unchanged.
    run_dir = str(tmp_path / "best")
    config_path = summary["best_config"]
    assert main(["train", "--config", config_path, "--output", run_dir, "--quiet"]) == 0
    with open(os.path.join(run_dir, "config.json"), encoding="utf-8") as file:
        trained = json.load(file)
    assert trained["learning_rate"] == pytest.approx(best["learning_rate"])
    assert trained["dropout"] == best["dropout"]
    assert trained["model"] == "baseline" and trained["validation_fraction"] == 0.1
    capsys.readouterr()

    # The same search again: finished trials are not run again.
    assert main(argv) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["trials_run_here"] == []
    # A larger budget runs only the new trial.
    assert main([*SEARCH, "--directory", directory, "--max-trials", "3"]) == 0
    again = _json_lines(capsys.readouterr().out)[-1]
    assert again["trials_run_here"] == ["2"] and again["trials"] == 3

    # Another search in the same folder is refused, naming the difference.
    other = [*SEARCH, "--directory", directory, "--tune", "learning_rate"]
    assert main(other) == 1
    error = capsys.readouterr().err
    assert "holds another search" in error
    assert "search range of dropout" in error and "not searched" in error
    assert main([*argv, "--num-classes", "4", "--image-size", "40"]) == 1
    error = capsys.readouterr().err
    assert "num_classes: 3 -> 4" in error and "image_size: 32 -> 40" in error
    # --overwrite starts again; TensorBoard logs go to a folder per trial.
    logs = str(tmp_path / "logs")
    assert (
        main([*other, "--max-trials", "1", "--overwrite", "--tensorboard", logs]) == 0
    )
    fresh = _json_lines(capsys.readouterr().out)[-1]
    assert fresh["trials"] == 1 and list(fresh["best_values"]) == ["learning_rate"]
    assert os.listdir(logs) == ["0"]


def test_tune_help_lists_the_search_flags():
    result = subprocess.run(
        [sys.executable, "-m", "keras_rra", "tune", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    for flag in ("--tuner", "--max-trials", "--objective", "--search", "--retrain"):
        assert flag in result.stdout
    assert "val_accuracy" in result.stdout and "hyperband" in result.stdout
    assert "--timesteps" in result.stdout


def test_explain_and_plot_a_run(quick_run, tmp_path, capsys):
    image = str(tmp_path / "image.png")
    Image.fromarray(np.full((40, 30, 3), 128, "uint8")).save(image)
    model = os.path.join(quick_run, "model.keras")
    output = str(tmp_path / "figures")
    assert main(["explain", "--model-path", model, image, "--output", output]) == 0
    (result,) = _json_lines(capsys.readouterr().out)
    assert result["image"] == image and result["figure"].startswith(output)
    # The navigator's two boxes (the default `num_parts`), best first.
    assert len(result["attention"]) == 3 and len(result["looked"]) == 2
    scores = [looked["score"] for looked in result["looked"]]
    assert scores[0] >= scores[1]
    with open(result["figure"], "rb") as file:
        assert file.read(4) == b"\x89PNG"
    argv = ["explain", "--model-path", model, image, "--output", output]
    assert main([*argv, "--class-index", "7"]) == 1
    assert "class_index 7 is out of range" in capsys.readouterr().err
    # A copy: other workers read the shared run meanwhile.
    run = str(tmp_path / "run")
    shutil.copytree(quick_run, run)
    os.remove(os.path.join(run, "curves.png"))
    assert main(["plot", run]) == 0
    printed = capsys.readouterr().out.split()
    assert [os.path.basename(path) for path in printed] == [
        "curves.png",
        "confusion.png",
        "per_class_accuracy.png",
    ]
    assert os.path.isfile(os.path.join(run, "curves.png"))
    assert main(["plot", str(tmp_path / "nothing")]) == 1
    assert "does not exist" in capsys.readouterr().err
