"""`load(name, split)`: every dataset as a batched `tf.data.Dataset`.

Element format, the same for every dataset of the package:
`(inputs, label)` where `inputs` is a batch of float32 RGB images in
[0, 255] of shape `(batch, size, size, 3)`, or, when patch boxes are
requested, a dict `{"images": ..., "boxes": (batch, K, 4)}` of normalised
(y1, x1, y2, x2) boxes; `label` is an int32 class index.
"""

import os

import numpy as np
import tensorflow as tf

from keras_rra.data import synthetic
from keras_rra.data.aircraft import LEVELS
from keras_rra.data.aircraft import aircraft_examples
from keras_rra.data.augmentation import Augmentation
from keras_rra.data.bad_data import check_on_bad_image
from keras_rra.data.bad_data import report_problems
from keras_rra.data.boxes_file import join_boxes
from keras_rra.data.boxes_file import read_boxes_file
from keras_rra.data.cub import cub_examples
from keras_rra.data.image_folder import folder_examples
from keras_rra.data.pipeline import build_pipeline
from keras_rra.data.pipeline import cache_path
from keras_rra.data.pipeline import decode_image_file
from keras_rra.data.tfds_datasets import KNOWN_DATASETS
from keras_rra.data.tfds_datasets import tfds_examples
from keras_rra.utils.validation import check_boxes
from keras_rra.utils.validation import check_positive_int

FILE_DATASETS = ("folder", "cub", "aircraft")
DATASETS = (
    "synthetic",
    "synthetic:hard",
    *(f"{kind}:PATH" for kind in FILE_DATASETS),
    *KNOWN_DATASETS,
)
BOX_SOURCES = ("part", "object", "a boxes CSV file")
DEFAULT_IMAGE_SIZE = {"synthetic": 64}
PAPER_IMAGE_SIZE = 448


def dataset_names():
    """The dataset names `load` knows (any other tfds name works too)."""
    return list(DATASETS)


def parse_name(name, data_dir=None):
    """`(kind, location)` of a dataset name.

    `kind` is `synthetic`, `folder`, `cub`, `aircraft` or `tfds`; the
    location is the folder (for the file datasets) or the tfds name. A file
    dataset named without `:PATH` takes its folder from `data_dir`.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(
            f"A dataset name must be a non-empty string; received {name!r}."
        )
    kind, _, location = name.partition(":")
    if kind in FILE_DATASETS:
        location = location or data_dir
        if not location:
            raise ValueError(
                f"Dataset {name!r} needs a folder: write {kind}:PATH or pass "
                "data_dir (--data-dir)."
            )
        return kind, os.path.expanduser(location)
    if kind == "tfds" and location:
        return "tfds", location
    if kind == "synthetic":
        preset = location or "easy"
        synthetic.check_preset(preset)
        return "synthetic", preset
    if ":" in name:
        raise ValueError(
            f"Unknown dataset kind {kind!r} in {name!r}; known: "
            f"{', '.join(FILE_DATASETS)} (as KIND:PATH), tfds:NAME."
        )
    return "tfds", name


def resolve_augmentation(
    name, augmentation=None, image_size=None, resize_size=None, data_dir=None
):
    """The `Augmentation` that `load` uses for these settings.

    The defaults: `paper` for `synthetic`, whose images already have their
    size, `standard` otherwise; 64 pixels for `synthetic`, 448 otherwise.
    """
    kind, _ = parse_name(name, data_dir)
    if augmentation is None:
        augmentation = "paper" if kind == "synthetic" else "standard"
    return Augmentation(
        augmentation,
        image_size=image_size or DEFAULT_IMAGE_SIZE.get(kind, PAPER_IMAGE_SIZE),
        resize_size=resize_size,
    )


def _check_boxes_argument(boxes, kind):
    if boxes is None or boxes == "object" and kind != "synthetic":
        return
    if boxes == "part" and kind == "synthetic":
        return
    if boxes in ("part", "object"):
        raise ValueError(
            f"boxes={boxes!r} does not apply to this dataset: 'part' is for the "
            "synthetic dataset, 'object' for datasets with object boxes."
        )
    if not isinstance(boxes, str):
        raise ValueError(
            f"boxes must be None, 'part', 'object' or the path of a boxes CSV "
            f"file; received {boxes!r}."
        )


def load(
    name,
    split,
    batch_size=32,
    shuffle=None,
    seed=0,
    image_size=None,
    augmentation=None,
    resize_size=None,
    boxes=None,
    num_boxes=1,
    on_bad_image="skip",
    cache=None,
    data_dir=None,
    download=True,
    split_fraction=0.2,
    aircraft_level="variant",
    shuffle_buffer=1024,
    num_classes=10,
    examples_per_class=100,
    test_examples_per_class=None,
):
    """Loads a dataset split as a batched, prefetched `tf.data.Dataset`.

    Args:
        name: one of
            - `"synthetic"`: the built-in dataset (no download);
            - `"folder:PATH"`: `PATH/<split>/<class>/*.jpg`, or one
              `PATH/<class>/*.jpg` tree split with `split_fraction`;
            - `"cub:PATH"`: the original `CUB_200_2011` folder;
            - `"aircraft:PATH"`: the original `fgvc-aircraft-2013b` folder;
            - a tensorflow-datasets name (`caltech_birds2011`,
              `stanford_dogs`, `cars196`, `oxford_flowers102`,
              `oxford_iiit_pet` or any image classification dataset), also
              written `tfds:NAME`.
        split: `"train"`, `"test"`, or another split of the dataset.
        batch_size: examples per batch.
        shuffle: reshuffle every epoch (default: for the train split only).
        seed: seed of the order, the augmentation, the synthetic data and
            the seeded folder split.
        image_size: side of the square images (default 64 for `synthetic`,
            448 otherwise).
        augmentation: `"paper"` or `"standard"` (see `Augmentation`;
            default: `"paper"` for `synthetic`, whose images already have
            their size, `"standard"` otherwise). Random transformations
            happen in the `train` split only.
        resize_size: shorter side before the crop of `"standard"`.
        boxes: patch boxes for `RRAClassifier(patch="boxes")`: None (images
            only); `"object"`: the dataset's object box (CUB,
            `caltech_birds2011`, `stanford_dogs`, `cars196`, Aircraft), which
            is box supervision, not used by the RRA paper; `"part"`:
            candidate boxes around the synthetic dataset's true part (box
            supervision too); or the path of a boxes CSV file (see
            `keras_rra.data.boxes_file`).
        num_boxes: K, boxes per image (the first K of a boxes file).
        on_bad_image: `"skip"` (default): unreadable or unusable files,
            images without a label or a box row, empty class folders and
            classes missing from `train` are left out with one warning that
            lists them all; `"error"`: a `ValueError` naming the first.
        cache: None, `"memory"`, or a folder for a file cache of the decoded,
            resized images.
        data_dir: tensorflow-datasets' data folder, or the folder of a
            `folder`, `cub` or `aircraft` dataset named without `:PATH`.
        download: let tensorflow-datasets download a dataset it lacks.
        split_fraction: share of each class held out as `test` in a single
            class tree.
        aircraft_level: `variant`, `family` or `manufacturer`.
        shuffle_buffer: shuffle buffer of tfds datasets, in examples (file
            datasets shuffle all file names).
        num_classes, examples_per_class, test_examples_per_class: settings of
            the `synthetic` dataset (see `keras_rra.data.synthetic.generate`).

    Returns:
        `(dataset, class_names)`.

    Raises:
        ValueError: naming the bad name, split, setting or file.
        FileNotFoundError: for a folder or file that does not exist.
    """
    kind, location = parse_name(name, data_dir)
    check_positive_int("batch_size", batch_size)
    check_positive_int("num_boxes", num_boxes)
    check_on_bad_image(on_bad_image)
    _check_boxes_argument(boxes, kind)
    if kind == "aircraft" and aircraft_level not in LEVELS:
        raise ValueError(
            f"aircraft_level={aircraft_level!r} is not one of {', '.join(LEVELS)}."
        )
    if boxes == "object" and num_boxes != 1:
        raise ValueError(
            f"boxes='object' gives one box per image; num_boxes={num_boxes}."
        )
    augment = resolve_augmentation(
        name, augmentation, image_size, resize_size, data_dir
    )
    image_size = augment.image_size
    if shuffle is None:
        shuffle = split == "train"
    box_table = None
    if boxes not in (None, "part", "object"):
        box_table = read_boxes_file(boxes, num_boxes)
    source = name
    settings = {
        "name": name,
        "split": split,
        "augmentation": augment.preset,
        "size": augment.image_size,
        "resize": augment.shorter_side,
        "boxes": boxes,
        "num_boxes": num_boxes,
        "seed": seed,
        "level": aircraft_level,
        "fraction": split_fraction,
    }

    if kind == "synthetic":
        source_args = (split, boxes, box_table, num_boxes, seed, on_bad_image)
        examples, class_names, problems = _synthetic_source(
            name,
            image_size,
            num_classes,
            examples_per_class,
            test_examples_per_class,
            *source_args,
        )
        load_example, extra = _identity, {}
    elif kind == "tfds":
        examples, class_names, _ = tfds_examples(
            location,
            split,
            data_dir=data_dir,
            download=download,
            boxes=box_table if box_table is not None else boxes,
            seed=seed,
        )
        problems = []
        if box_table is not None:
            examples, problems = _join_tfds_boxes(
                examples, box_table, boxes, on_bad_image, source
            )
        load_example = _identity
        extra = {"shuffle_buffer": shuffle_buffer, "shuffle_early": False}
    else:
        examples, class_names, problems, crop_bottom = _file_source(
            kind,
            location,
            split,
            boxes,
            box_table,
            on_bad_image,
            source,
            split_fraction,
            seed,
            aircraft_level,
        )

        def load_example(example):
            image = decode_image_file(example.pop("path"), crop_bottom)
            return dict(example, image=image)

        extra = {}
    report_problems(problems, "skip", source)
    if int(examples.cardinality()) == 0:
        raise ValueError(
            f"Dataset {source!r}, split {split!r} has no usable image; nothing to "
            "train or evaluate on."
        )
    dataset = build_pipeline(
        examples,
        load_example,
        augment,
        training=split == "train",
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache_path(cache, settings),
        **extra,
    )
    return dataset, class_names


def _identity(example):
    return example


def _synthetic_source(
    name,
    image_size,
    num_classes,
    examples_per_class,
    test_examples_per_class,
    split,
    boxes,
    box_table,
    num_boxes,
    seed,
    on_bad_image,
):
    data = synthetic.generate(
        split,
        num_classes=num_classes,
        image_size=image_size,
        examples_per_class=examples_per_class,
        test_examples_per_class=test_examples_per_class,
        seed=seed,
        preset=parse_name(name)[1],
    )
    columns = {"image": data["images"], "label": np.asarray(data["labels"], "int32")}
    problems = []
    if boxes == "part":
        candidates = synthetic.candidate_boxes(
            data["part_boxes"], num_boxes=num_boxes, seed=seed
        )
        columns["boxes"] = check_boxes(
            candidates, source=f"{name}/{split} candidate boxes"
        )
    elif box_table is not None:
        keys = [str(index) for index in range(len(columns["label"]))]
        table_boxes, found, problems = join_boxes(
            keys, box_table, boxes, on_bad_image, name
        )
        columns = {key: value[found] for key, value in columns.items()}
        columns["boxes"] = table_boxes[found]
    examples = tf.data.Dataset.from_tensor_slices(columns)
    return examples, data["class_names"], problems


def _file_source(
    kind,
    location,
    split,
    boxes,
    box_table,
    on_bad_image,
    source,
    split_fraction,
    seed,
    aircraft_level,
):
    """Examples of `path, label[, boxes]` of a folder, CUB or Aircraft."""
    if kind == "folder":
        files = folder_examples(location, split, split_fraction, seed, on_bad_image)
    elif kind == "cub":
        files = cub_examples(location, split, on_bad_image)
    else:
        files = aircraft_examples(location, split, aircraft_level, on_bad_image)
    if boxes == "object" and files.pixel_boxes is None:
        raise ValueError(f"{source} has no object boxes (no boxes file in its folder).")
    files = files.checked(on_bad_image)
    problems = files.problems
    box_column = None
    if boxes == "object":
        box_column = files.object_boxes[:, np.newaxis]
    elif box_table is not None:
        table_boxes, found, missing = join_boxes(
            files.keys, box_table, boxes, on_bad_image, source
        )
        files, box_column, problems = (
            files.select(found),
            table_boxes[found],
            problems + missing,
        )
    columns = {"path": files.paths, "label": files.labels}
    if box_column is not None:
        columns["boxes"] = box_column
    examples = tf.data.Dataset.from_tensor_slices(columns)
    return examples, files.class_names, problems, files.crop_bottom


def _join_tfds_boxes(examples, table, path, on_bad_image, source):
    """Adds the boxes of a boxes file to tfds examples, by their key."""
    keys = [
        key.decode() for key in examples.map(lambda e: e["key"]).as_numpy_iterator()
    ]
    _, found, problems = join_boxes(keys, table, path, on_bad_image, source)
    if not found.any():
        raise ValueError(f"Boxes file {path!r} has a row for no image of {source!r}.")
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
