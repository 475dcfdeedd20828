"""`cub:PATH`: the original CUB-200-2011 folder, as its authors ship it.

`PATH` is the `CUB_200_2011` folder (or the folder holding it) with
`images/`, `images.txt`, `image_class_labels.txt`, `train_test_split.txt`,
`classes.txt` and `bounding_boxes.txt`. Splits: `train` and `test`, as in
`train_test_split.txt`. The object boxes of `bounding_boxes.txt` are
available as patch boxes (`boxes="object"`): that is box supervision, which
the RRA paper does not use.
"""

import os
import re

import numpy as np

from keras_rra.data.bad_data import stop_on_problems
from keras_rra.data.file_examples import FileExamples
from keras_rra.data.label_files import original_folder
from keras_rra.data.label_files import parse_number
from keras_rra.data.label_files import read_table
from keras_rra.data.label_files import require_file

SPLITS = ("train", "test")
DATASET = "CUB-200-2011"


def cub_examples(root, split, on_bad_image="skip"):
    """The files, labels and object boxes of one CUB-200-2011 split."""
    if split not in SPLITS:
        raise ValueError(
            f"{DATASET} has the splits {', '.join(SPLITS)}; received {split!r}."
        )
    folder = original_folder(root, "CUB_200_2011", "images.txt", DATASET)
    tables = {
        name: read_table(require_file(folder, name, DATASET), fields)
        for name, fields in (
            ("classes.txt", 2),
            ("images.txt", 2),
            ("image_class_labels.txt", 2),
            ("train_test_split.txt", 2),
            ("bounding_boxes.txt", 5),
        )
    }
    classes = tables["classes.txt"]
    class_ids = sorted(
        classes, key=lambda key: parse_number(key, "classes.txt", key, int)
    )
    label_of_class = {class_id: label for label, class_id in enumerate(class_ids)}
    # "001.Black_footed_Albatross" -> "Black_footed_Albatross"
    class_names = [re.sub(r"^\d+\.", "", classes[key][0]) for key in class_ids]

    wanted = "1" if split == "train" else "0"
    problems = []
    paths, labels, keys, boxes = [], [], [], []
    for image_id, (relative,) in tables["images.txt"].items():
        in_split = tables["train_test_split.txt"].get(image_id)
        if in_split is None:
            problems.append(
                (f"image {image_id} ({relative})", "not in train_test_split.txt")
            )
            continue
        if in_split[0] != wanted:
            continue
        class_id = tables["image_class_labels.txt"].get(image_id, [None])[0]
        if class_id not in label_of_class:
            problems.append(
                (
                    f"image {image_id} ({relative})",
                    f"no class in image_class_labels.txt (class {class_id!r})",
                )
            )
            continue
        box = tables["bounding_boxes.txt"].get(image_id)
        if box is None:
            problems.append(
                (f"image {image_id} ({relative})", "no box in bounding_boxes.txt")
            )
            continue
        x, y, width, height = (
            parse_number(v, "bounding_boxes.txt", image_id) for v in box
        )
        paths.append(os.path.join(folder, "images", relative))
        labels.append(label_of_class[class_id])
        keys.append(relative)
        boxes.append((y, x, y + height, x + width))
    problems = stop_on_problems(problems, on_bad_image, f"cub:{root}")
    return FileExamples(
        paths=paths,
        labels=np.asarray(labels, "int32"),
        class_names=class_names,
        keys=keys,
        pixel_boxes=np.asarray(boxes, "float32").reshape(-1, 4),
        problems=problems,
        source=f"cub:{root}",
    )
