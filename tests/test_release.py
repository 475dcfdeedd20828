"""The release a user installs: one version, a changelog entry, a wheel and
an sdist that PyPI accepts, and the publishing workflow."""

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile

import pytest
import yaml

import keras_rra

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")


def test_one_semantic_version_everywhere():
    assert SEMVER.match(keras_rra.__version__)
    # setup.cfg reads it from keras_rra/version.py: the installed metadata.
    assert importlib.metadata.version("keras-rra") == keras_rra.__version__
    with open(os.path.join(ROOT, "CHANGELOG.md"), encoding="utf-8") as file:
        changelog = file.read()
    assert f"\n## {keras_rra.__version__}\n" in changelog


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    # From a copy of the sources: setuptools writes build/ and *.egg-info
    # beside them, and another test worker may be building too.
    source = tmp_path_factory.mktemp("source") / "keras-rra"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "build", "dist", "*.egg-info", "site", "runs",
            "__pycache__", ".pytest_cache", ".ruff_cache",
        ),
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("dist")
    # Offline: the build tools of the test extra, no isolated environment.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", folder, source],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return sorted(os.path.join(folder, name) for name in os.listdir(folder))


def test_the_wheel_and_sdist_hold_the_whole_package(built):
    version = keras_rra.__version__
    names = [os.path.basename(path) for path in built]
    assert names == [
        f"keras_rra-{version}-py3-none-any.whl",
        f"keras_rra-{version}.tar.gz",
    ]
    packages = {
        os.path.relpath(folder, ROOT).replace(os.sep, "/")
        for folder, _, files in os.walk(os.path.join(ROOT, "keras_rra"))
        if "__init__.py" in files
    }
    with zipfile.ZipFile(built[0]) as wheel:
        inside = set(wheel.namelist())
    assert {f"{package}/__init__.py" for package in packages} <= inside
    assert not [name for name in inside if name.startswith("tests/")]
    with tarfile.open(built[1]) as sdist:
        members = {name.split("/", 1)[-1] for name in sdist.getnames()}
    assert {"setup.cfg", "pyproject.toml", "README.md"} <= members


def test_twine_accepts_both(built):
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *built],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2


def test_the_release_workflow_publishes_tags_with_trusted_publishing():
    path = os.path.join(ROOT, ".github", "workflows", "release.yml")
    with open(path, encoding="utf-8") as file:
        workflow = yaml.safe_load(file)
    # YAML reads the key `on` as True.
    trigger = workflow.get("on", workflow.get(True))
    assert trigger["push"]["tags"] == ["v*.*.*"]
    publish = workflow["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["steps"][-1]["uses"].startswith("pypa/gh-action-pypi-publish")
    build_steps = " ".join(
        step.get("run", "") for step in workflow["jobs"]["build"]["steps"]
    )
    assert "python -m build" in build_steps and "twine check" in build_steps
    assert "keras_rra/version.py" in build_steps  # the tag is the version
