"""Reading the whitespace-separated label files of CUB and FGVC-Aircraft."""

import os


def original_folder(root, nested, marker, dataset):
    """The folder that holds `marker`: `root` itself or `root/nested`.

    Users point at either the dataset's folder or the one they unpacked it
    in; both work.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{dataset} folder {root!r} does not exist.")
    inner = os.path.join(root, nested)
    if not os.path.isfile(os.path.join(root, marker)) and os.path.isdir(inner):
        return inner
    return root


def require_file(folder, name, dataset):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"{dataset}: {path!r} does not exist; is {folder!r} the dataset's "
            "original folder?"
        )
    return path


def read_table(path, num_fields):
    """Rows of a label file: `{first field: [other fields]}`.

    The last field keeps its spaces (Aircraft's class names have them).
    Blank lines are ignored.

    Raises:
        ValueError: naming the file and line of a short row or a repeated key.
    """
    rows = {}
    with open(path, encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            line = line.strip()
            if not line:
                continue
            fields = line.split(maxsplit=num_fields - 1)
            if len(fields) != num_fields:
                raise ValueError(
                    f"{path}, line {number}: expected {num_fields} fields, "
                    f"found {len(fields)}: {line!r}."
                )
            if fields[0] in rows:
                raise ValueError(f"{path}, line {number}: {fields[0]!r} appears twice.")
            rows[fields[0]] = fields[1:]
    return rows


def parse_number(text, path, key, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise ValueError(
            f"{path}: the value {text!r} for {key!r} is not a number."
        ) from None
