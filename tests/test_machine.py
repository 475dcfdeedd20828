"""The machine a benchmark ran on."""

import subprocess
import sys

from keras_rra.benchmarks.machine import describe_machine
from keras_rra.benchmarks.machine import format_machine


def test_the_description_names_cpu_cores_memory_and_date():
    description = describe_machine()
    assert description["cores"] >= 1 and description["memory_gib"] > 0
    assert len(description["date"]) == 10 and description["cpu"]
    line = format_machine(description)
    assert f"{description['cores']} cores" in line and description["date"] in line


def test_describing_the_machine_does_not_start_tensorflow():
    code = (
        "import sys; from keras_rra.benchmarks.machine import describe_machine; "
        "d = describe_machine(); print('tensorflow' in sys.modules, 'tensorflow' in d)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "False"]
