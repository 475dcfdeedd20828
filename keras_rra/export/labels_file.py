"""Class names beside an exported model: `<model without extension>.labels.txt`."""

import os

from keras_rra.export.atomic import atomic_output


def labels_path(model_path):
    """`savedmodels/m/1-int8.tflite` -> `savedmodels/m/1-int8.labels.txt`."""
    return f"{os.path.splitext(model_path)[0]}.labels.txt"


def write_labels(model_path, class_names):
    """Writes one class name per line beside `model_path`; returns the path."""
    with atomic_output(labels_path(model_path), overwrite=True) as partial:
        with open(partial, "w", encoding="utf-8") as file:
            file.write("\n".join(class_names) + "\n")
    return labels_path(model_path)


def read_names(path, num_classes):
    """The class names in the file `path`, one per line, or the indices as
    strings when it is missing (or has another number of lines)."""
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as file:
            names = [line.strip() for line in file if line.strip()]
        if len(names) == num_classes:
            return names
    return [str(index) for index in range(num_classes)]


def read_labels(model_path, num_classes):
    """The class names beside `model_path` (see `read_names`)."""
    return read_names(labels_path(model_path), num_classes)
