"""Every setting of a training run, resolved from defaults, a file and flags."""

import dataclasses
import json
import os

import yaml

from keras_rra.data.aircraft import LEVELS
from keras_rra.data.augmentation import PRESETS
from keras_rra.data.bad_data import ON_BAD_IMAGE
from keras_rra.data.loader import parse_name
from keras_rra.models.backbones import backbone_names
from keras_rra.models.coarse2fine_classifier import FINE_INPUTS
from keras_rra.models.rra_classifier import EVAL_BOXES
from keras_rra.models.rra_classifier import GLOBAL_LOSSES
from keras_rra.models.rra_classifier import PATCH_SOURCES
from keras_rra.training.schedules import SCHEDULES
from keras_rra.training.strategy import JIT_MODES
from keras_rra.training.strategy import STRATEGIES
from keras_rra.training.trainer import MIXED_PRECISION
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import check_fraction
from keras_rra.utils.validation import check_non_negative
from keras_rra.utils.validation import check_positive_int
from keras_rra.utils.validation import to_fractions

MODELS = ("rra", "baseline", "coarse2fine")
# Settings a resumed run may change: they move no weight and no data.
RESUMABLE_CHANGES = (
    "epochs",
    "stage2_epochs",
    "validation_freq",
    "on_bad_image",
    "cache",
    "data_dir",
    "strategy",
    "jit_compile",
    "checkpoint_every",
    "connect_timeout",
    "output",
)
OPTIMIZERS = ("adam", "adamw", "sgd")


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


@dataclasses.dataclass
class TrainConfig:
    """Settings of one training run; the defaults are the quick CPU run.

    `dataset`, `data_dir`, `augmentation`, `resize_size`, `boxes`,
    `on_bad_image`, `cache`, `split_fraction` and `aircraft_level` are the
    arguments of `keras_rra.data.load`; `num_classes`, `examples_per_class`
    and `test_examples_per_class` apply to `synthetic` only.

    The defaults train RRA with the `tiny` backbone on the built-in
    `synthetic` dataset in a few minutes on two CPU cores. For the paper's
    setting use `backbone="vgg19"`, `weights="imagenet"`, `image_size=448`,
    `patch_size=224`, `lstm_units=512`, `addon_channels=1024`,
    `optimizer="sgd"`, `learning_rate=1e-3`, `weight_decay=5e-4`,
    `schedule="step"` (decay ×0.1 at `decay_epochs` 30 and 60).

    `schedule`, `decay_epochs`, `decay_factor`, `warmup_epochs` (cosine
    only) set the learning rate over the epochs; `global_learning_rate`
    (SGD only) gives the global stream its own base rate, scheduled alike.
    `strategy`, `jit_compile`, `mixed_precision`, `clip_norm`,
    `checkpoint_every` and `connect_timeout` are the `Trainer`'s arguments.

    Coarse2Fine (`model="coarse2fine"`) trains `stage1_epochs` epochs of
    stage 1 and then `stage2_epochs` of stage 2; `epochs` is their sum.
    Give both, or one of them and `epochs`, or neither (the first half of
    `epochs`, rounded up, is stage 1). `attention_maps`,
    `orthogonal_attention`, `signed_sqrt`, `l2_normalize`, `fine_input` are
    its settings; `decoder_filters`, `min_zoom_extent`, `max_zoom_extent`
    (None: the model's default, 0.5 for RRA and 1.0 for Coarse2Fine) and
    `area_weight` apply to it and to RRA with `patch="saliency"`.
    `num_parts` (None: the model's default, 1 for RRA and 2 for
    Coarse2Fine), `anchor_sizes` (None: the model's default, [0.25] for RRA
    and [0.5] for Coarse2Fine), `ranking_weight` and `exploration` are the
    navigator's (RRA's `patch="navigator"`, Coarse2Fine's
    `fine_input="navigator"`, the defaults). `dataset="synthetic:hard"`
    sets `input_size` to twice `image_size` unless it is given.
    """

    model: str = "rra"
    dataset: str = "synthetic"
    data_dir: str | None = None
    augmentation: str | None = None
    resize_size: int | None = None
    boxes: str | None = None
    on_bad_image: str = "skip"
    cache: str | None = None
    split_fraction: float = 0.2
    aircraft_level: str = "variant"
    num_classes: int = 10
    examples_per_class: int = 300
    test_examples_per_class: int | None = None
    backbone: str = "tiny"
    weights: str | None = None
    image_size: int = 64
    input_size: int | None = None
    patch: str = "navigator"
    patch_size: int = 32
    center_fraction: float = 0.5
    num_boxes: int = 1
    eval_boxes: str = "first"
    attention_maps: int = 8
    orthogonal_attention: bool = True
    signed_sqrt: bool = False
    l2_normalize: bool = False
    fine_input: str = "navigator"
    decoder_filters: int = 32
    min_zoom_extent: float = 0.1
    max_zoom_extent: float | None = None
    area_weight: float = 0.0
    num_parts: int | None = None
    anchor_sizes: list[float] | None = None
    ranking_weight: float = 1.0
    exploration: float = 1.0
    stage1_epochs: int | None = None
    stage2_epochs: int | None = None
    timesteps: int = 10
    lstm_units: int = 128
    lstm_layers: int = 2
    addon_channels: int = 256
    local_weight: float = 1.0
    global_loss: str = "joint"
    dropout: float = 0.0
    epochs: int = 15
    validation_freq: int = 1
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9
    schedule: str = "constant"
    decay_epochs: list[int] = dataclasses.field(default_factory=lambda: [30, 60])
    decay_factor: float = 0.1
    warmup_epochs: int = 0
    global_learning_rate: float | None = None
    clip_norm: float | None = None
    strategy: str = "auto"
    jit_compile: str = "auto"
    mixed_precision: str | None = None
    checkpoint_every: int = 0
    connect_timeout: float = 120.0
    seed: int = 0
    output: str | None = None

    @classmethod
    def keys(cls):
        return [field.name for field in dataclasses.fields(cls)]

    @classmethod
    def from_dict(cls, values, source="config"):
        """Builds a config from a dict; keys may use `-` or `_`."""
        if not isinstance(values, dict):
            raise ValueError(
                f"{source}: expected a mapping of settings; received "
                f"{type(values).__name__}."
            )
        normalised = {
            str(key).replace("-", "_"): value for key, value in values.items()
        }
        unknown = sorted(set(normalised) - set(cls.keys()))
        if unknown:
            raise ValueError(
                f"{source}: unknown setting(s) {', '.join(unknown)}. Known settings: "
                f"{', '.join(cls.keys())}."
            )
        _check_stage_sum(normalised, source)
        config = cls(**normalised)
        config.validate()
        return config

    @classmethod
    def from_file(cls, path):
        """Reads a JSON or YAML file with the same keys as the CLI flags."""
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
        return cls.from_dict(values or {}, source=path)

    def replace(self, **changes):
        """A copy with `changes`. For Coarse2Fine, a change of `epochs`
        alone moves the end of stage 2; a change of a stage moves `epochs`."""
        changes = dict(changes)
        stage_change = {"stage1_epochs", "stage2_epochs"} & set(changes)
        _check_stage_sum(changes, "settings")
        if changes.get("model", self.model) != "coarse2fine" and not stage_change:
            changes.update(stage1_epochs=None, stage2_epochs=None)
        if "epochs" in changes and not stage_change:
            if self.stage1_epochs is not None:
                changes["stage2_epochs"] = None
        config = dataclasses.replace(self, **changes)
        config.validate()
        return config

    def to_dict(self):
        return dataclasses.asdict(self)

    def validate(self):
        """Raises ValueError naming the first bad setting."""
        check_choice("model", self.model, MODELS)
        kind, _ = parse_name(self.dataset, self.data_dir)
        if self.augmentation is not None:
            check_choice("augmentation", self.augmentation, PRESETS)
        check_choice("on_bad_image", self.on_bad_image, ON_BAD_IMAGE)
        check_choice("aircraft_level", self.aircraft_level, LEVELS)
        check_fraction("split_fraction", self.split_fraction)
        if self.resize_size is not None:
            check_positive_int("resize_size", self.resize_size, minimum=self.image_size)
        if self.model == "rra" and self.patch == "boxes":
            if kind != "synthetic" and self.boxes is None:
                raise ValueError(
                    f"patch='boxes' needs boxes for dataset {self.dataset!r}: "
                    "--boxes object (the dataset's object boxes) or --boxes FILE.csv."
                )
        check_choice("optimizer", self.optimizer, OPTIMIZERS)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_choice("strategy", self.strategy, STRATEGIES)
        check_choice("jit_compile", self.jit_compile, JIT_MODES)
        if self.mixed_precision is not None:
            check_choice("mixed_precision", self.mixed_precision, MIXED_PRECISION)
        if not isinstance(self.decay_epochs, (list, tuple)) or not all(
            isinstance(e, int) and not isinstance(e, bool) and e >= 1
            for e in self.decay_epochs
        ):
            raise ValueError(
                "`decay_epochs` must be a list of epochs >= 1 (e.g. [30, 60]); "
                f"received {self.decay_epochs!r}."
            )
        self.decay_epochs = sorted(self.decay_epochs)
        if not 0 < self.decay_factor < 1:
            raise ValueError(
                f"`decay_factor` must be in (0, 1); received {self.decay_factor}."
            )
        if self.warmup_epochs and self.schedule != "cosine":
            raise ValueError(
                f"warmup_epochs={self.warmup_epochs} applies to schedule='cosine' "
                f"only; received schedule={self.schedule!r}."
            )
        if self.global_learning_rate is not None:
            if self.optimizer != "sgd":
                raise ValueError(
                    "`global_learning_rate` needs optimizer='sgd' (the reference "
                    f"recipe); received optimizer={self.optimizer!r}."
                )
            if not self.global_learning_rate > 0:
                raise ValueError(
                    "`global_learning_rate` must be > 0; received "
                    f"{self.global_learning_rate}."
                )
        for name in ("clip_norm", "connect_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"`{name}` must be > 0; received {value}.")
        check_choice("patch", self.patch, PATCH_SOURCES)
        check_choice("global_loss", self.global_loss, GLOBAL_LOSSES)
        if kind == "synthetic" and self.dataset.endswith(":hard"):
            # The hard preset is drawn to be read at twice the global view.
            if self.input_size is None:
                self.input_size = 2 * self.image_size
        if self.anchor_sizes is not None:
            self.anchor_sizes = list(to_fractions("anchor_sizes", self.anchor_sizes))
        if self.num_parts is not None:
            check_positive_int("num_parts", self.num_parts)
        check_non_negative("ranking_weight", self.ranking_weight)
        check_non_negative("exploration", self.exploration)
        check_choice("fine_input", self.fine_input, FINE_INPUTS)
        self._resolve_stages()
        check_choice("eval_boxes", self.eval_boxes, EVAL_BOXES)
        if self.backbone not in backbone_names():
            raise ValueError(
                f"Unknown backbone {self.backbone!r}. Known backbones: "
                f"{', '.join(backbone_names())}."
            )
        for name in (
            "num_classes",
            "examples_per_class",
            "image_size",
            "patch_size",
            "num_boxes",
            "timesteps",
            "lstm_units",
            "lstm_layers",
            "addon_channels",
            "attention_maps",
            "decoder_filters",
            "epochs",
            "batch_size",
        ):
            check_positive_int(
                name, getattr(self, name), minimum=2 if name == "num_classes" else 1
            )
        check_fraction("center_fraction", self.center_fraction)
        check_fraction("min_zoom_extent", self.min_zoom_extent)
        if self.max_zoom_extent is not None and (
            check_fraction("max_zoom_extent", self.max_zoom_extent)
            <= self.min_zoom_extent
        ):
            raise ValueError(
                f"`max_zoom_extent` ({self.max_zoom_extent}) must be larger than "
                f"`min_zoom_extent` ({self.min_zoom_extent})."
            )
        check_non_negative("area_weight", self.area_weight)
        for name in ("orthogonal_attention", "signed_sqrt", "l2_normalize"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(
                    f"`{name}` must be true or false; received {getattr(self, name)!r}."
                )
        for name in ("validation_freq", "checkpoint_every", "warmup_epochs"):
            value = getattr(self, name)
            if isinstance(value, bool) or not (isinstance(value, int) and value >= 0):
                raise ValueError(
                    f"`{name}` must be an integer >= 0; received {value!r}."
                )
        if not self.learning_rate > 0:
            raise ValueError(
                f"`learning_rate` must be > 0; received {self.learning_rate}."
            )
        if not 0 <= self.dropout < 1:
            raise ValueError(f"`dropout` must be in [0, 1); received {self.dropout}.")
        source_size = self.input_size or self.image_size
        if self.model == "rra" and self.patch_size > source_size:
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
        for name, value in zip(("stage1_epochs", "stage2_epochs"), stages, strict=True):
            if value is not None:
                check_positive_int(name, value, minimum=0)
        check_positive_int("epochs", self.epochs)
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
