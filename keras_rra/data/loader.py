"""`load(name, split)`: every dataset as a batched `tf.data.Dataset`.

Element format, the same for every dataset of the package:
`(inputs, label)` where `inputs` is a batch of float32 RGB images in
[0, 255] of shape `(batch, size, size, 3)`, or, when patch boxes are
requested, a dict `{"images": ..., "boxes": (batch, K, 4)}` of normalised
(y1, x1, y2, x2) boxes; `label` is an int32 class index.
"""

import os

from keras_rra.data import synthetic
from keras_rra.data.augmentation import Augmentation
from keras_rra.data.bad_data import check_on_bad_image
from keras_rra.data.bad_data import report_problems
from keras_rra.data.boxes_file import read_boxes_file
from keras_rra.data.pipeline import build_pipeline
from keras_rra.data.pipeline import cache_path
from keras_rra.data.sources import DATA_SOURCES
from keras_rra.data.sources.data_source import SourceRequest
from keras_rra.data.tfds_datasets import KNOWN_DATASETS
from keras_rra.settings.data_settings import COMMON_DATA_SETTINGS
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS
from keras_rra.settings.data_settings import SOURCE_SETTINGS
from keras_rra.utils.validation import check_positive_int

FILE_DATASETS = ("folder", "cub", "aircraft")
DATASETS = (
    "synthetic",
    "synthetic:hard",
    "synthetic:plain",
    "synthetic:distractors",
    "synthetic:faint",
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


def source_settings(kind, name, values):
    """The settings of the source of `kind` (declared in
    `keras_rra.settings.data_settings`), with defaults filled in.

    `values` may hold another source's settings at their defaults (a run's
    config lists every source's); at another value they are refused.
    """
    known = {
        setting.name: (owner, setting)
        for owner, group in SOURCE_SETTINGS.items()
        for setting in group
    }
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise TypeError(
            f"load() got unknown setting(s) {', '.join(unknown)}; the sources' "
            f"settings are {', '.join(known)}."
        )
    own = SOURCE_SETTINGS[kind]
    for key, value in values.items():
        owner, setting = known[key]
        if (
            key not in own
            and value is not None
            and setting.check(value) != (setting.default)
        ):
            raise ValueError(
                f"`{key}` applies to {owner} datasets; dataset {name!r} does not "
                f"take it (received {key}={value!r})."
            )
    return own.check(
        {**own.defaults(), **{k: v for k, v in values.items() if k in own}}
    )


def hold_out(examples, fraction, seed, keep):
    """The examples a seeded draw puts in the held-out share `fraction`
    (`keep=True`; at least one, at most all but one) or in the rest
    (`keep=False`): the two are disjoint and cover every example, the same
    for the same seed. The result keeps a
    known size (a full shuffle and the steps per epoch need it)."""
    import numpy as np
    import tensorflow as tf

    count = int(examples.cardinality())
    if count < 0:
        raise ValueError(
            "validation_fraction needs a dataset of known size; this one's size "
            "is unknown."
        )
    # The `round(fraction * count)` examples of the smallest draws, at least
    # one: a small dataset still has a validation split.
    draws = np.random.default_rng([seed, 7919]).random(count)
    held_count = min(count - 1, max(1, round(fraction * count)))
    held = np.zeros(count, bool)
    held[np.argsort(draws, kind="stable")[:held_count]] = True
    chosen = held if keep else ~held
    mask = tf.constant(chosen)
    return (
        examples.enumerate()
        .filter(lambda index, example: tf.gather(mask, index))
        .map(lambda index, example: example)
        .apply(tf.data.experimental.assert_cardinality(int(chosen.sum())))
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
    validation_fraction=0.0,
    max_image_pixels=MAX_IMAGE_PIXELS,
    **settings,
):
    """Loads a dataset split as a batched, prefetched `tf.data.Dataset`.

    Every dataset kind is a registered source (`keras_rra.data.sources`)
    that declares its own settings in `keras_rra.settings.data_settings`:
    `synthetic` takes `num_classes`, `examples_per_class`,
    `test_examples_per_class`; `folder` takes `split_fraction`; `aircraft`
    takes `aircraft_level`; tfds datasets take `download` and
    `shuffle_buffer`. Pass them as keywords (`**settings`); a setting of
    another source is refused unless it has its default.

    Args:
        name: one of
            - `"synthetic"` or `"synthetic:hard"`: the built-in datasets (no
              download);
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
        validation_fraction: above 0, split `"validation"` is this share of
            the training examples (chosen with `seed`) and split `"train"`
            is the rest, for any dataset.
        max_image_pixels: an image file whose header declares more pixels
            is not decoded: it is a bad image (see `on_bad_image`).
        **settings: the source's own settings (see above).

    Returns:
        `(dataset, class_names)`.

    Raises:
        ValueError: naming the bad name, split, setting or file.
        FileNotFoundError: for a folder or file that does not exist.
    """
    kind, location = parse_name(name, data_dir)
    source = DATA_SOURCES[kind]
    own = source_settings(kind, name, settings)
    check_positive_int("batch_size", batch_size)
    check_positive_int("num_boxes", num_boxes)
    check_on_bad_image(on_bad_image)
    _check_boxes_argument(boxes, kind)
    if boxes == "object" and num_boxes != 1:
        raise ValueError(
            f"boxes='object' gives one box per image; num_boxes={num_boxes}."
        )
    augment = resolve_augmentation(
        name, augmentation, image_size, resize_size, data_dir
    )
    validation_fraction = COMMON_DATA_SETTINGS.check_value(
        "validation_fraction", validation_fraction
    )
    source_split = split
    if validation_fraction and split in ("train", "validation"):
        source_split = "train"
    if shuffle is None:
        shuffle = split == "train"
    box_table = None
    if boxes not in (None, "part", "object"):
        box_table = read_boxes_file(boxes, num_boxes)
    found = source.examples(
        SourceRequest(
            name=name,
            location=location,
            split=source_split,
            boxes=boxes,
            box_table=box_table,
            num_boxes=num_boxes,
            seed=seed,
            on_bad_image=on_bad_image,
            image_size=augment.image_size,
            data_dir=data_dir,
            settings=own,
            max_image_pixels=COMMON_DATA_SETTINGS.check_value(
                "max_image_pixels", max_image_pixels
            ),
        )
    )
    report_problems(found.problems, "skip", name)
    if source_split != split or (validation_fraction and split == "train"):
        found.examples = hold_out(
            found.examples, validation_fraction, seed, keep=split == "validation"
        )
    if int(found.examples.cardinality()) == 0:
        raise ValueError(
            f"Dataset {name!r}, split {split!r} has no usable image; nothing to "
            "train or evaluate on."
        )
    # Everything that changes the cached images names the cache file.
    cache_settings = {
        "name": name,
        "split": split,
        "augmentation": augment.preset,
        "size": augment.image_size,
        "resize": augment.shorter_side,
        "boxes": boxes,
        "num_boxes": num_boxes,
        "seed": seed,
        "validation_fraction": validation_fraction,
        **own,
    }
    dataset = build_pipeline(
        found.examples,
        found.load_example,
        augment,
        training=split == "train",
        batch_size=batch_size,
        shuffle=shuffle,
        seed=seed,
        cache=cache_path(cache, cache_settings),
        **found.pipeline,
    )
    return dataset, found.class_names
