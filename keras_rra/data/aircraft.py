"""`aircraft:PATH`: the original FGVC-Aircraft 2013b folder.

`PATH` is `fgvc-aircraft-2013b` (or its `data/` folder) with `images/`,
`variants.txt`, `families.txt`, `manufacturers.txt`, the label files
`images_<level>_<split>.txt` and, optionally, `images_box.txt`. Labels at
the `variant` (100 classes), `family` (70) or `manufacturer` (30) level;
splits `train`, `val`, `trainval` and `test`. The bottom 20 pixels of every
image hold a copyright banner and are cut off, as the dataset's authors
advise; object boxes (`boxes="object"`, box supervision) are relative to
the image without the banner.
"""

import os

import numpy as np

from keras_rra.data.bad_data import stop_on_problems
from keras_rra.data.file_examples import FileExamples
from keras_rra.data.label_files import original_folder
from keras_rra.data.label_files import parse_number
from keras_rra.data.label_files import read_table
from keras_rra.data.label_files import require_file
from keras_rra.settings.data_settings import AIRCRAFT_LEVELS

LEVELS = AIRCRAFT_LEVELS
SPLITS = ("train", "val", "trainval", "test")
SPLIT_ALIASES = {"validation": "val"}
BANNER_PIXELS = 20
DATASET = "FGVC-Aircraft"


def _class_names(path):
    with open(path, encoding="utf-8") as file:
        names = [line.strip() for line in file if line.strip()]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: a class name appears twice.")
    return names


def aircraft_examples(root, split, level="variant", on_bad_image="skip"):
    """The files, labels and object boxes of one FGVC-Aircraft split."""
    if level not in LEVELS:
        raise ValueError(
            f"{DATASET} levels are {', '.join(LEVELS)}; received level={level!r}."
        )
    split = SPLIT_ALIASES.get(split, split)
    if split not in SPLITS:
        raise ValueError(
            f"{DATASET} has the splits {', '.join(SPLITS)}; received {split!r}."
        )
    folder = original_folder(root, "data", "variants.txt", DATASET)
    class_names = _class_names(require_file(folder, f"{level}s.txt", DATASET))
    label_of = {name: label for label, name in enumerate(class_names)}
    label_file = require_file(folder, f"images_{level}_{split}.txt", DATASET)
    rows = read_table(label_file, 2)
    box_file = os.path.join(folder, "images_box.txt")
    box_rows = read_table(box_file, 5) if os.path.isfile(box_file) else None

    problems = []
    paths, labels, keys, boxes = [], [], [], []
    for image, (name,) in rows.items():
        if name not in label_of:
            problems.append(
                (f"{label_file}: image {image}", f"unknown {level} {name!r}")
            )
            continue
        if box_rows is not None:
            if image not in box_rows:
                problems.append((f"image {image}", f"no box in {box_file}"))
                continue
            x1, y1, x2, y2 = (parse_number(v, box_file, image) for v in box_rows[image])
            # 1-based, inclusive pixel coordinates.
            boxes.append((y1 - 1, x1 - 1, y2, x2))
        paths.append(os.path.join(folder, "images", f"{image}.jpg"))
        labels.append(label_of[name])
        keys.append(image)
    problems = stop_on_problems(problems, on_bad_image, f"aircraft:{root}")
    return FileExamples(
        paths=paths,
        labels=np.asarray(labels, "int32"),
        class_names=class_names,
        keys=keys,
        pixel_boxes=None
        if box_rows is None
        else np.asarray(boxes, "float32").reshape(-1, 4),
        crop_bottom=BANNER_PIXELS,
        problems=problems,
        source=f"aircraft:{root}",
    )
