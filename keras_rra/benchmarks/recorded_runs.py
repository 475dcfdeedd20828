"""Commands measured as a user runs them, for the README's numbers:
`keras-rra train` with its defaults (`default_run.json`) and the CI run on a
fresh clone (`ci.json`). Each record names the command, the machine, the
date and the commit it measured."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from keras_rra.benchmarks.machine import describe_machine
from keras_rra.utils.json_file import write_json


def _commit(folder):
    try:
        result = subprocess.run(
            ["git", "-C", folder, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return result.stdout.strip()


def measure_default_run(output, repository="."):
    """Runs `keras-rra train` exactly as the README's first command does (no
    flags, in an empty folder) and writes its wall time, machine and
    `metrics.json` to `output`; returns the record."""
    import json

    with tempfile.TemporaryDirectory(prefix="keras-rra-default-") as folder:
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "keras_rra", "train", "--quiet"],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - start
        (run,) = os.listdir(os.path.join(folder, "runs"))
        with open(os.path.join(folder, "runs", run, "metrics.json")) as file:
            metrics = json.load(file)
    metrics.pop("run_dir", None)
    record = {
        "command": "keras-rra train",
        "commit": _commit(repository),
        "machine": describe_machine(),
        "wall_seconds": round(wall, 1),
        **metrics,
    }
    write_json(output, record)
    return record


PYTEST_SUMMARY = re.compile(r"(\d+) passed")


def measure_ci(output, repository="."):
    """Clones `repository` (its committed HEAD) into a fresh folder, runs
    `bash .ci/run` there as CI does, and writes its wall time and test
    count to `output`; returns the record. Raises if the run fails."""
    folder = tempfile.mkdtemp(prefix="keras-rra-ci-")
    try:
        clone = os.path.join(folder, "clone")
        subprocess.run(
            ["git", "clone", "--quiet", os.path.abspath(repository), clone], check=True
        )
        start = time.perf_counter()
        result = subprocess.run(
            ["bash", ".ci/run"],
            cwd=clone,
            capture_output=True,
            text=True,
            env={**os.environ, "CI": "true"},
        )
        wall = time.perf_counter() - start
        if result.returncode != 0:
            raise RuntimeError(
                f"bash .ci/run failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
            )
        passed = PYTEST_SUMMARY.findall(result.stdout)
        record = {
            "command": "bash .ci/run",
            "commit": _commit(clone),
            "machine": describe_machine(),
            "wall_seconds": round(wall, 1),
            "tests": int(passed[-1]) if passed else None,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    write_json(output, record)
    return record
