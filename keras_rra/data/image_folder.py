"""`folder:PATH`: class-per-folder image trees.

Two layouts:
- `PATH/<split>/<class>/*.jpg`, the layout of tfds's `ImageFolder`, with
  the same class indices (sorted class names). A `PATH/train` folder marks it.
- `PATH/<class>/*.jpg`, one tree split into train and test with a seeded
  fraction held out from every class.

The extensions read are `.jpg .jpeg .png .bmp .gif`, in any case.
"""

import os
import zlib

import numpy as np

from keras_rra.data.bad_data import stop_on_problems
from keras_rra.data.file_examples import FileExamples
from keras_rra.data.image_scan import has_image_extension

SPLIT_ALIASES = {"validation": ("validation", "val", "valid")}
TREE_SPLITS = ("train", "test")


def _subfolders(path):
    return sorted(
        entry.name
        for entry in os.scandir(path)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _images(folder, ignored):
    """Image files of `folder`, sorted; other entries go to `ignored`."""
    images = []
    for entry in sorted(os.scandir(folder), key=lambda entry: entry.name):
        if entry.name.startswith("."):
            continue
        if entry.is_file() and has_image_extension(entry.name):
            images.append(entry.path)
        else:
            kind = "folder" if entry.is_dir() else "file"
            ignored.append((entry.path, f"a {kind} without an image extension"))
    return images


def _class_files(split_dir, ignored):
    """{class name: files} of a `<class>/<files>` folder."""
    return {
        name: _images(os.path.join(split_dir, name), ignored)
        for name in _subfolders(split_dir)
    }


def _resolve_split(root, split, splits):
    if split in splits:
        return split
    for alias in SPLIT_ALIASES.get(split, ()):
        if alias in splits:
            return alias
    raise ValueError(
        f"Image folder {root!r} has no split {split!r}; its splits are "
        f"{', '.join(splits)} (sub-folders of {root!r})."
    )


def folder_examples(root, split, split_fraction=0.2, seed=0, on_bad_image="skip"):
    """The files and labels of one split of an image folder.

    Args:
        root: the folder.
        split: a split folder's name (`train`, `test`, `validation`/`val`,
            ...) or, for a single class tree, `train` or `test`.
        split_fraction: for a single class tree, the fraction of each
            class's files held out as `test`, chosen with `seed`.
        seed: seed of that choice.
        on_bad_image: what to do with an empty class folder, a class that is
            not in `train`, and (later, in `FileExamples.checked`) with files
            that are not readable images; see `bad_data.report_problems`.

    Returns:
        A `FileExamples`, not yet checked.
    """
    source = f"folder:{root}"
    if not os.path.isdir(root):
        raise FileNotFoundError(
            f"Image folder {root!r} does not exist or is not a folder."
        )
    ignored, problems = [], []
    subfolders = _subfolders(root)
    has_splits = "train" in subfolders
    class_root = os.path.join(root, "train") if has_splits else root
    if has_splits:
        split = _resolve_split(root, split, subfolders)
        train = _class_files(class_root, ignored if split == "train" else [])
        files = (
            train
            if split == "train"
            else _class_files(os.path.join(root, split), ignored)
        )
    else:
        if split not in TREE_SPLITS:
            raise ValueError(
                f"Image folder {root!r} is one class tree (no {root}/train folder), "
                f"split into {' and '.join(TREE_SPLITS)}; received split={split!r}."
            )
        if not 0 < split_fraction < 1:
            raise ValueError(
                f"split_fraction must be in (0, 1); received {split_fraction}."
            )
        ignored.extend(
            (entry.path, "not inside a class folder")
            for entry in os.scandir(root)
            if entry.is_file() and not entry.name.startswith(".")
        )
        train = _class_files(root, ignored)
        files = {}
        for name, paths in train.items():
            # Each class's own seeded order: adding a class moves no file of
            # another class between train and test.
            order = np.random.default_rng(
                [seed, zlib.crc32(name.encode())]
            ).permutation(len(paths))
            held_out = int(round(len(paths) * split_fraction)) if len(paths) > 1 else 0
            if len(paths) > 1:
                held_out = min(max(held_out, 1), len(paths) - 1)
            chosen = order[:held_out] if split == "test" else order[held_out:]
            files[name] = [paths[i] for i in sorted(chosen)]
    class_names = [name for name, paths in train.items() if paths]
    if split == "train" or not has_splits:
        problems.extend(
            (os.path.join(class_root, name), "empty class folder (no image files)")
            for name, paths in train.items()
            if not paths
        )
    if not class_names:
        raise ValueError(
            f"Image folder {root!r} has no class folder with images "
            f"(expected {root}/<class>/*.jpg or {root}/train/<class>/*.jpg)."
        )
    index = {name: label for label, name in enumerate(class_names)}
    paths, labels = [], []
    for name, class_paths in files.items():
        if name not in index:
            if class_paths:
                problems.append(
                    (
                        os.path.join(root, split, name),
                        f"class folder not in {class_root} "
                        f"({len(class_paths)} image(s))",
                    )
                )
            continue
        paths.extend(class_paths)
        labels.extend([index[name]] * len(class_paths))
    # Files without an image extension are not bad images: listed, never
    # an error.
    problems = stop_on_problems(problems, on_bad_image, source) + ignored
    keys = [os.path.relpath(path, root).replace(os.sep, "/") for path in paths]
    return FileExamples(
        paths=paths,
        labels=np.asarray(labels, "int32"),
        class_names=class_names,
        keys=keys,
        source=source,
        problems=problems,
    )
