"""The machine a benchmark ran on, so that its numbers can be read later."""

import datetime
import os
import platform


def _cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as file:
            for line in file:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _usable_cores():
    # The cores this process may run on (a container's limit), not the host's.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def describe_machine():
    """A dict naming the CPU, its usable cores, memory, the date and the
    versions of Python, TensorFlow and Keras.

    TensorFlow and Keras are only named if the process already imported
    them: describing the machine must not start TensorFlow.
    """
    import sys

    pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
    page_size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
    description = {
        "date": datetime.date.today().isoformat(),
        "cpu": _cpu_model(),
        "cores": _usable_cores(),
        "memory_gib": round(pages * page_size / 2**30, 1),
        "python": platform.python_version(),
    }
    for module in ("tensorflow", "keras"):
        if module in sys.modules:
            description[module] = sys.modules[module].__version__
    return description


def format_machine(description):
    """One line: 'AMD EPYC ..., 2 cores, 24.0 GiB, 2026-12-03, ...'."""
    versions = ", ".join(
        f"{name} {description[name]}"
        for name in ("python", "tensorflow", "keras")
        if name in description
    )
    return (
        f"{description['cpu']}, {description['cores']} cores, "
        f"{description['memory_gib']} GiB, {description['date']}, {versions}"
    )
