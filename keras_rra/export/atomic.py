"""Writing an export to a temporary path and renaming it into place.

A failed export leaves nothing behind under its final name: the files are
written beside it under a hidden `.NAME.partial-PID` name and renamed only
when complete. An existing result is replaced only with `overwrite=True`,
and then only after the new one is complete.
"""

import contextlib
import os
import shutil


def remove_path(path):
    """Removes a file, link or folder, if it exists."""
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


@contextlib.contextmanager
def atomic_output(path, overwrite=False):
    """Yields a temporary path; on success it is renamed to `path`.

    Raises:
        FileExistsError: if `path` exists and `overwrite` is False.
    """
    path = os.path.abspath(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(
            f"{path} already exists; pass overwrite=True (--overwrite) to replace it."
        )
    parent, name = os.path.split(path)
    os.makedirs(parent, exist_ok=True)
    partial = os.path.join(parent, f".{name}.partial-{os.getpid()}")
    remove_path(partial)
    try:
        yield partial
        if not os.path.lexists(partial):
            raise RuntimeError(f"The export wrote nothing to {partial}.")
    except BaseException:
        remove_path(partial)
        raise
    old = os.path.join(parent, f".{name}.old-{os.getpid()}")
    if os.path.lexists(path):
        os.replace(path, old)
    os.replace(partial, path)
    remove_path(old)
