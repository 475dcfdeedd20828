"""`SearchSpace`: the hyperparameters of a search, made from the settings'
declared `SearchRange`s."""

import math

from keras_rra.settings.data_settings import DATA_SETTINGS
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.settings.run_settings import run_settings
from keras_rra.settings.search_range import SearchRange
from keras_rra.utils.validation import smaller_side

# Settings that describe the run, not the model or its training: a search
# does not vary them (its epochs are the tuner's budget, and its data is
# loaded once for every trial).
NOT_SEARCHED = {
    "model",
    "preset",
    "epochs",
    "stage2_epochs",
    "validation_freq",
    "early_stopping",
    "keep",
    "tensorboard",
    "strategy",
    "jit_compile",
    "checkpoint_every",
    "connect_timeout",
    "seed",
    "output",
    *DATA_SETTINGS.names(),
}

# Kinds whose values are lists: keras-tuner's choices are scalars, so a
# list is searched under its command-line spelling ("0.25,0.5").
_LIST_KINDS = ("fractions", "epochs")


def setting_of(model, name):
    """The declaration of run setting `name` as `model` takes it (a model
    setting shared by several models has each one's own default and range)."""
    setting, owners = run_settings()[name]
    if owners:
        if model not in owners:
            raise ValueError(
                f"`{name}` is a setting of {' and '.join(owners)}; model "
                f"{model!r} does not take it, so it cannot be searched."
            )
        return MODEL_SETTINGS[model][name]
    return setting


def declared_ranges(model):
    """`{name: SearchRange}` of every setting declared with a search range
    that `model` takes, in the order of `keras-rra train --help`."""
    ranges = {}
    for name, (setting, owners) in run_settings().items():
        if owners and model not in owners:
            continue
        setting = setting_of(model, name)
        search = setting.search
        if search is None or (search.models and model not in search.models):
            continue
        ranges[name] = search
    return ranges


def as_search_range(name, value):
    """A user's range: a `SearchRange`, a list of choices, or a dict of
    `SearchRange` arguments."""
    if isinstance(value, SearchRange):
        return value
    if isinstance(value, dict):
        return SearchRange(**value)
    if isinstance(value, (list, tuple)):
        return SearchRange(values=tuple(value))
    raise ValueError(
        f"search range of `{name}`: expected a list of choices, a dict such as "
        f"{{'low': 1, 'high': 10}} or a SearchRange; received {value!r}."
    )


class SearchSpace:
    """The hyperparameters one search varies: run settings with a range.

    The default space is every setting the chosen model takes that is
    declared with a `SearchRange` (see `keras_rra.settings`), so a setting
    added later joins it by declaring one. `search` adds settings or
    narrows their ranges, `tune` keeps only the named ones, and `fixed`
    settings are never searched.

    Hyperparameters are named as the settings (`timesteps`,
    `learning_rate`), so `keras_tuner.HyperParameters.Fixed("timesteps",
    4)` passed to a tuner fixes one the keras-tuner way too. A setting that
    matters only for one value of another (`ranking_weight` for
    `patch="navigator"`) is searched in that condition when the other is
    searched, and left out when the other is fixed to a value it does not
    serve.

    Args:
        config: the run's `TrainConfig`: the model, every value not
            searched, and what relative ranges are relative to.
        search: optional `{name: range}`: a list of choices, a dict of
            `SearchRange` arguments or a `SearchRange`; replaces a declared
            range (keeping its condition) or adds a setting.
        tune: optional names: search only these.
        fixed: names given by the user, never searched.

    Example:

    >>> space = SearchSpace(TrainConfig(model="rra"), tune=["timesteps"])
    >>> space.describe()
    {'timesteps': '[1, 10]'}
    """

    def __init__(self, config, search=None, tune=None, fixed=()):
        self.config = config
        self.search = dict(search or {})
        self.tune = None if tune is None else list(tune)
        self.fixed = tuple(fixed)
        model = config.model
        declared = declared_ranges(model)
        ranges = {
            name: search_range
            for name, search_range in declared.items()
            if name not in self.fixed
        }
        for name, value in self.search.items():
            if name not in run_settings():
                raise ValueError(
                    f"unknown setting {name!r} in the search space. Settings: "
                    f"{', '.join(run_settings())}."
                )
            if name in NOT_SEARCHED:
                raise ValueError(
                    f"`{name}` describes the run, not the model or its training; "
                    "it cannot be searched (give it a value instead)."
                )
            setting_of(model, name)
            if name in self.fixed:
                raise ValueError(
                    f"`{name}` is both given a value and searched; give one or "
                    "the other."
                )
            search_range = as_search_range(name, value)
            old = declared.get(name)
            if search_range.when is None and old is not None and old.when:
                search_range = SearchRange(
                    **{**search_range.__dict__, "when": old.when}
                )
            ranges[name] = search_range
        if self.tune is not None:
            unknown = [name for name in self.tune if name not in ranges]
            if unknown:
                raise ValueError(
                    f"cannot tune {', '.join(unknown)}: not in the search space "
                    f"of {model!r} (it has {', '.join(ranges) or 'nothing'}); give "
                    "a range for each."
                )
            ranges = {name: ranges[name] for name in self.tune}
        self.ranges = {}
        # A setting that others depend on is declared before them.
        ranges = dict(
            sorted(
                ranges.items(),
                key=lambda item: bool(item[1].when and item[1].when[0] in ranges),
            )
        )
        for name, search_range in ranges.items():
            condition = search_range.when
            # A setting for another value of a fixed setting does nothing.
            if (
                condition
                and condition[0] not in ranges
                and getattr(config, condition[0]) not in condition[1]
            ):
                continue
            self.ranges[name] = self._resolve(name, search_range)
        for name, search_range in self.ranges.items():
            if search_range.when and search_range.when[0] in self.ranges:
                parent = self.ranges[search_range.when[0]]
                if not parent.is_choice:
                    raise ValueError(
                        f"`{name}` is searched when {search_range.when[0]} is one "
                        f"of some values; search {search_range.when[0]} as a list "
                        "of choices."
                    )
        if not self.ranges:
            raise ValueError(
                f"the search space of {model!r} is empty: every setting with a "
                "range is fixed or left out; give a range (--search NAME=...)."
            )

    def _resolve(self, name, search_range):
        """The range in the setting's own unit, each end and choice checked
        by the setting."""
        setting = setting_of(self.config.model, name)
        if search_range.relative_to:
            search_range = self._absolute(name, search_range, setting)
        if search_range.is_choice:
            values = []
            for value in search_range.values:
                value = _checked(setting, value)
                if value not in values:
                    values.append(value)
            return SearchRange(values=tuple(values), when=search_range.when)
        if setting.kind not in ("int", "float", "size"):
            raise ValueError(
                f"`{name}` takes {setting.range_text()}; search it with a list of "
                f"choices, not the interval [{search_range.low}, {search_range.high}]."
            )
        low = _checked(setting, search_range.low)
        high = _checked(setting, search_range.high)
        if setting.kind in ("int", "size") and not (
            float(search_range.low).is_integer()
            and float(search_range.high).is_integer()
        ):
            raise ValueError(
                f"`{name}` is an integer; its range needs integer ends; received "
                f"[{search_range.low}, {search_range.high}]."
            )
        return SearchRange(
            low=low,
            high=high,
            log=search_range.log,
            step=search_range.step,
            when=search_range.when,
        )

    def _absolute(self, name, search_range, setting):
        """Fractions of another setting's value in this setting's unit:
        integers rounded, at least 1, below the whole where the whole is
        more than 1 (a stage of 0.75 × 2 epochs leaves one for stage 2)."""
        base = smaller_side(getattr(self.config, search_range.relative_to))

        def scale(fraction):
            value = fraction * base
            if setting.kind in ("int", "size"):
                value = max(1, round(value))
                if fraction < 1 and base > 1:
                    value = min(value, base - 1)
            return value

        if search_range.is_choice:
            return SearchRange(
                values=tuple(scale(value) for value in search_range.values),
                when=search_range.when,
            )
        return SearchRange(
            low=scale(search_range.low),
            high=scale(search_range.high),
            log=search_range.log,
            step=search_range.step,
            when=search_range.when,
        )

    def names(self):
        return list(self.ranges)

    def declare(self, hp):
        """Declares the space in a `keras_tuner.HyperParameters` and returns
        this trial's `{setting: value}` (a value the tuner was given, as
        `hp.Fixed`, wins)."""
        values = {}
        for name, search_range in self.ranges.items():
            condition = search_range.when
            if condition and condition[0] in self.ranges:
                parent, allowed = condition
                encoded = [_encode(value) for value in allowed]
                with hp.conditional_scope(parent, encoded):
                    value = self._declare_one(hp, name, search_range)
                if hp.is_active(name):
                    values[name] = value
            else:
                values[name] = self._declare_one(hp, name, search_range)
        return {
            name: _decode(setting_of(self.config.model, name), value)
            for name, value in values.items()
        }

    def _declare_one(self, hp, name, search_range):
        default = getattr(self.config, name)
        if search_range.is_choice:
            choices = [_encode(value) for value in search_range.values]
            encoded = _encode(default)
            return hp.Choice(
                name, choices, default=encoded if encoded in choices else None
            )
        sampling = "log" if search_range.log else "linear"
        inside = (
            default is not None and search_range.low <= default <= search_range.high
        )
        if isinstance(search_range.low, int) and isinstance(search_range.high, int):
            step = search_range.step
            return hp.Int(
                name,
                search_range.low,
                search_range.high,
                step=int(step) if step else (None if search_range.log else 1),
                sampling=sampling,
                default=default if inside else None,
            )
        return hp.Float(
            name,
            float(search_range.low),
            float(search_range.high),
            step=search_range.step,
            sampling=sampling,
            default=float(default) if inside else None,
        )

    def config_for(self, values):
        """The run's config with a trial's values (Coarse2Fine's stage 2 is
        the rest of `epochs` when stage 1 is searched)."""
        changes = dict(values)
        if "stage1_epochs" in changes:
            changes["stage2_epochs"] = None
        return self.config.replace(**changes)

    def describe(self):
        """`{name: range in words}`."""
        return {name: rng.describe() for name, rng in self.ranges.items()}

    def to_dict(self):
        """A JSON form of the space (to tell two searches apart)."""
        return {name: rng.to_dict() for name, rng in self.ranges.items()}


def _checked(setting, value):
    try:
        return setting.check(value)
    except ValueError as error:
        raise ValueError(f"search range: {error}") from None


def _encode(value):
    """A value as keras-tuner can hold it (lists as their flag spelling)."""
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return value


def _decode(setting, value):
    if setting.kind in _LIST_KINDS and isinstance(value, str):
        return setting.check(setting.parse(value))
    if setting.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float) and math.isnan(value):
        raise ValueError(f"`{setting.name}`: the tuner chose NaN.")
    return value


def parse_search_argument(text, model):
    """`(name, range)` from a command-line `NAME=SPEC`.

    SPEC is a list of choices (`64,128,256`; for a list setting such as
    `anchor_sizes`, alternatives separated by `/`: `0.25/0.25,0.5`) or an
    interval `LOW:HIGH`, `LOW:HIGH:log` or `LOW:HIGH:STEP`.
    """
    name, separator, spec = text.partition("=")
    name = name.strip().replace("-", "_")
    if not separator or not name:
        raise ValueError(
            f"--search {text!r}: expected NAME=CHOICE,CHOICE or NAME=LOW:HIGH[:log]."
        )
    if name not in run_settings():
        raise ValueError(
            f"--search {text!r}: unknown setting {name!r}. Settings: "
            f"{', '.join(run_settings())}."
        )
    setting = setting_of(model, name)
    spec = spec.strip()
    if not spec:
        raise ValueError(f"--search {text!r}: the range of {name} is empty.")

    def parse(word):
        try:
            return setting.parse(word)
        except Exception as error:
            raise ValueError(f"--search {text!r}: {error}.") from None

    if ":" in spec and setting.kind in ("int", "float", "size"):
        parts = spec.split(":")
        if len(parts) not in (2, 3) or not all(parts[:2]):
            raise ValueError(
                f"--search {text!r}: an interval is LOW:HIGH, LOW:HIGH:log or "
                "LOW:HIGH:STEP."
            )
        low, high = parse(parts[0]), parse(parts[1])
        log, step = False, None
        if len(parts) == 3:
            if parts[2].strip().lower() == "log":
                log = True
            else:
                step = parse(parts[2])
        return name, SearchRange(low=low, high=high, log=log, step=step)
    separator = "/" if setting.kind in _LIST_KINDS else ","
    words = [word for word in spec.split(separator) if word.strip()]
    if not words:
        raise ValueError(f"--search {text!r}: the range of {name} is empty.")
    return name, SearchRange(values=tuple(parse(word) for word in words))
