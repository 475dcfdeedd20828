"""`SearchRange`: where a hyperparameter search looks for a setting's value."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class SearchRange:
    """The values a search may try for one setting: a list of choices, or
    an interval of numbers.

    A setting declared with a `SearchRange` joins the default search space
    of `keras_rra.tuning` for the models that take it; nothing else needs
    to change when a setting is added.

    Args:
        values: the choices (numbers, strings, booleans, or lists for list
            settings such as `anchor_sizes`). Give `values` or `low` and
            `high`, not both.
        low: the inclusive lower end of an interval (an integer for an
            integer setting).
        high: the inclusive upper end of the interval.
        log: sample the interval on a log scale (`low` must be > 0).
        step: the spacing of an integer interval (default 1), or of a float
            interval (default: continuous).
        relative_to: the numbers are fractions of this other setting's value
            (`patch_size` as a fraction of `image_size`), turned into the
            setting's own unit when the space is made.
        when: `(setting name, values)`: the setting matters only when that
            other setting takes one of `values` (the navigator's settings
            when `patch` is `"navigator"`); searched under that condition.
        models: the models whose search includes it (default: every model
            that takes the setting; needed for a training setting that one
            model uses, such as `stage1_epochs`).

    Example:

    >>> SearchRange(low=1e-4, high=1e-2, log=True)
    >>> SearchRange(values=(64, 128, 256, 512))
    """

    values: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    relative_to: str | None = None
    when: tuple | None = None
    models: tuple | None = None

    def __post_init__(self):
        if self.values is not None:
            values = tuple(self.values)
            if not values:
                raise ValueError("A search over choices needs at least one value.")
            if self.low is not None or self.high is not None or self.log:
                raise ValueError(
                    "A search range takes values or low/high, not both; "
                    f"received values={list(values)}, low={self.low}, high={self.high}."
                )
            object.__setattr__(self, "values", values)
            return
        if self.low is None or self.high is None:
            raise ValueError(
                f"A search range needs values or both low and high; received "
                f"low={self.low}, high={self.high}."
            )
        if self.low > self.high:
            raise ValueError(
                f"A search range's low must be <= its high; received "
                f"low={self.low}, high={self.high}."
            )
        if self.log and self.low <= 0:
            raise ValueError(
                f"A log-scale search range needs low > 0; received low={self.low}."
            )
        if self.step is not None and self.step <= 0:
            raise ValueError(f"A search step must be > 0; received step={self.step}.")

    @property
    def is_choice(self):
        return self.values is not None

    def describe(self):
        """The range in words: `64, 128` or `[1e-4, 1e-2] log`."""
        if self.is_choice:
            text = ", ".join(map(_format, self.values))
        else:
            text = f"[{_format(self.low)}, {_format(self.high)}]"
            if self.log:
                text += " log"
            if self.step is not None:
                text += f" step {_format(self.step)}"
        if self.relative_to:
            text += f" × {self.relative_to}"
        if self.when:
            text += f" when {self.when[0]} in {', '.join(map(str, self.when[1]))}"
        return text

    def to_dict(self):
        """A JSON form (to compare two searches)."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in dataclasses.asdict(self).items()
            if value not in (None, False)
        }


def _format(value):
    if isinstance(value, (list, tuple)):
        return ",".join(map(_format, value))
    return str(value)
