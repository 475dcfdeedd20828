import keras
import numpy as np
from keras import ops

from keras_rra.utils.validation import check_fraction
from keras_rra.utils.validation import check_non_negative
from keras_rra.utils.validation import check_positive_int
from keras_rra.utils.validation import to_fractions

# Score given to suppressed or invalid candidates: far below any real score,
# yet finite, so that arithmetic on it never makes NaN.
SUPPRESSED = -1e9


def anchor_grid(grid_size, anchor_sizes):
    """Square candidate boxes centred on the cells of a feature-map grid.

    Args:
        grid_size: `(h, w)` of the feature map.
        anchor_sizes: sides of the boxes, as fractions of the image side.

    Returns:
        `(h * w * len(anchor_sizes), 4)` float32 normalised `(y1, x1, y2, x2)`
        boxes, cell-major (the sizes of one cell are adjacent), each shifted
        inside the image.
    """
    height, width = grid_size
    boxes = []
    for row in range(height):
        for col in range(width):
            for side in anchor_sizes:
                half = side / 2
                cy = min(max((row + 0.5) / height, half), 1.0 - half)
                cx = min(max((col + 0.5) / width, half), 1.0 - half)
                boxes.append((cy - half, cx - half, cy + half, cx + half))
    return np.asarray(boxes, dtype="float32")


def box_overlaps(boxes):
    """The `(N, N)` intersection over union of every pair of boxes."""
    top_left = np.maximum(boxes[:, None, :2], boxes[None, :, :2])
    bottom_right = np.minimum(boxes[:, None, 2:], boxes[None, :, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=-1)
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=-1)
    union = area[:, None] + area[None, :] - intersection
    return (intersection / np.maximum(union, 1e-12)).astype("float32")


@keras.saving.register_keras_serializable(package="keras_rra")
class PartNavigator(keras.layers.Layer):
    """Scores candidate part boxes on a feature map and picks the best K.

    A navigator in the manner of NTS-Net (Yang et al., ECCV 2018), as we
    build it: every cell of the global stream's feature map is the centre of
    one square candidate box per size in `anchor_sizes`; a small
    convolutional head (3×3 conv with ReLU, then a 1×1 conv) gives each
    candidate an informativeness score. With `anchor_density` d > 1 each
    cell holds d × d box centres (the head gives d × d scores per cell and
    size, laid out as a grid d times finer): a box smaller than a cell's
    span can still be centred on the part (on task a's 128-pixel source a
    64-pixel global view's cells are 16 source pixels apart, and the part
    is 9). The K best candidates are chosen
    greedily, each one removing the candidates that overlap it by more than
    `overlap_threshold` (non-maximum suppression), so the K boxes look at K
    different places.

    The choice itself has no gradient. The scores are trained by a ranking
    loss (see `keras_rra.models.navigator_losses`): as a softmax over the
    candidates, they learn to pick the box where a full-resolution teacher
    finds the most evidence for the true class. So the navigator learns
    where to look from image labels alone. While training, Gumbel noise of
    scale `exploration` may be added to the scores before the choice
    (sampling K boxes without replacement from softmax(scores)); at
    inference the choice is deterministic.

    Non-finite scores count as the lowest possible score, so a NaN, infinite
    or flat score map still gives valid boxes (a flat map gives the first
    candidates in order) and finite gradients.

    Built from convolutions, `top_k`, `one_hot` and matrix products: TFLite
    builtin ops only.

    Args:
        num_parts: K, the boxes chosen per image.
        anchor_sizes: sides of the candidate boxes, as fractions of the image
            side (one candidate per size and feature-map cell).
        hidden_channels: channels of the 3×3 convolution.
        anchor_density: box centres per feature-map cell along each side
            (1: one per cell).
        overlap_threshold: IoU above which a chosen box suppresses another
            candidate (1.0: no suppression).
        exploration: scale of the Gumbel noise while training (0, the
            default: none).
        seed: seed of the noise.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        feature_map: `(batch, h, w, channels)`, with h and w known.
        training: bool: explore (True) or choose deterministically.

    Returns:
        A tuple `(boxes, scores, score_map)`: the chosen normalised
        `(y1, x1, y2, x2)` boxes `(batch, K, 4)` best first, their scores
        `(batch, K)` (float32, with gradient), and every candidate's score
        `(batch, h · d, w · d, len(anchor_sizes))` (float32), d the
        `anchor_density`.

    Example:

    >>> navigator = PartNavigator(num_parts=2, anchor_sizes=(0.25,))
    >>> boxes, scores, score_map = navigator(np.random.rand(1, 8, 8, 16))
    >>> boxes.shape, scores.shape, score_map.shape
    (TensorShape([1, 2, 4]), TensorShape([1, 2]), TensorShape([1, 8, 8, 1]))
    """

    def __init__(
        self,
        num_parts=1,
        anchor_sizes=(0.25,),
        hidden_channels=128,
        anchor_density=1,
        overlap_threshold=0.25,
        exploration=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_parts = check_positive_int("num_parts", num_parts)
        self.anchor_sizes = to_fractions("anchor_sizes", anchor_sizes)
        self.hidden_channels = check_positive_int("hidden_channels", hidden_channels)
        self.anchor_density = check_positive_int("anchor_density", anchor_density)
        self.overlap_threshold = check_fraction("overlap_threshold", overlap_threshold)
        self.exploration = check_non_negative("exploration", exploration)
        self.seed = seed

    def build(self, feature_map_shape):
        if len(feature_map_shape) != 4 or None in tuple(feature_map_shape[1:3]):
            raise ValueError(
                "PartNavigator expects a feature map (batch, h, w, channels) with "
                f"a known size; received shape {tuple(feature_map_shape)}."
            )
        self.grid_size = tuple(
            int(size) * self.anchor_density for size in feature_map_shape[1:3]
        )
        candidates = self.grid_size[0] * self.grid_size[1] * len(self.anchor_sizes)
        if self.num_parts > candidates:
            raise ValueError(
                f"num_parts={self.num_parts} is more than the {candidates} candidate "
                f"boxes of a {self.grid_size[0]}×{self.grid_size[1]} grid of box "
                f"centres with {len(self.anchor_sizes)} anchor size(s). Choose at most "
                f"{candidates} boxes."
            )
        self.hidden = keras.layers.Conv2D(
            self.hidden_channels,
            3,
            padding="same",
            activation="relu",
            dtype=self.dtype_policy,
            name="hidden",
        )
        self.hidden.build(feature_map_shape)
        # float32: scores are compared and ranked, and the ranking loss reads
        # them.
        self.score = keras.layers.Conv2D(
            len(self.anchor_sizes) * self.anchor_density**2,
            1,
            kernel_initializer="zeros",
            dtype="float32",
            name="score",
        )
        self.score.build((*feature_map_shape[:3], self.hidden_channels))
        self.seed_generator = keras.random.SeedGenerator(self.seed, name="seed")
        self.built = True

    def anchors(self):
        """The `(N, 4)` candidate boxes as a NumPy array."""
        return anchor_grid(self.grid_size, self.anchor_sizes)

    def call(self, feature_map, training=None):
        score_map = self.score(self.hidden(feature_map))
        density = self.anchor_density
        if density > 1:
            # Channels (row offset, column offset, size) of each cell become
            # a density × density block of the finer grid.
            sizes = len(self.anchor_sizes)
            height, width = (size // density for size in self.grid_size)
            score_map = ops.reshape(
                score_map, (-1, height, width, density, density, sizes)
            )
            score_map = ops.transpose(score_map, (0, 1, 3, 2, 4, 5))
            score_map = ops.reshape(score_map, (-1, *self.grid_size, sizes))
        boxes, scores = self.choose(
            ops.reshape(score_map, (-1, len(self.anchors()))), training=training
        )
        return boxes, scores, score_map

    def choose(self, scores, training=None):
        """The K boxes for `(batch, N)` candidate scores, and their scores.

        Non-finite scores count as `SUPPRESSED`, the lowest possible score.
        """
        anchors = self.anchors()
        count = len(anchors)
        scores = ops.cast(scores, "float32")
        scores = ops.where(ops.isfinite(scores), scores, SUPPRESSED)
        ranking = scores
        if training and self.exploration > 0:
            uniform = keras.random.uniform(
                ops.shape(scores),
                minval=1e-6,
                maxval=1.0 - 1e-6,
                seed=self.seed_generator,
            )
            gumbel = -ops.log(-ops.log(uniform))
            ranking = scores + self.exploration * gumbel
        ranking = ops.stop_gradient(ranking)
        overlaps = ops.cast(
            ops.convert_to_tensor(box_overlaps(anchors) > self.overlap_threshold),
            "float32",
        )
        choices = []
        for _ in range(self.num_parts):
            _, index = ops.top_k(ranking, k=1)
            choice = ops.one_hot(ops.squeeze(index, -1), count, dtype="float32")
            choices.append(choice)
            # Suppress the chosen box and every candidate it overlaps.
            suppressed = ops.matmul(choice, overlaps) + choice
            ranking = ops.where(suppressed > 0, SUPPRESSED, ranking)
        choices = ops.stack(choices, axis=1)
        boxes = ops.einsum("bkn,nc->bkc", choices, ops.convert_to_tensor(anchors))
        chosen_scores = ops.einsum("bkn,bn->bk", choices, scores)
        return boxes, chosen_scores

    def compute_output_shape(self, feature_map_shape):
        batch = feature_map_shape[0]
        height, width = (size * self.anchor_density for size in feature_map_shape[1:3])
        return (
            (batch, self.num_parts, 4),
            (batch, self.num_parts),
            (batch, height, width, len(self.anchor_sizes)),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_parts": self.num_parts,
                "anchor_sizes": list(self.anchor_sizes),
                "hidden_channels": self.hidden_channels,
                "anchor_density": self.anchor_density,
                "overlap_threshold": self.overlap_threshold,
                "exploration": self.exploration,
                "seed": self.seed,
            }
        )
        return config
