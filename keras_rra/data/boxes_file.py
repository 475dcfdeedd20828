"""Patch boxes from a CSV file, joined to a dataset by image key.

Each row: the image key, then K boxes as normalised `y1,x1,y2,x2`, so
`1 + 4K` fields. An optional header row is recognised by a non-numeric
second field. The key of an image is:
- `folder:` its path relative to the folder (`train/cardinal/001.jpg`);
- `cub:` its path in `images.txt` (`001.Black_footed_Albatross/....jpg`);
- `aircraft:` its image number (`1025794`);
- tfds: its file name feature (`image/filename`, `file_name` or `id`);
- `synthetic`: its index in the split.
Boxes are relative to the image as the dataset presents it (for Aircraft,
without its banner).
"""

import csv
import os

import numpy as np

from keras_rra.data.bad_data import stop_on_problems
from keras_rra.utils.validation import check_boxes


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_boxes_file(path, num_boxes):
    """Reads a boxes CSV: `{key: (num_boxes, 4) float32}`.

    Raises:
        FileNotFoundError: if the file does not exist.
        ValueError: naming the line of a malformed row, a bad box, a key that
            appears twice, or a row with fewer than `num_boxes` boxes.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Boxes file {path!r} does not exist.")
    table = {}
    with open(path, newline="", encoding="utf-8") as file:
        for number, row in enumerate(csv.reader(file), start=1):
            row = [field.strip() for field in row]
            if not row or not any(row):
                continue
            if number == 1 and len(row) > 1 and not _is_number(row[1]):
                continue  # a header row
            where = f"{path}, line {number}"
            values = row[1:]
            if not values or len(values) % 4:
                raise ValueError(
                    f"{where}: expected the image key and then 4 values per box "
                    f"(y1,x1,y2,x2); found {len(values)} value(s) after the key."
                )
            if not all(_is_number(value) for value in values):
                raise ValueError(f"{where}: a box value is not a number: {row!r}.")
            if len(values) // 4 < num_boxes:
                raise ValueError(
                    f"{where}: {len(values) // 4} box(es) for {row[0]!r}, fewer than "
                    f"num_boxes={num_boxes}."
                )
            if row[0] in table:
                raise ValueError(f"{where}: image key {row[0]!r} appears twice.")
            boxes = np.asarray(values, "float32").reshape(-1, 4)[:num_boxes]
            table[row[0]] = check_boxes(boxes, source=where)
    if not table:
        raise ValueError(f"Boxes file {path!r} has no rows.")
    return table


def join_boxes(keys, table, path, on_bad_image, source):
    """The boxes of each key, and the mask of keys that have a row.

    An image without a row is a bad example: an error under `on_bad_image=
    "error"`, else returned among the problems to report.

    Returns:
        `(boxes, found, problems)`.
    """
    num_boxes = next(iter(table.values())).shape[0]
    boxes = np.zeros((len(keys), num_boxes, 4), "float32")
    found = np.zeros(len(keys), bool)
    problems = []
    for index, key in enumerate(keys):
        row = table.get(key)
        if row is None:
            problems.append((f"image {key!r}", f"no row in boxes file {path}"))
        else:
            boxes[index], found[index] = row, True
    problems = stop_on_problems(problems, on_bad_image, source)
    return boxes, found, problems
