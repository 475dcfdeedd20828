import subprocess
import sys

import numpy as np
import pytest

from keras_rra.benchmarks.peak_memory import peak_memory_mb

CHILD = """
import numpy as np
from keras_rra.benchmarks.peak_memory import peak_memory_mb
before = peak_memory_mb()
held = np.ones({megabytes} * 2**20 // 8)
print(before, peak_memory_mb())
"""


def _child_peaks(megabytes):
    """(peak before, peak after allocating `megabytes`) in a new process."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD.format(megabytes=megabytes)],
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(value) for value in done.stdout.split()]


def test_peak_rises_with_what_the_process_holds():
    before, after = _child_peaks(300)
    assert after - before == pytest.approx(300, abs=30)


def test_a_child_reports_its_own_peak_not_its_parents():
    # getrusage's ru_maxrss would give the child at least this process's
    # peak, 600 MB and more.
    held = np.ones(600 * 2**20 // 8)
    parent = peak_memory_mb()
    before, after = _child_peaks(10)
    assert parent > 600
    assert before < parent - 400 and after < parent - 400
    del held
