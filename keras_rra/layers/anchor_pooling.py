import keras
import numpy as np
from keras import ops

from keras_rra.layers.part_navigator import anchor_grid
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import check_fraction
from keras_rra.utils.validation import to_fractions
from keras_rra.utils.validation import to_size

REDUCTIONS = ("max", "mean")


def anchor_cells(anchors, grid_size):
    """The rectangle of feature-map cells that each box covers.

    A cell belongs to a box when its centre lies inside the box; a box that
    holds no cell centre takes the cell nearest its centre. The cells of a
    box always form a rectangle.

    Returns:
        `(N, 4)` int array of `(first_row, first_col, rows, cols)`.
    """
    height, width = grid_size
    cells = []
    for box in anchors:
        spans = []
        for low, high, count in ((box[0], box[2], height), (box[1], box[3], width)):
            centres = (np.arange(count) + 0.5) / count
            inside = np.flatnonzero((centres >= low) & (centres <= high))
            if inside.size:
                spans.append((int(inside[0]), int(inside.size)))
            else:
                spans.append((min(int((low + high) / 2 * count), count - 1), 1))
        cells.append((spans[0][0], spans[1][0], spans[0][1], spans[1][1]))
    return np.asarray(cells, dtype="int64")


def anchor_membership(anchors, grid_size):
    """`(N, h * w)` weights that average a feature map over each box
    (the cells of `anchor_cells`). Rows sum to one."""
    height, width = grid_size
    members = np.zeros((len(anchors), height, width), dtype="float32")
    for index, (row, col, rows, cols) in enumerate(anchor_cells(anchors, grid_size)):
        members[index, row : row + rows, col : col + cols] = 1.0
    members = members.reshape(len(anchors), -1)
    return members / members.sum(axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="keras_rra")
class AnchorPooling(keras.layers.Layer):
    """Pools a feature map over every candidate box of a `PartNavigator`.

    The boxes are the navigator's: one square per cell of an
    `anchor_grid_size` grid and per side in `anchor_sizes`. The feature map
    may have any size (it covers the whole image): each box pools the cells
    whose centres it contains (`anchor_cells`), by their maximum or their
    mean. One pooling window per box shape, so it is cheap enough to pool
    every box of a dense, full-resolution map at once (the navigator's
    teacher does this while training).

    `"max"` is the default: a small part moves a few cells, and the mean
    over a box divides its evidence by the box's area (on part task a, a
    teacher averaging class scores over its boxes needed 30 epochs where
    the maximum needed a few).

    Args:
        anchor_grid_size: int or `(h, w)`: the navigator's feature-map grid.
        anchor_sizes: box sides, as fractions of the image side.
        reduction: `"max"` or `"mean"` over a box's cells.
        box_scale: the part of each box that is pooled: its central square
            of `box_scale` times its side (1.0: the whole box).
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        feature_map: `(batch, height, width, channels)` with a known size.

    Returns:
        `(batch, num_boxes, channels)`, boxes in the navigator's order.

    Example:

    >>> pooling = AnchorPooling(anchor_grid_size=4, anchor_sizes=(0.5,))
    >>> pooling(np.ones((2, 16, 16, 3))).shape
    TensorShape([2, 16, 3])
    """

    def __init__(
        self,
        anchor_grid_size,
        anchor_sizes=(0.25,),
        reduction="max",
        box_scale=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.anchor_grid_size = to_size("anchor_grid_size", anchor_grid_size)
        self.anchor_sizes = to_fractions("anchor_sizes", anchor_sizes)
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)
        self.box_scale = check_fraction("box_scale", box_scale)

    def build(self, feature_map_shape):
        if len(feature_map_shape) != 4 or None in tuple(feature_map_shape[1:3]):
            raise ValueError(
                "AnchorPooling expects a feature map (batch, height, width, "
                f"channels) with a known size; received {tuple(feature_map_shape)}."
            )
        self.built = True

    def call(self, feature_map):
        height, width = (int(size) for size in feature_map.shape[1:3])
        anchors = anchor_grid(self.anchor_grid_size, self.anchor_sizes)
        if self.box_scale != 1.0:
            centres = (anchors[:, :2] + anchors[:, 2:]) / 2
            half_sides = (anchors[:, 2:] - anchors[:, :2]) * self.box_scale / 2
            anchors = np.concatenate([centres - half_sides, centres + half_sides], -1)
        cells = anchor_cells(anchors, (height, width))
        pool = ops.max_pool if self.reduction == "max" else ops.average_pool
        # Boxes of one shape share one pooling window; each takes the window
        # at its first cell.
        pooled, order = [], []
        for shape in sorted({(int(rows), int(cols)) for _, _, rows, cols in cells}):
            members = np.flatnonzero(
                (cells[:, 2] == shape[0]) & (cells[:, 3] == shape[1])
            )
            windows = pool(feature_map, shape, strides=1, padding="valid")
            columns = width - shape[1] + 1
            flat = ops.reshape(
                windows, (-1, windows.shape[1] * columns, windows.shape[-1])
            )
            positions = cells[members, 0] * columns + cells[members, 1]
            pooled.append(ops.take(flat, positions, axis=1))
            order.append(members)
        pooled = ops.concatenate(pooled, axis=1) if len(pooled) > 1 else pooled[0]
        inverse = np.argsort(np.concatenate(order))
        return ops.take(pooled, inverse, axis=1)

    def compute_output_shape(self, feature_map_shape):
        count = (
            self.anchor_grid_size[0] * self.anchor_grid_size[1] * len(self.anchor_sizes)
        )
        return (feature_map_shape[0], count, feature_map_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "anchor_grid_size": self.anchor_grid_size,
                "anchor_sizes": list(self.anchor_sizes),
                "reduction": self.reduction,
                "box_scale": self.box_scale,
            }
        )
        return config
