"""The train benchmark's ratios and table, from rows as its children
report them (the children themselves run in tests/test_cli.py)."""

import pytest

from keras_rra.benchmarks.train_step import format_report
from keras_rra.benchmarks.train_step import step_ratios


def _row(model, timesteps, jit, precision, images_per_second):
    return {
        "model": model,
        "timesteps": timesteps,
        "jit": jit,
        "precision": precision,
        "images_per_second": images_per_second,
        "step_seconds": 16 / images_per_second,
        "peak_memory_mb": 900.0,
        "gflop_per_image": 0.5,
        "gflops_per_second": 0.5 * images_per_second,
        "fraction_of_peak": 0.5 * images_per_second / 100,
    }


ROWS = [
    _row("rra", 1, "off", "float32", 40.0),
    _row("rra", 1, "off", "mixed_bfloat16", 80.0),
    _row("rra", 10, "off", "float32", 32.0),
    _row("rra", 10, "off", "mixed_bfloat16", 60.0),
    _row("rra", 10, "on", "float32", 16.0),
    {"model": "baseline", "timesteps": None, "jit": "off",
     "precision": "float32", "error": "out of memory"},
]  # fmt: skip


def test_ratios_per_precision_and_mode():
    ratios = step_ratios(ROWS, [1, 10])
    assert ratios["time_ratio_longest_to_shortest"] == {
        "off": pytest.approx(40 / 32),
        "off mixed_bfloat16": pytest.approx(80 / 60),
    }
    assert ratios["bfloat16_speedup"] == {
        "rra T=1 XLA off": pytest.approx(2.0),
        "rra T=10 XLA off": pytest.approx(60 / 32),
    }
    assert ratios["xla_speedup"] == {"rra T=10": pytest.approx(0.5)}
    # One T: no ratio of T's to print.
    assert step_ratios(ROWS, [10])["time_ratio_longest_to_shortest"] == {}


def test_the_table_shows_peaks_rows_failures_andstep_ratios():
    result = {
        "settings": {"peak_size": 2048},
        "peak_gflops": {"float32": 100.0, "bfloat16": 210.0},
        "rows": ROWS,
        **step_ratios(ROWS, [1, 10]),
    }
    text = format_report(result)
    assert "dense 2048 x 2048 matmul peak, bfloat16: 210.0 GFLOP/s" in text
    assert "mixed bfloat16 speed-up over float32, rra T=1 XLA off: 2.00x" in text
    assert f"{'float32':<15}failed: out of memory" in text
    # images/s, GFLOP/s and the percentage of the peak of the first row.
    assert "40.0" in text and "20.0" in text
    assert len(text.splitlines()) == 2 + 1 + len(ROWS) + 2 + 1 + 2
