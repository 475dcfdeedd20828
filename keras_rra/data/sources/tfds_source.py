import numpy as np
import tensorflow as tf

from keras_rra.data.boxes_file import join_boxes
from keras_rra.data.sources.data_source import DataSource
from keras_rra.data.sources.data_source import SourceExamples
from keras_rra.data.sources.data_source import identity
from keras_rra.data.tfds_datasets import tfds_examples
from keras_rra.settings.data_settings import TFDS_SETTINGS


class TfdsSource(DataSource):
    """A tensorflow-datasets dataset, by name (`caltech_birds2011`, ...)."""

    kind = "tfds"
    settings = TFDS_SETTINGS

    def examples(self, request):
        examples, class_names, _ = tfds_examples(
            request.location,
            request.split,
            data_dir=request.data_dir,
            download=request.settings["download"],
            boxes=request.box_table if request.box_table is not None else request.boxes,
            seed=request.seed,
        )
        problems = []
        if request.box_table is not None:
            examples, problems = _join_boxes(examples, request)
        pipeline = {
            "shuffle_buffer": request.settings["shuffle_buffer"],
            "shuffle_early": False,
        }
        return SourceExamples(examples, class_names, problems, identity, pipeline)


def _join_boxes(examples, request):
    """Adds the boxes of a boxes file to tfds examples, by their key."""
    table, path = request.box_table, request.boxes
    keys = [
        key.decode() for key in examples.map(lambda e: e["key"]).as_numpy_iterator()
    ]
    _, found, problems = join_boxes(
        keys, table, path, request.on_bad_image, request.name
    )
    if not found.any():
        raise ValueError(
            f"Boxes file {path!r} has a row for no image of {request.name!r}."
        )
    lookup = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(
            tf.constant(list(table)), tf.range(len(table), dtype=tf.int64)
        ),
        default_value=-1,
    )
    rows = tf.constant(np.stack(list(table.values())))

    def add_boxes(example):
        return dict(example, boxes=tf.gather(rows, lookup.lookup(example["key"])))

    examples = examples.filter(lambda e: lookup.lookup(e["key"]) >= 0)
    return examples.map(add_boxes, num_parallel_calls=tf.data.AUTOTUNE), problems
