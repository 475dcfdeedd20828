"""One policy for bad data: skip it with one warning, or stop naming it."""

import warnings

from keras_rra.settings.data_settings import ON_BAD_IMAGE


class BadDataWarning(UserWarning):
    """Warns that examples were skipped; the message lists every one."""


def check_on_bad_image(on_bad_image):
    if on_bad_image not in ON_BAD_IMAGE:
        raise ValueError(
            f"on_bad_image={on_bad_image!r} is not one of {ON_BAD_IMAGE}: 'skip' "
            "leaves bad examples out with a warning, 'error' stops at the first."
        )


def stop_on_problems(problems, on_bad_image, source):
    """Raises for the first problem under `"error"`; else returns them, to be
    reported together with the others by `report_problems`."""
    if on_bad_image == "error":
        report_problems(problems, on_bad_image, source)
    return list(problems)


def report_problems(problems, on_bad_image, source, stacklevel=3):
    """Applies the bad-data policy to `problems`.

    Args:
        problems: list of `(item, reason)`; `item` is what is left out (a
            file, a folder, a line of a label file).
        on_bad_image: `"skip"`: one `BadDataWarning` that lists every item
            and the count; `"error"`: a `ValueError` naming the first item.
        source: the dataset, for the message.
    """
    check_on_bad_image(on_bad_image)
    if not problems:
        return
    if on_bad_image == "error":
        item, reason = problems[0]
        more = (
            f" ({len(problems) - 1} more problem(s) after it)"
            if len(problems) > 1
            else ""
        )
        raise ValueError(
            f"{source}: {item}: {reason}{more}. Fix or remove it, or pass "
            "on_bad_image='skip' (--on-bad-image skip) to leave such examples out."
        )
    lines = "\n".join(f"  {item}: {reason}" for item, reason in problems)
    warnings.warn(
        f"{source}: skipped {len(problems)} example(s):\n{lines}",
        BadDataWarning,
        stacklevel=stacklevel,
    )
