"""Figures of what a model saw and of how a run went, as PNG files.

matplotlib's object interface only (`matplotlib.figure.Figure`): nothing
here touches pyplot's global state or a notebook's backend. Heat maps use
`cividis` and boxes the Okabe-Ito colours: both read for colour-blind eyes.
"""

import csv
import os

import numpy as np

from keras_rra.utils.png_figures import new_figure
from keras_rra.utils.png_figures import save_png

HEAT_MAP = "cividis"
# Okabe-Ito: orange, sky blue, bluish green, vermillion, reddish purple.
BOX_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7")


def _draw_boxes(axis, looked, height, width):
    for index, region in enumerate(looked):
        y1, x1, y2, x2 = region["box"]
        colour = BOX_COLOURS[index % len(BOX_COLOURS)]
        axis.add_patch(
            _rectangle(
                (x1 * width - 0.5, y1 * height - 0.5),
                (x2 - x1) * width,
                (y2 - y1) * height,
                colour,
            )
        )
        if region.get("score") is not None:
            axis.text(
                x1 * width,
                y1 * height,
                f"{region['score']:.2f}",
                color="black",
                fontsize=7,
                va="bottom",
                bbox={"facecolor": colour, "pad": 1, "linewidth": 0},
            )


def _rectangle(corner, width, height, colour):
    from matplotlib.patches import Rectangle

    return Rectangle(corner, width, height, fill=False, edgecolor=colour, linewidth=2)


def explanation_figure(image, explanation, class_names=None, true_class=None):
    """One image's figure: the image with the regions the model looked at,
    the global Grad-CAM, the Grad-CAM of each refinement step as a strip
    and the attention over the steps as bars; predicted (and true) class in
    the title.

    Args:
        image: `(H, W, 3)` pixels in [0, 255] (the model's input).
        explanation: one image's entries: `global_cam` `(H, W)`, optional
            `timestep_cams` `(T, H, W)`, `attention` `(T,)`, `looked` (a
            list of `{"box", "score"}`), `class_index`, `probability`.
        class_names: optional names of the classes.
        true_class: optional index of the true class.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    image = np.clip(np.asarray(image, dtype="float32"), 0, 255) / 255.0
    height, width = image.shape[:2]
    steps = explanation.get("timestep_cams")
    steps = [] if steps is None else list(steps)
    attention = explanation.get("attention")
    columns = max(3, len(steps))
    rows = 2 if steps else 1
    figure = new_figure(1.8 * columns, 2.0 * rows + 0.4)
    grid = figure.add_gridspec(rows, columns)

    def name(index):
        return class_names[index] if class_names else str(index)

    predicted = int(explanation["class_index"])
    title = f"predicted {name(predicted)}"
    if explanation.get("probability") is not None:
        title += f" ({explanation['probability']:.2f})"
    if true_class is not None:
        title += f"; true {name(int(true_class))}"
    figure.suptitle(title, fontsize=10)

    axis = figure.add_subplot(grid[0, 0])
    axis.imshow(image)
    _draw_boxes(axis, explanation.get("looked") or [], height, width)
    axis.set_title("where it looked", fontsize=8)
    axis.axis("off")
    axis = figure.add_subplot(grid[0, 1])
    axis.imshow(image)
    axis.imshow(explanation["global_cam"], cmap=HEAT_MAP, alpha=0.6, vmin=0, vmax=1)
    axis.set_title("global Grad-CAM", fontsize=8)
    axis.axis("off")
    axis = figure.add_subplot(grid[0, 2:])
    if attention is not None:
        positions = np.arange(1, len(attention) + 1)
        axis.bar(positions, attention, color=BOX_COLOURS[1])
        axis.set_xticks(positions)
        axis.set_xlabel("step t", fontsize=8)
        axis.set_title("attention over steps", fontsize=8)
        axis.set_ylim(0, 1)
        axis.tick_params(labelsize=7)
    else:
        axis.axis("off")
        axis.text(0.5, 0.5, "global view only", ha="center", va="center", fontsize=8)
    for step, cam in enumerate(steps):
        axis = figure.add_subplot(grid[1, step])
        axis.imshow(image)
        axis.imshow(cam, cmap=HEAT_MAP, alpha=0.6, vmin=0, vmax=1)
        axis.set_title(f"t = {step + 1}", fontsize=8)
        axis.axis("off")
    return figure


def save_explanation(path, image, explanation, class_names=None, true_class=None):
    """Writes `explanation_figure` as a PNG at `path`."""
    return save_png(
        explanation_figure(image, explanation, class_names, true_class), path
    )


def read_history(path):
    """`{column: [values]}` of a run's `history.csv`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path!r} does not exist: no training history.")
    with open(path, encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    if not rows:
        raise ValueError(f"{path!r} holds no epoch.")
    columns = {name: [] for name in rows[0]}
    for row in rows:
        for name in columns:
            value = row.get(name)
            # Keras' CSVLogger writes "NA" where an epoch has no value.
            missing = value in (None, "", "NA")
            columns[name].append(np.nan if missing else float(value))
    return columns


def training_curves_figure(history):
    """Every loss term and metric of a run by epoch, training and
    validation side by side: one panel per quantity."""
    epochs = np.asarray(history.get("epoch", []), dtype="float64") + 1
    names = sorted(
        name for name in history if name != "epoch" and not name.startswith("val_")
    )
    if not len(epochs):
        epochs = np.arange(1, len(next(iter(history.values()))) + 1)
    columns = min(4, max(1, len(names)))
    rows = -(-len(names) // columns)
    figure = new_figure(3.0 * columns, 2.4 * rows)
    for index, name in enumerate(names):
        axis = figure.add_subplot(rows, columns, index + 1)
        axis.plot(epochs, history[name], "o-", color=BOX_COLOURS[0], label="train")
        # Keras' CSVLogger writes empty val_ columns for a run without a
        # validation split: nothing to draw then.
        if np.isfinite(history.get(f"val_{name}", [np.nan])).any():
            axis.plot(
                epochs,
                history[f"val_{name}"],
                "s--",
                color=BOX_COLOURS[1],
                label="validation",
            )
        axis.xaxis.get_major_locator().set_params(integer=True)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("epoch", fontsize=8)
        axis.tick_params(labelsize=7)
        if index == 0:
            axis.legend(fontsize=7)
    return figure


def confusion_figure(confusion, class_names):
    """The confusion matrix (rows: true class, columns: predicted), each
    row as shares of its class."""
    confusion = np.asarray(confusion, dtype="float64")
    shares = confusion / np.maximum(confusion.sum(axis=1, keepdims=True), 1)
    size = min(12, 2 + 0.35 * len(class_names))
    figure = new_figure(size, size)
    axis = figure.add_subplot()
    image = axis.imshow(shares, cmap=HEAT_MAP, vmin=0, vmax=1)
    ticks = np.arange(len(class_names))
    axis.set_xticks(ticks, labels=class_names, rotation=90, fontsize=7)
    axis.set_yticks(ticks, labels=class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figure.colorbar(image, ax=axis, shrink=0.8)
    return figure


def per_class_accuracy_figure(confusion, class_names):
    """Top-1 accuracy of each class of the test split, as bars."""
    confusion = np.asarray(confusion, dtype="float64")
    accuracy = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    figure = new_figure(max(4, 0.3 * len(class_names) + 2), 3)
    axis = figure.add_subplot()
    axis.bar(np.arange(len(class_names)), accuracy, color=BOX_COLOURS[2])
    axis.set_xticks(
        np.arange(len(class_names)), labels=class_names, rotation=90, fontsize=7
    )
    axis.set_ylim(0, 1)
    axis.set_ylabel("top-1 accuracy")
    return figure


def confusion_matrix(labels, predictions, num_classes):
    """Counts `(num_classes, num_classes)`: rows true, columns predicted."""
    matrix = np.zeros((num_classes, num_classes), dtype="int64")
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def write_run_plots(run_dir, confusion=None, class_names=None):
    """Writes a run's `curves.png` (from `history.csv`) and, given the test
    split's confusion counts, `confusion.png` and `per_class_accuracy.png`.

    Returns:
        The paths written.
    """
    written = [
        save_png(
            training_curves_figure(read_history(os.path.join(run_dir, "history.csv"))),
            os.path.join(run_dir, "curves.png"),
        )
    ]
    if confusion is not None:
        written.append(
            save_png(
                confusion_figure(confusion, class_names),
                os.path.join(run_dir, "confusion.png"),
            )
        )
        written.append(
            save_png(
                per_class_accuracy_figure(confusion, class_names),
                os.path.join(run_dir, "per_class_accuracy.png"),
            )
        )
    return written
