"""Image classification datasets of tensorflow-datasets, by their tfds name.

Five fine-grained datasets are known with their features mapped (image,
label, object box and file name); any other tfds dataset with an image and
a class label works through its supervised keys.
"""

import dataclasses
import difflib

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class TfdsFeatures:
    """Where a tfds dataset keeps what keras-rra reads.

    Args:
        image: the image feature.
        label: the class label feature.
        key: the feature naming each image (the key of a boxes file).
        box: the object box feature (a `BBoxFeature`, or a sequence of them
            whose first box is used), or None.
    """

    image: str = "image"
    label: str = "label"
    key: str | None = None
    box: str | None = None


KNOWN_DATASETS = {
    "caltech_birds2011": TfdsFeatures(key="image/filename", box="bbox"),
    "stanford_dogs": TfdsFeatures(key="image/filename", box="objects/bbox"),
    "cars196": TfdsFeatures(key="id", box="bbox"),
    "oxford_flowers102": TfdsFeatures(key="file_name"),
    "oxford_iiit_pet": TfdsFeatures(key="file_name"),
}


def _tfds():
    # Imported on use: tensorflow-datasets takes seconds to import.
    import tensorflow_datasets

    return tensorflow_datasets


def _builder(name, data_dir):
    tfds = _tfds()
    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3, cutoff=0.6)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(
            f"Unknown dataset {name!r}: not a keras-rra dataset (synthetic, "
            f"folder:PATH, cub:PATH, aircraft:PATH) nor a tensorflow-datasets "
            f"name.{hint}"
        ) from None


def _features_of(name, info):
    if name in KNOWN_DATASETS:
        return KNOWN_DATASETS[name]
    tfds = _tfds()
    features = dict(info.features.items())
    image, label = info.supervised_keys or (None, None)
    if not (
        isinstance(image, str)
        and isinstance(features.get(image), tfds.features.Image)
        and isinstance(features.get(label), tfds.features.ClassLabel)
    ):
        raise ValueError(
            f"tfds dataset {name!r} is not an image classification dataset: it "
            "needs supervised keys (image, label) with an Image and a ClassLabel "
            f"feature; its features are {', '.join(features.keys())}."
        )
    key = next(
        (k for k, f in features.items() if isinstance(f, tfds.features.Text)), None
    )
    return TfdsFeatures(image=image, label=label, key=key)


def _get(example, path):
    for part in path.split("/") if path not in example else [path]:
        example = example[part]
    return example


def _object_box(box):
    if box.shape.rank == 2:
        # A sequence of boxes: the first one; none at all: the whole image.
        box = tf.cond(
            tf.shape(box)[0] > 0,
            lambda: box[0],
            lambda: tf.constant([0.0, 0.0, 1.0, 1.0]),
        )
    y1, x1, y2, x2 = tf.unstack(tf.cast(box, tf.float32))
    box = tf.stack(
        [tf.minimum(y1, y2), tf.minimum(x1, x2), tf.maximum(y1, y2), tf.maximum(x1, x2)]
    )
    return tf.clip_by_value(box, 0.0, 1.0)[tf.newaxis]


def tfds_examples(name, split, data_dir=None, download=True, boxes=None, seed=0):
    """One split of a tfds dataset, as examples for `build_pipeline`.

    Args:
        name: the tfds name.
        split: a tfds split (`"train"`, `"test"`, `"train[:90%]"`, ...).
        data_dir: tfds's data folder.
        download: download and prepare the dataset if it is not there.
        boxes: None, `"object"` (the dataset's object box) or a dict from
            image key to `(K, 4)` boxes (from a boxes file).
        seed: seed of tfds's file order.

    Returns:
        `(examples, class_names, features)`: `examples` yields `{"image"
        uint8, "label", "key", optional "boxes"}`.
    """
    tfds = _tfds()
    builder = _builder(name, data_dir)
    features = _features_of(name, builder.info)
    if download:
        try:
            builder.download_and_prepare()
        except Exception as error:
            raise ValueError(
                f"tfds dataset {name!r} could not be downloaded and prepared in "
                f"{builder.data_dir!r}: {type(error).__name__}: {error}. Without a "
                "network, prepare it on a machine with one and pass its data "
                "folder (data_dir, --data-dir)."
            ) from error
    splits = list(builder.info.splits.keys())
    base_split = split.split("[")[0].split("+")[0]
    if splits and base_split not in splits:
        raise ValueError(
            f"tfds dataset {name!r} has no split {base_split!r}; its splits are "
            f"{', '.join(splits)}."
        )
    if boxes == "object" and features.box is None:
        known = ", ".join(n for n, f in KNOWN_DATASETS.items() if f.box)
        raise ValueError(
            f"tfds dataset {name!r} has no object boxes; boxes='object' works "
            f"for {known}, cub:PATH and aircraft:PATH."
        )
    if isinstance(boxes, dict) and features.key is None:
        raise ValueError(
            f"tfds dataset {name!r} has no file name feature to join a boxes file on."
        )
    examples = builder.as_dataset(
        split=split,
        shuffle_files=True,
        read_config=tfds.ReadConfig(shuffle_seed=seed),
    )

    def select(example):
        selected = {
            "image": _get(example, features.image),
            "label": _get(example, features.label),
        }
        if features.key is not None:
            selected["key"] = _get(example, features.key)
        if boxes == "object":
            selected["boxes"] = _object_box(_get(example, features.box))
        return selected

    examples = examples.map(select, num_parallel_calls=tf.data.AUTOTUNE)
    class_names = list(builder.info.features[features.label].names)
    return examples, class_names, features
