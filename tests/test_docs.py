"""The documentation cannot drift from the code: the site builds with
warnings as errors, every flag of the command synopses exists, every code
block compiles and every command parses, and the blocks of the README and
of every page run, in every test run.

Blocks run in order, one document at a time, in a fresh folder that holds
a few images in `images/` and `photos/` (the user's own pictures).
`keras-rra` commands run in process with tiny-scale flags appended (later
flags win in argparse: one epoch, four images per class, one trial);
Python blocks run with `fit`, `evaluate` and `predict` capped at two
steps and `max_trials` at one. RRA runs with 2 steps, 16 LSTM units and 16
add-on channels (`tests.helpers.SMALL_RRA`, in the `cpu` preset and in the
blocks' keyword arguments). A block that cannot run here (it needs a
dataset on disk, Docker, several machines or the network) is preceded by
`<!-- not run: REASON -->`; its `keras-rra` commands are still parsed by
the real command-line parser.
"""

import argparse
import glob
import os
import re
import shlex
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from tests.helpers import assert_imports_exist
from tests.helpers import small_rra_source
from tests.helpers import use_small_rra

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOCUMENTS = sorted(
    [os.path.join(ROOT, "README.md")]
    + glob.glob(os.path.join(ROOT, "docs", "**", "*.md"), recursive=True)
)
BLOCK = re.compile(
    r"(?:<!-- not run: (?P<reason>[^>]+?) -->\s*\n)?"
    r"```(?P<language>\w*)\n(?P<code>.*?)```",
    re.S,
)
RUN_LANGUAGES = ("python", "bash")
# Appended to each `keras-rra` command of that subcommand.
TINY_FLAGS = {
    "train": ["--epochs", "1", "--examples-per-class", "4"]
    + ["--test-examples-per-class", "2", "--quiet"],
    "tune": ["--epochs", "1", "--examples-per-class", "4"]
    + ["--test-examples-per-class", "2", "--max-trials", "1", "--quiet"],
}
STEPS = 2


def _name(path):
    return os.path.relpath(path, ROOT)


def blocks(path):
    """The fenced blocks of a document: (language, code, reason not run)."""
    with open(path, encoding="utf-8") as file:
        text = file.read()
    return [
        (match["language"], match["code"], match["reason"])
        for match in BLOCK.finditer(text)
    ]


def commands(code):
    """The shell commands of a bash block, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", code)
    lines = [line.split(" #")[0].strip() for line in joined.splitlines()]
    lines = [line for line in lines if line and not line.startswith("#")]
    return [part.strip() for line in lines for part in line.split("&&")]


def _parser():
    from keras_rra.cli import _build_parser

    return _build_parser()


def _subparser(parser, words):
    """The argparse parser of `keras-rra WORDS...` (e.g. benchmark export)."""
    for word in words:
        actions = [
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        ]
        if not actions or word not in actions[0].choices:
            return parser
        parser = actions[0].choices[word]
    return parser


def _cap_steps(monkeypatch):
    fit, evaluate, predict = keras.Model.fit, keras.Model.evaluate, keras.Model.predict

    def small_fit(self, *args, **kwargs):
        kwargs["epochs"] = min(kwargs.get("epochs", 1), 2)
        kwargs["steps_per_epoch"] = STEPS
        if kwargs.get("validation_data") is not None:
            kwargs["validation_steps"] = 1
        return fit(self, *args, **kwargs)

    def small_evaluate(self, *args, **kwargs):
        return evaluate(self, *args, **dict(kwargs, steps=STEPS))

    def small_predict(self, x, *args, **kwargs):
        if not isinstance(x, (np.ndarray, dict)):
            kwargs["steps"] = STEPS
        return predict(self, x, *args, **kwargs)

    from keras_rra.training import Trainer

    trainer_fit = Trainer.fit

    def small_trainer_fit(self, train_data, epochs=1, validation_data=None, **kwargs):
        if validation_data is not None:
            validation_data = validation_data.take(1)
        return trainer_fit(
            self,
            train_data.take(STEPS),
            epochs=1,
            validation_data=validation_data,
            **kwargs,
        )

    monkeypatch.setattr(Trainer, "fit", small_trainer_fit)
    monkeypatch.setattr(keras.Model, "fit", small_fit)
    monkeypatch.setattr(keras.Model, "evaluate", small_evaluate)
    monkeypatch.setattr(keras.Model, "predict", small_predict)


def _write_images(folder):
    from keras_rra.data import synthetic

    data = synthetic.generate("test", num_classes=2, examples_per_class=2)
    for name in ("images", "photos"):
        os.makedirs(folder / name)
        for index, image in enumerate(data["images"][:3]):
            Image.fromarray(image).save(folder / name / f"{index}.png")


def _run_command(command, tmp_path):
    words = shlex.split(command)
    if words[0] == "keras-rra":
        from keras_rra.cli import main

        # A resumed run keeps its own settings: only its length changes.
        flags = (
            ["--epochs", "2"] if "--resume" in words else TINY_FLAGS.get(words[1], [])
        )
        assert main([*words[1:], *flags]) == 0, command
    elif words[0] == "mkdocs":
        _build_site(tmp_path / "site")
    elif words[0] == "ruff":
        subprocess.run([sys.executable, "-m", *words], cwd=ROOT, check=True)
    else:
        raise AssertionError(
            f"{command!r}: no runner for {words[0]!r}; mark it not run"
        )


def _build_site(site_dir):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict"]
        + [
            "--site-dir",
            str(site_dir),
            "--config-file",
            os.path.join(ROOT, "mkdocs.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_every_document_has_blocks_and_names_them():
    runnable = 0
    for path in DOCUMENTS:
        for language, code, reason in blocks(path):
            assert language, f"{_name(path)}: a block without a language:\n{code}"
            runnable += language in RUN_LANGUAGES and not reason
    assert runnable >= 15


def test_the_site_builds_without_warnings(tmp_path):
    _build_site(tmp_path / "site")
    assert os.path.isfile(tmp_path / "site" / "api" / "models" / "index.html")
    with open(
        tmp_path / "site" / "api" / "models" / "index.html", encoding="utf-8"
    ) as file:
        # The API pages are made from the docstrings.
        assert "the global stream" in file.read().lower()


def test_every_flag_of_every_synopsis_exists():
    parser = _parser()
    checked = 0
    for path in DOCUMENTS:
        for language, code, _ in blocks(path):
            if language != "text" or not code.startswith("keras-rra"):
                continue
            for entry in re.split(r"\n(?=keras-rra )", code):
                words = entry.split()
                subcommand = [w for w in words[1:3] if re.fullmatch(r"[a-z]+", w)]
                known = _subparser(parser, subcommand)._option_string_actions
                for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", entry):
                    assert flag in known, f"{_name(path)}: {' '.join(words[:3])} {flag}"
                    checked += 1
    assert checked > 60


def test_every_block_compiles_and_every_command_parses():
    """Python blocks compile and import only names that exist; every `keras-rra`
    command, in a block that runs or not, is accepted by the real parser
    (environment assignments such as TF_CONFIG=... and `...` left out)."""
    parser = _parser()
    checked = 0
    for path in DOCUMENTS:
        for language, code, _ in blocks(path):
            if language == "python":
                assert_imports_exist(code, _name(path))
                checked += 1
            elif language == "bash":
                for command in commands(code):
                    if "keras-rra " not in command:
                        continue  # docker, curl, mkdocs: not ours to parse
                    words = shlex.split(command)
                    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                        words = words[1:]  # environment assignments
                    assert words[0] == "keras-rra", command
                    parser.parse_args([w for w in words[1:] if w != "..."])
                    checked += 1
    assert checked >= 25


def _runnable(path):
    return [
        (language, code)
        for language, code, reason in blocks(path)
        if language in RUN_LANGUAGES and not reason
    ]


# Every document with a block to run, end to end in every test run: measured
# 12-107 s each on two cores, about 5 minutes of CPU for the eight.
@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in DOCUMENTS if _runnable(p)], ids=_name)
def test_the_blocks_of_a_document_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write_images(tmp_path)
    _cap_steps(monkeypatch)
    use_small_rra(monkeypatch)
    namespace = {"__name__": "__docs__"}
    for language, code in _runnable(path):
        if language == "python":
            small = re.sub(r"max_trials=\d+", "max_trials=1", small_rra_source(code))
            exec(compile(small, _name(path), "exec"), namespace)
        else:
            for command in commands(code):
                _run_command(command, tmp_path)
