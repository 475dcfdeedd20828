"""Every setting of a training run, resolved from the declarations, a
preset, a file and flags.

The settings themselves are declared once in `keras_rra.settings` (the
models', the data's and training's); this module only puts them together
for one run and checks the rules that join several settings.
"""

import json
import os

import yaml

from keras_rra.data import synthetic
from keras_rra.data.loader import FILE_DATASETS
from keras_rra.data.loader import parse_name
from keras_rra.settings.model_settings import MODEL
from keras_rra.settings.model_settings import MODEL_SETTINGS
from keras_rra.settings.model_settings import MODELS
from keras_rra.settings.presets import PRESET
from keras_rra.settings.run_settings import RENAMED
from keras_rra.settings.run_settings import model_default
from keras_rra.settings.run_settings import run_settings
from keras_rra.utils.validation import smaller_side

__all__ = ["MODELS", "RESUMABLE_CHANGES", "TrainConfig"]

RESUMABLE_CHANGES = tuple(
    name for name, (setting, _) in run_settings().items() if setting.resumable
)


def _check_stage_sum(values, source):
    """Refuses `epochs` given with both stages unless it is their sum."""
    stages = ("stage1_epochs", "stage2_epochs", "epochs")
    if not all(isinstance(values.get(key), int) for key in stages):
        return
    first, second, epochs = (values[key] for key in stages)
    if epochs != first + second:
        raise ValueError(
            f"{source}: epochs={epochs} is not stage1_epochs + stage2_epochs = "
            f"{first} + {second}; give the two stages, or epochs and one stage."
        )


class TrainConfig:
    """Settings of one training run.

    Every keyword is a setting declared in `keras_rra.settings` (see
    `keras-rra train --help` for each one's meaning, range and default):
    `model` and `preset`, the data's, the chosen model's (the arguments of
    `RRAClassifier`, `Coarse2FineClassifier` or `BaselineClassifier`, under
    the same names) and training's. A model setting not given takes the
    model's own default, changed by `preset`: `"cpu"` (the default, a tiny
    CNN on 64-px images, minutes on two CPU cores) or `"paper"` (the
    models' own defaults: VGG-19 at 448 px for RRA). A setting of another
    model than the chosen one is refused unless it has that model's default
    value (older run folders list every model's settings). In a file, `null`
    means the default.

    Coarse2Fine trains `stage1_epochs` epochs of stage 1 and then
    `stage2_epochs` of stage 2; `epochs` is their sum. Give both, or one of
    them and `epochs`, or neither (the first half of `epochs`, rounded up,
    is stage 1). `dataset="synthetic:hard"` and `"synthetic:plain"` set `input_size`
    to twice `image_size` unless it is given, `"synthetic:distractors"` and
    `"synthetic:faint"` to three times (`keras_rra.data.synthetic.SOURCE_SCALE`).

    Example:

    >>> config = TrainConfig(model="rra", timesteps=4, epochs=2)
    >>> config.lstm_units, TrainConfig(preset="paper").lstm_units
    (128, 512)
    """

    def __init__(self, **values):
        given = {}
        for key, value in values.items():
            name = str(key).replace("-", "_")
            name = RENAMED.get(name, name)
            given[name] = value
        unknown = sorted(set(given) - set(run_settings()))
        if unknown:
            raise ValueError(
                f"unknown setting(s) {', '.join(unknown)}. Known settings: "
                f"{', '.join(run_settings())}."
            )
        object.__setattr__(self, "_given", given)
        object.__setattr__(self, "_values", {})
        self._resolve()

    def _resolve(self):
        given = dict(self._given)
        model = MODEL.check(given.get("model", MODEL.default))
        preset = PRESET.check(given.get("preset", PRESET.default))
        values = {"model": model, "preset": preset}
        chosen = MODEL_SETTINGS[model]
        for name, (setting, owners) in run_settings().items():
            if name in values:
                continue
            value = given.get(name)
            if owners:
                owner = model if model in owners else owners[0]
                default = model_default(owner, name, preset)
                setting = MODEL_SETTINGS[owner][name]
                if name in given and name not in chosen:
                    # Another model's setting: harmless at its default.
                    if value is not None and setting.check(value) != default:
                        raise ValueError(
                            f"`{name}` is a setting of {' and '.join(owners)}; "
                            f"model {model!r} does not take it (received "
                            f"{name}={value!r})."
                        )
                    value = None
            else:
                default = setting.default
            if value is None and not setting.optional:
                value = default
            elif name not in given:
                value = default
            values[name] = setting.check(value)
        self._values.clear()
        self._values.update(values)

    def __getattr__(self, name):
        values = self.__dict__.get("_values", {})
        if name in values:
            return values[name]
        raise AttributeError(f"TrainConfig has no setting {name!r}.")

    def __setattr__(self, name, value):
        if name not in self._values:
            raise AttributeError(f"TrainConfig has no setting {name!r}.")
        self._values[name] = value

    def __eq__(self, other):
        return isinstance(other, TrainConfig) and self.to_dict() == other.to_dict()

    def __repr__(self):
        shown = ", ".join(f"{k}={v!r}" for k, v in self.to_dict().items())
        return f"TrainConfig({shown})"

    @classmethod
    def keys(cls):
        return list(run_settings())

    def boxes_per_image(self):
        """K, the candidate boxes the data gives each image for
        `patch="boxes"`: `num_boxes`, or one when it is None (the model then
        takes any K)."""
        return self.num_boxes or 1

    def model_settings(self):
        """`{name: value}` of the chosen model's settings: the keyword
        arguments of its constructor."""
        return {name: self._values[name] for name in MODEL_SETTINGS[self.model].names()}

    @classmethod
    def from_dict(cls, values, source="config"):
        """Builds a config from a dict; keys may use `-` or `_`."""
        if not isinstance(values, dict):
            raise ValueError(
                f"{source}: expected a mapping of settings; received "
                f"{type(values).__name__}."
            )
        normalised = {
            RENAMED.get(k, k): v
            for k, v in ((str(key).replace("-", "_"), v) for key, v in values.items())
        }
        _check_stage_sum(normalised, source)
        try:
            config = cls(**normalised)
            config.validate()
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        return config

    @classmethod
    def from_file(cls, path):
        """Reads a JSON or YAML file with the same keys as the CLI flags."""
        return cls.from_dict(cls.read_file(path), source=path)

    @staticmethod
    def read_file(path):
        """The settings a JSON or YAML config file gives, as a dict (keys
        as written, `-` or `_`)."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"Config file {path!r} does not exist.")
        with open(path, encoding="utf-8") as file:
            text = file.read()
        try:
            if path.endswith(".json"):
                values = json.loads(text)
            else:
                values = yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise ValueError(f"Config file {path!r} is not valid: {error}") from None
        if values is not None and not isinstance(values, dict):
            raise ValueError(
                f"{path}: expected a mapping of settings; received "
                f"{type(values).__name__}."
            )
        return {
            RENAMED.get(name, name): value
            for name, value in (
                (str(key).replace("-", "_"), value)
                for key, value in (values or {}).items()
            )
        }

    def replace(self, **changes):
        """A copy with `changes`. For Coarse2Fine, a change of `epochs`
        alone moves the end of stage 2; a change of a stage moves `epochs`."""
        changes = {RENAMED.get(k, k): v for k, v in changes.items()}
        stage_change = {"stage1_epochs", "stage2_epochs"} & set(changes)
        _check_stage_sum(changes, "settings")
        given = self.to_dict()
        if changes.get("model", self.model) != "coarse2fine" and not stage_change:
            changes.update(stage1_epochs=None, stage2_epochs=None)
        if "epochs" in changes and not stage_change:
            if self.stage1_epochs is not None:
                changes["stage2_epochs"] = None
        if "model" in changes or "preset" in changes:
            # Model settings follow the new model's (or preset's) defaults
            # unless they were changed from the old ones.
            for name in list(given):
                owners = run_settings()[name][1]
                if owners and name not in changes:
                    owner = self.model if self.model in owners else owners[0]
                    if given[name] == model_default(owner, name, self.preset):
                        del given[name]
        config = TrainConfig(**{**given, **changes})
        config.validate()
        return config

    def to_dict(self):
        """The run's settings: the chosen model's, the data's, training's."""
        chosen = MODEL_SETTINGS[self.model]
        return {
            name: self._values[name]
            for name, (_, owners) in run_settings().items()
            if not owners or name in chosen
        }

    def with_resolved_paths(self):
        """A copy whose dataset folder, data folder, boxes files, cache folder
        and output are absolute paths: a saved config then works from any
        working directory."""
        changes = {}
        kind, location = parse_name(self.dataset, self.data_dir)
        if kind in FILE_DATASETS and ":" in self.dataset:
            changes["dataset"] = f"{kind}:{os.path.abspath(location)}"
        for name in ("data_dir", "output", "tensorboard"):
            if getattr(self, name) is not None:
                changes[name] = os.path.abspath(os.path.expanduser(getattr(self, name)))
        if self.boxes not in (None, "part", "object"):
            changes["boxes"] = os.path.abspath(os.path.expanduser(self.boxes))
        if self.part_boxes is not None:
            changes["part_boxes"] = os.path.abspath(os.path.expanduser(self.part_boxes))
        if self.cache not in (None, "memory"):
            changes["cache"] = os.path.abspath(os.path.expanduser(self.cache))
        return self.replace(**changes) if changes else self

    def validate(self):
        """Checks the rules that join several settings; raises ValueError
        naming the first broken one."""
        kind, _ = parse_name(self.dataset, self.data_dir)
        if self.init_from is not None and not os.path.isfile(self.init_from):
            raise FileNotFoundError(
                f"`init_from` {self.init_from!r} does not exist: name a .keras "
                "classifier to start from."
            )
        side = smaller_side(self.image_size)
        if self.resize_size is not None and self.resize_size < side:
            raise ValueError(
                f"`resize_size` must be >= {side} (image_size); "
                f"received resize_size={self.resize_size}."
            )
        if self.part_boxes is not None:
            if kind == "synthetic":
                raise ValueError(
                    f"part_boxes is for datasets that do not know their part "
                    f"boxes; {self.dataset!r} scores the region a model looks "
                    "at against its own."
                )
        if self.model == "rra" and self.patch == "boxes":
            if kind != "synthetic" and self.boxes is None:
                raise ValueError(
                    f"patch='boxes' needs boxes for dataset {self.dataset!r}: "
                    "--boxes object (the dataset's object boxes) or --boxes FILE.csv."
                )
        if self.warmup_epochs and self.schedule != "cosine":
            raise ValueError(
                f"warmup_epochs={self.warmup_epochs} applies to schedule='cosine' "
                f"only; received schedule={self.schedule!r}."
            )
        if self.global_learning_rate is not None and self.optimizer != "sgd":
            raise ValueError(
                "`global_learning_rate` needs optimizer='sgd' (the reference "
                f"recipe); received optimizer={self.optimizer!r}."
            )
        if kind == "synthetic" and self.input_size is None:
            # The presets with a small part are drawn to be read at a few
            # times the global view's resolution.
            scale = synthetic.SOURCE_SCALE.get(self.dataset.partition(":")[2], 1)
            if scale > 1:
                self.input_size = scale * smaller_side(self.image_size)
        chooses = [
            flag
            for flag, on in (
                ("--early-stopping", self.early_stopping),
                ("--keep best", self.keep == "best"),
            )
            if on
        ]
        if chooses and not self.validation_fraction:
            verb = "chooses" if len(chooses) == 1 else "choose"
            raise ValueError(
                f"{' and '.join(chooses)} {verb} on a validation split: set "
                "validation_fraction (--validation-fraction 0.1, say); the test "
                "split is never used to choose."
            )
        if chooses and self.validation_freq != 1:
            verb = "needs" if len(chooses) == 1 else "need"
            raise ValueError(
                f"{' and '.join(chooses)} {verb} the validation split every "
                f"epoch; received validation_freq={self.validation_freq}."
            )
        self._resolve_stages()
        if self.model != "baseline" and self.max_zoom_extent <= self.min_zoom_extent:
            raise ValueError(
                f"`max_zoom_extent` ({self.max_zoom_extent}) must be larger than "
                f"`min_zoom_extent` ({self.min_zoom_extent})."
            )
        source_size = smaller_side(self.input_size or self.image_size)
        if self.model == "rra" and smaller_side(self.patch_size) > source_size:
            raise ValueError(
                f"patch_size={self.patch_size} is larger than the image the patch "
                f"is cut from ({source_size}; image_size={self.image_size}, "
                f"input_size={self.input_size})."
            )

    def _resolve_stages(self):
        """Fills in Coarse2Fine's stage lengths; `epochs` is their sum."""
        stages = (self.stage1_epochs, self.stage2_epochs)
        if self.model != "coarse2fine":
            if any(value is not None for value in stages):
                raise ValueError(
                    "stage1_epochs and stage2_epochs apply to model='coarse2fine' "
                    f"only; received model={self.model!r}."
                )
            return
        first, second = stages
        if first is None and second is None:
            first = (self.epochs + 1) // 2
        elif first is None:
            first = self.epochs - second
        if second is None:
            second = self.epochs - first
        if first < 0 or second < 0 or first + second < 1:
            raise ValueError(
                f"The stages do not fit in epochs={self.epochs}: stage1_epochs="
                f"{self.stage1_epochs}, stage2_epochs={self.stage2_epochs}."
            )
        self.stage1_epochs, self.stage2_epochs = first, second
        self.epochs = first + second
