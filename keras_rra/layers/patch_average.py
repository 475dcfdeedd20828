import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_rra")
class PatchAverage(keras.layers.Layer):
    """Averages per-patch values back to one value per image.

    The inverse of the batch folding done by `PatchSampler` for boxes of
    shape `(batch, num_boxes, 4)`: rows `b * num_boxes ... b * num_boxes +
    num_boxes - 1` of `values` belong to image b and are averaged, equally
    or with given weights (`PartAttention`).

    Call arguments:
        values: `(batch * num_boxes, ...)` per-patch values (logits, weights).
        boxes: `(batch, num_boxes, 4)`: the boxes the patches came from; only
            their shape is read.
        weights: optional `(batch, num_boxes)` weights of the patches, each
            row summing to one (default: equal).

    Returns:
        `(batch, ...)`: the (weighted) mean over each image's patches.

    Example:

    >>> values = np.arange(6.0).reshape(6, 1)
    >>> PatchAverage()(values, np.zeros((2, 3, 4)))[:, 0].numpy().tolist()
    [1.0, 4.0]
    """

    def build(self, values_shape, boxes_shape, weights_shape=None):
        if len(boxes_shape) != 3 or boxes_shape[-1] != 4:
            raise ValueError(
                "PatchAverage expects the boxes the patches came from, of shape "
                f"(batch, num_boxes, 4); received shape {tuple(boxes_shape)}."
            )
        self.built = True

    def call(self, values, boxes, weights=None):
        boxes_shape = ops.shape(boxes)
        grouped = ops.reshape(
            values, (boxes_shape[0], boxes_shape[1], *values.shape[1:])
        )
        if weights is None:
            return ops.mean(grouped, axis=1)
        weights = ops.cast(weights, grouped.dtype)
        weights = ops.reshape(
            weights, (*ops.shape(weights), *[1] * (len(values.shape) - 1))
        )
        return ops.sum(grouped * weights, axis=1)

    def compute_output_shape(self, values_shape, boxes_shape, weights_shape=None):
        return (boxes_shape[0], *values_shape[1:])
