"""`load(name, split)`: every dataset as a batched `tf.data.Dataset`.

Element format, the same for every dataset of the package:
`(inputs, label)` where `inputs` is a batch of float32 RGB images in
[0, 255] of shape `(batch, height, width, 3)`, or, when patch boxes are
requested, a dict `{"images": ..., "boxes": (batch, K, 4)}` of normalised
(y1, x1, y2, x2) boxes; `label` is an int32 class index.
"""

import numpy as np
import tensorflow as tf

from keras_rra.data import synthetic
from keras_rra.utils.validation import check_boxes

DATASETS = ("synthetic",)
BOX_SOURCES = (None, "part")


def dataset_names():
    """The dataset names `load` knows."""
    return list(DATASETS)


def _batched(arrays, batch_size, shuffle, seed):
    dataset = tf.data.Dataset.from_tensor_slices(arrays)
    if shuffle:
        dataset = dataset.shuffle(
            len(arrays[1]), seed=seed, reshuffle_each_iteration=True
        )
    dataset = dataset.batch(batch_size)

    def to_float(inputs, labels):
        if isinstance(inputs, dict):
            inputs = dict(inputs, images=tf.cast(inputs["images"], tf.float32))
        else:
            inputs = tf.cast(inputs, tf.float32)
        return inputs, labels

    dataset = dataset.map(to_float, num_parallel_calls=tf.data.AUTOTUNE)
    options = tf.data.Options()
    options.deterministic = True
    return dataset.with_options(options).prefetch(tf.data.AUTOTUNE)


def load(
    name,
    split,
    batch_size=32,
    shuffle=None,
    seed=0,
    boxes=None,
    num_boxes=1,
    num_classes=10,
    image_size=64,
    examples_per_class=100,
    test_examples_per_class=None,
):
    """Loads a dataset split as a batched, prefetched `tf.data.Dataset`.

    Args:
        name: dataset name; see `dataset_names()`.
        split: `"train"` or `"test"`.
        batch_size: examples per batch.
        shuffle: shuffle every epoch (default: for the train split only).
            The order is fixed by `seed`.
        seed: seed of the data and of the shuffle order.
        boxes: None (images only) or `"part"`: candidate patch boxes around
            the synthetic dataset's true part (box supervision).
        num_boxes: K, candidate boxes per image when `boxes` is set.
        num_classes, image_size, examples_per_class, test_examples_per_class:
            settings of the `synthetic` dataset (see
            `keras_rra.data.synthetic.generate`).

    Returns:
        `(dataset, class_names)`.

    Raises:
        ValueError: for an unknown name, split or box source.
    """
    if name not in DATASETS:
        raise ValueError(
            f"Unknown dataset {name!r}. Known datasets: {', '.join(DATASETS)}."
        )
    if boxes not in BOX_SOURCES:
        raise ValueError(
            f"Unknown box source boxes={boxes!r}; expected one of {BOX_SOURCES}."
        )
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1; received {batch_size}.")
    data = synthetic.generate(
        split,
        num_classes=num_classes,
        image_size=image_size,
        examples_per_class=examples_per_class,
        test_examples_per_class=test_examples_per_class,
        seed=seed,
    )
    inputs = data["images"]
    if boxes == "part":
        candidates = synthetic.candidate_boxes(
            data["part_boxes"], num_boxes=num_boxes, seed=seed
        )
        check_boxes(candidates, source=f"{name}/{split} candidate boxes")
        inputs = {"images": inputs, "boxes": candidates}
    if shuffle is None:
        shuffle = split == "train"
    labels = np.asarray(data["labels"], dtype="int32")
    return _batched((inputs, labels), batch_size, shuffle, seed), data["class_names"]
