"""The machine's dense matrix-multiply rate: the roof a training step is
measured against."""

import time

from keras_rra.utils.validation import check_positive_int

# The compute types of the mixed-precision policies.
PEAK_DTYPES = {
    "float32": "float32",
    "mixed_bfloat16": "bfloat16",
    "mixed_float16": "float16",
}


def matmul_peak(dtype="float32", size=2048, repeats=5):
    """GFLOP/s of one `size` x `size` by `size` x `size` matrix product in
    `dtype`, the best of `repeats` timed runs after an untimed one, by
    TensorFlow and, for float32, by NumPy's BLAS: the faster is the roof.

    A dense product this large keeps every core's vector units busy with
    almost no memory traffic per FLOP: the rate a training step of the same
    dtype cannot beat on this machine. NumPy's BLAS can beat TensorFlow's
    own product (measured on a 2-core AMD EPYC without AVX-512: 190 against
    133 GFLOP/s at 2048), and the roof is the machine's, not one library's.

    Args:
        dtype: `"float32"`, `"bfloat16"` or `"float16"`.
        size: the matrices' side.
        repeats: timed products.

    Returns:
        GFLOP/s (2 * size**3 FLOPs per product).

    Example:

    >>> matmul_peak("float32", size=256, repeats=1) > 0
    True
    """
    import numpy as np
    import tensorflow as tf

    if dtype not in PEAK_DTYPES.values():
        raise ValueError(
            f"Unknown dtype {dtype!r} for the matmul peak; expected one of "
            f"{', '.join(sorted(set(PEAK_DTYPES.values())))}."
        )
    check_positive_int("size", size)
    check_positive_int("repeats", repeats)
    shape = (size, size)
    a = tf.cast(tf.random.stateless_uniform(shape, seed=(0, 0)), dtype)
    b = tf.cast(tf.random.stateless_uniform(shape, seed=(0, 1)), dtype)
    product = tf.function(tf.linalg.matmul)
    # `numpy()` waits for the result; copying it costs size**2 of the
    # product's size**3.
    seconds = _best_time(lambda: product(a, b).numpy(), repeats)
    if dtype == "float32":
        a, b = a.numpy(), b.numpy()
        seconds = min(seconds, _best_time(lambda: np.matmul(a, b), repeats))
    return 2 * size**3 / seconds / 1e9


def _best_time(run, repeats):
    """The shortest of `repeats` timed calls, after an untimed one (tracing,
    thread pools starting)."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best
