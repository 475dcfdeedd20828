"""From a dataset of examples to batches in the package's element format."""

import hashlib
import json
import os

import tensorflow as tf

AUTOTUNE = tf.data.AUTOTUNE


def decode_image_file(path, crop_bottom=0):
    """Reads an image file as uint8 RGB, optionally without its bottom rows.

    Grayscale, palette, RGBA, CMYK and 16-bit files become 8-bit RGB;
    animated GIFs give their first frame.
    """
    image = tf.io.decode_image(
        tf.io.read_file(path), channels=3, dtype=tf.uint8, expand_animations=False
    )
    image.set_shape([None, None, 3])
    if crop_bottom:
        image = image[: tf.shape(image)[0] - crop_bottom]
    return image


def cache_path(cache, settings):
    """Where `cache` puts a file cache: one file per dataset and settings.

    Args:
        cache: None, `"memory"`, or a folder for file caches.
        settings: everything that changes the cached images; it names the
            file, so that changed settings never read a stale cache.

    Returns:
        None (no cache), `""` (memory) or the cache file's path.
    """
    if cache is None:
        return None
    if cache == "memory":
        return ""
    os.makedirs(cache, exist_ok=True)
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()
    return os.path.join(cache, f"keras_rra-{digest[:16]}")


def build_pipeline(
    examples,
    load_example,
    augmentation,
    training,
    batch_size,
    shuffle,
    seed,
    cache=None,
    shuffle_buffer=None,
    shuffle_early=True,
):
    """Batches of `(images, label)` or `({"images", "boxes"}, label)`.

    Args:
        examples: a `tf.data.Dataset` of the source's examples.
        load_example: maps one example to `{"image": uint8 (H, W, 3),
            "label": int, optional "boxes": (K, 4)}`.
        augmentation: an `Augmentation`.
        training: random augmentation (if the preset has any).
        batch_size: examples per batch.
        shuffle: reshuffle every epoch, in an order fixed by `seed`.
        seed: seed of the order and of the augmentation.
        cache: None, `""` (memory) or a file path (see `cache_path`): keeps
            the decoded, resized images.
        shuffle_buffer: examples in the shuffle buffer (default: all).
        shuffle_early: shuffle the examples before reading them (cheap
            examples such as file names); else after resizing.

    The decoded and resized examples are cached before the shuffle, and a
    shuffle of the same number of examples with the same seed gives the same
    order, so a cache never changes what the model sees.
    """

    def prepare(example):
        example = load_example(example)
        image, boxes = augmentation.resize(example["image"], example.get("boxes"))
        prepared = {"image": image, "label": tf.cast(example["label"], tf.int32)}
        if boxes is not None:
            prepared["boxes"] = tf.cast(boxes, tf.float32)
        return prepared

    def finish(example, random_seed=None):
        image, boxes = augmentation.finish(
            example["image"], example.get("boxes"), training=training, seed=random_seed
        )
        inputs = image if boxes is None else {"images": image, "boxes": boxes}
        return inputs, example["label"]

    dataset = examples
    early = shuffle_early and cache is None
    if shuffle and early:
        dataset = dataset.shuffle(shuffle_buffer or _count(dataset), seed=seed)
    dataset = dataset.map(prepare, num_parallel_calls=AUTOTUNE)
    if cache is not None:
        dataset = dataset.cache(cache)
    if shuffle and not early:
        dataset = dataset.shuffle(shuffle_buffer or _count(dataset), seed=seed)
    if training and augmentation.is_random:
        # One seed pair per example, new in every epoch, fixed by `seed`.
        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
        dataset = tf.data.Dataset.zip(dataset, seeds.batch(2))
    dataset = dataset.map(finish, num_parallel_calls=AUTOTUNE)
    dataset = dataset.batch(batch_size)
    options = tf.data.Options()
    options.deterministic = True
    return dataset.with_options(options).prefetch(AUTOTUNE)


def _count(dataset):
    count = int(dataset.cardinality())
    if count < 0:
        raise ValueError("A full shuffle needs a dataset of known size.")
    return max(count, 1)
