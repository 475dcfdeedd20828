"""Argument and value checks that raise errors naming the offending value.

Every public constructor of the package checks its arguments here, so the
same mistake gets the same sentence wherever it is made.
"""

import numpy as np


def check_positive_int(name, value, minimum=1):
    """Returns `value` if it is an integer >= `minimum`, else raises."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"`{name}` must be an integer >= {minimum}; received {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}; received {name}={value}.")
    return int(value)


def check_choice(name, value, choices):
    """Returns `value` if it is one of `choices`, else raises with the list."""
    if value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown `{name}`={value!r}. Expected one of: {known}.")
    return value


def check_non_negative(name, value):
    """Returns `value` as a float if it is a number >= 0, else raises."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a number >= 0; received {value!r}."
        ) from None
    if not number >= 0:
        raise ValueError(f"`{name}` must be >= 0; received {value}.")
    return number


def check_fraction(name, value):
    """Returns `value` as a float if 0 < value <= 1, else raises."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be a number in (0, 1]; received {value!r}."
        ) from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"`{name}` must be in (0, 1]; received {name}={value}.")
    return value


def to_fractions(name, value):
    """A tuple of fractions in (0, 1] from one number or a non-empty list."""
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(
            f"`{name}` must be a fraction or a non-empty list of fractions in "
            f"(0, 1] (e.g. [0.25]); received {value!r}."
        )
    return tuple(check_fraction(name, item) for item in value)


def to_size(name, value):
    """Normalises an int or an (height, width) pair to a tuple of two ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    try:
        height, width = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"`{name}` must be an int or a (height, width) pair; received {value!r}."
        ) from None
    if height < 1 or width < 1:
        raise ValueError(f"`{name}` must be positive; received {name}={value!r}.")
    return height, width


def smaller_side(size):
    """The smaller side of an int size or a `(height, width)` pair."""
    return min(size) if isinstance(size, (list, tuple)) else size


def check_boxes(boxes, source="boxes"):
    """Checks normalised (y1, x1, y2, x2) boxes and returns them as float32.

    Args:
        boxes: array-like whose last axis has 4 values.
        source: what the boxes are, used in the error message (a file name,
            an argument name).

    Raises:
        ValueError: naming the first bad box, its index and its values, if a
            box is outside [0, 1], empty (y2 <= y1 or x2 <= x1) or not finite.
    """
    array = np.asarray(boxes, dtype="float32")
    if array.ndim < 1 or array.shape[-1] != 4:
        raise ValueError(
            f"{source}: boxes must have 4 values (y1, x1, y2, x2) on their "
            f"last axis; received shape {array.shape}."
        )
    flat = array.reshape(-1, 4)
    problems = (
        (~np.isfinite(flat).all(axis=1), "is not finite"),
        (((flat < 0.0) | (flat > 1.0)).any(axis=1), "is outside [0, 1]"),
        (flat[:, 2] <= flat[:, 0], "has y2 <= y1"),
        (flat[:, 3] <= flat[:, 1], "has x2 <= x1"),
    )
    for bad, reason in problems:
        if bad.any():
            first = int(np.argmax(bad))
            index = np.unravel_index(first, array.shape[:-1])
            raise ValueError(
                f"{source}: box {tuple(int(i) for i in index)} = "
                f"{flat[first].tolist()} {reason} ({int(bad.sum())} bad box(es) "
                "in all). Boxes are normalised (y1, x1, y2, x2) with "
                "0 <= y1 < y2 <= 1 and 0 <= x1 < x2 <= 1."
            )
    return array


def concrete_value(tensor):
    """Returns `tensor` as a NumPy array when its value is known, else None.

    Layers use this to validate values in eager calls; inside a traced
    function (fit, predict, export) the value is unknown and checks are left
    to the data pipeline.
    """
    if isinstance(tensor, np.ndarray):
        return tensor
    numpy = getattr(tensor, "numpy", None)
    if numpy is None:
        return None
    try:
        return np.asarray(numpy())
    except Exception:
        return None
