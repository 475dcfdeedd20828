"""`Setting`: one named setting with its type, default, range and help."""

import argparse
import dataclasses

from keras_rra.settings.search_range import SearchRange
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import to_fractions
from keras_rra.utils.validation import to_size

KINDS = ("int", "float", "bool", "str", "size", "fractions", "epochs")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def _format(value):
    if isinstance(value, (list, tuple)):
        return ",".join(_format(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


@dataclasses.dataclass(frozen=True)
class Setting:
    """A setting declared once: the CLI flag, the config-file key, the
    model or function argument and their validation all come from here.

    Args:
        name: the one name of the setting: argument, config key and (with
            `-` for `_`) the `--flag`.
        kind: `"int"`, `"float"`, `"bool"`, `"str"`, `"size"` (an int, or a
            `(height, width)` pair in Python), `"fractions"` (numbers in
            (0, 1], `0.25,0.5` on the command line) or `"epochs"` (integers
            >= 1, `30,60` on the command line).
        default: the value when none is given.
        help: one line for `--help` and the docs.
        choices: the values a `"str"` setting may take.
        minimum: inclusive lower bound of a number.
        maximum: inclusive upper bound of a number.
        above: exclusive lower bound of a number.
        below: exclusive upper bound of a number.
        optional: None is a valid value (it means what `help` says).
        resumable: a resumed run may change it (it moves no weight and no
            data).
        search: a `SearchRange`: where a hyperparameter search looks for
            its value (`keras_rra.tuning`); None keeps it out of the
            default search space.

    Example:

    >>> timesteps = Setting("timesteps", "int", 10, "refinement steps T", minimum=1)
    >>> timesteps.check(0)
    ValueError: `timesteps` must be >= 1; received timesteps=0.
    """

    name: str
    kind: str
    default: object
    help: str
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None
    below: float | None = None
    optional: bool = False
    resumable: bool = False
    search: SearchRange | None = None

    def __post_init__(self):
        check_choice("kind", self.kind, KINDS)
        if self.default is not None or not self.optional:
            # A declaration whose default fails its own check is a bug here.
            object.__setattr__(self, "default", self.check(self.default))
        if self.search is not None and not isinstance(self.search, SearchRange):
            raise TypeError(
                f"`{self.name}`: search must be a SearchRange; received "
                f"{self.search!r}."
            )

    def with_default(self, default):
        """The same setting with another default (a model's own)."""
        return dataclasses.replace(self, default=default)

    def with_search(self, **changes):
        """The same setting with its search range changed (`when`, say)."""
        return dataclasses.replace(
            self, search=dataclasses.replace(self.search, **changes)
        )

    @property
    def flag(self):
        return "--" + self.name.replace("_", "-")

    def check(self, value):
        """`value` in its normal form, or a ValueError that names the
        setting, the value and what is allowed."""
        if value is None:
            if self.optional:
                return None
            raise ValueError(f"`{self.name}` needs a value ({self.range_text()}).")
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(
                    f"`{self.name}` must be true or false; received {value!r}."
                )
            return value
        if self.kind == "str":
            if not isinstance(value, str):
                raise ValueError(f"`{self.name}` must be a string; received {value!r}.")
            if self.choices is not None:
                check_choice(self.name, value, self.choices)
            return value
        if self.kind == "size":
            size = to_size(self.name, value)
            self._check_range(min(size))
            return value if isinstance(value, int) else size
        if self.kind == "fractions":
            return list(to_fractions(self.name, value))
        if self.kind == "epochs":
            if not isinstance(value, (list, tuple)) or not all(
                isinstance(item, int) and not isinstance(item, bool) and item >= 1
                for item in value
            ):
                raise ValueError(
                    f"`{self.name}` must be a list of epochs >= 1 (e.g. [30, 60]); "
                    f"received {value!r}."
                )
            return sorted(value)
        return self._check_number(value)

    def _check_number(self, value):
        integer = self.kind == "int"
        number_types = (int,) if integer else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            try:
                import numpy as np

                if isinstance(value, np.integer if integer else np.number):
                    value = value.item()
                else:
                    raise TypeError
            except TypeError:
                kind = "an integer" if integer else "a number"
                raise ValueError(
                    f"`{self.name}` must be {kind} ({self.range_text()}); received "
                    f"{value!r} of type {type(value).__name__}."
                ) from None
        value = int(value) if integer else float(value)
        self._check_range(value)
        return value

    def _check_range(self, value):
        bad = (
            (self.minimum is not None and value < self.minimum)
            or (self.maximum is not None and value > self.maximum)
            or (self.above is not None and not value > self.above)
            or (self.below is not None and not value < self.below)
        )
        if bad:
            raise ValueError(
                f"`{self.name}` must be {self.range_text()}; received "
                f"{self.name}={value}."
            )

    def range_text(self):
        """What the setting accepts, in words: `>= 1`, `in (0, 1]`, ..."""
        if self.choices is not None:
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        low = high = None
        if self.minimum is not None:
            low = f"[{_format(self.minimum)}"
        if self.above is not None:
            low = f"({_format(self.above)}"
        if self.maximum is not None:
            high = f"{_format(self.maximum)}]"
        if self.below is not None:
            high = f"{_format(self.below)})"
        if self.kind == "fractions":
            low, high = "(0", "1]"
        if low and high:
            text = f"in {low}, {high}"
        elif low:
            text = (">= " if low[0] == "[" else "> ") + low[1:]
        elif high:
            text = ("<= " if high[-1] == "]" else "< ") + high[:-1]
        else:
            text = {"str": "a string", "int": "an integer"}.get(self.kind, "a number")
        if self.kind == "epochs":
            text = "epochs >= 1"
        return text

    def parse(self, text):
        """The value of a command-line word (the argparse `type`)."""
        word = text.strip()
        if self.optional and word.lower() == "none":
            return None
        try:
            if self.kind == "bool":
                if word.lower() in _TRUE:
                    return True
                if word.lower() in _FALSE:
                    return False
                raise ValueError
            if self.kind == "int":
                return int(word)
            if self.kind == "float":
                return float(word)
            if self.kind == "size":
                return int(word)
            if self.kind == "fractions":
                return [float(part) for part in word.split(",") if part.strip()]
            if self.kind == "epochs":
                return [int(part) for part in word.split(",") if part.strip()]
        except ValueError:
            lists = {
                "fractions": "numbers in (0, 1] separated by commas, e.g. 0.25,0.5",
                "epochs": "epochs separated by commas, e.g. 30,60",
            }
            what = {
                "int": "a whole number",
                "size": "a whole number",
                "float": "a number",
                "bool": "true or false",
            }.get(self.kind)
            expected = lists.get(self.kind, self.range_text())
            if what and expected:
                expected = f"{what} {expected}"
            not_what = f", which is not {what}" if what else ""
            raise argparse.ArgumentTypeError(
                f"expected {expected or what}; received {text!r}{not_what}"
            ) from None
        return word

    def describe(self, defaults=None):
        """The `--help` line: what it is, its choices or range, its default.

        Args:
            defaults: optional `{owner: default}` where models differ.
        """
        text = f"{self.help}; {self.range_text()}"
        shown = _format(self.default)
        if defaults and len(set(map(_format, defaults.values()))) > 1:
            shown = ", ".join(
                f"{_format(value)} ({owner})" for owner, value in defaults.items()
            )
        elif defaults:
            shown = _format(next(iter(defaults.values())))
        return f"{text} (default: {shown})"
