"""PNG figures through matplotlib's object interface.

Nothing here touches pyplot's global state or a notebook's backend.
"""

import os


def new_figure(width, height):
    """A `matplotlib.figure.Figure` of `width` x `height` inches at 100 dpi."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(
            "Figures need matplotlib, which is not installed: pip install matplotlib."
        ) from None
    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def save_png(figure, path):
    """Writes the PNG atomically: a reader never sees half a file."""
    partial = f"{path}.partial.png"
    figure.savefig(partial, format="png")
    os.replace(partial, path)
    return path
