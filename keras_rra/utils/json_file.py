"""JSON files written whole or not at all."""

import json
import os


def write_json(path, values):
    """Writes JSON atomically: a reader never sees half a file."""
    partial = f"{path}.partial"
    with open(partial, "w", encoding="utf-8") as file:
        json.dump(values, file, indent=2, sort_keys=True)
        file.write("\n")
    os.replace(partial, path)
