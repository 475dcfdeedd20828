import keras
import numpy as np
from keras import ops

from keras_rra.layers.part_navigator import anchor_grid
from keras_rra.utils.validation import to_fractions
from keras_rra.utils.validation import to_size


def anchor_membership(anchors, grid_size):
    """`(N, h * w)` weights that average a feature map over each box.

    A cell belongs to a box when its centre lies inside the box; a box that
    holds no cell centre takes the cell nearest its centre. Rows sum to one.
    """
    height, width = grid_size
    rows = (np.arange(height) + 0.5) / height
    cols = (np.arange(width) + 0.5) / width
    inside_y = (rows[None, :] >= anchors[:, 0:1]) & (rows[None, :] <= anchors[:, 2:3])
    inside_x = (cols[None, :] >= anchors[:, 1:2]) & (cols[None, :] <= anchors[:, 3:4])
    members = inside_y[:, :, None] & inside_x[:, None, :]
    for index, box in enumerate(anchors):
        if not members[index].any():
            row = min(int((box[0] + box[2]) / 2 * height), height - 1)
            col = min(int((box[1] + box[3]) / 2 * width), width - 1)
            members[index, row, col] = True
    members = members.reshape(len(anchors), -1).astype("float32")
    return members / members.sum(axis=1, keepdims=True)


@keras.saving.register_keras_serializable(package="keras_rra")
class AnchorPooling(keras.layers.Layer):
    """Averages a feature map over every candidate box of a `PartNavigator`.

    The boxes are the navigator's: one square per cell of an
    `anchor_grid_size` grid and per side in `anchor_sizes`. The feature map
    may have any size (it covers the whole image): each box takes the mean
    of the cells whose centres it contains. One matrix product, so it is
    cheap enough to score every box of a dense, full-resolution feature map
    at once (the navigator's teacher does this while training).

    Args:
        anchor_grid_size: int or `(h, w)`: the navigator's feature-map grid.
        anchor_sizes: box sides, as fractions of the image side.
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

    def __init__(self, anchor_grid_size, anchor_sizes=(0.25,), **kwargs):
        super().__init__(**kwargs)
        self.anchor_grid_size = to_size("anchor_grid_size", anchor_grid_size)
        self.anchor_sizes = to_fractions("anchor_sizes", anchor_sizes)

    def build(self, feature_map_shape):
        if len(feature_map_shape) != 4 or None in tuple(feature_map_shape[1:3]):
            raise ValueError(
                "AnchorPooling expects a feature map (batch, height, width, "
                f"channels) with a known size; received {tuple(feature_map_shape)}."
            )
        self.built = True

    def call(self, feature_map):
        grid = tuple(int(size) for size in feature_map.shape[1:3])
        anchors = anchor_grid(self.anchor_grid_size, self.anchor_sizes)
        weights = ops.convert_to_tensor(anchor_membership(anchors, grid))
        flat = ops.reshape(feature_map, (-1, grid[0] * grid[1], feature_map.shape[-1]))
        return ops.einsum("nc,bcf->bnf", ops.cast(weights, flat.dtype), flat)

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
            }
        )
        return config
