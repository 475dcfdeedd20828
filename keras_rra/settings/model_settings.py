"""The settings of each model: the constructors' arguments, declared once.

`RRAClassifier`, `Coarse2FineClassifier` and `BaselineClassifier` take
these as keyword arguments with these defaults (a test checks their
signatures against this file), and `keras-rra train` and config files take
them under the same names. Nothing here imports TensorFlow, so the CLI
builds its flags at once.
"""

from keras_rra.settings.search_range import SearchRange
from keras_rra.settings.setting import Setting
from keras_rra.settings.setting_group import SettingGroup

# The names `keras_rra.models.build_backbone` knows (a test keeps the two
# lists equal).
BACKBONE_NAMES = (
    "convnextsmall",
    "convnexttiny",
    "densenet121",
    "densenet169",
    "efficientnetb0",
    "efficientnetb3",
    "efficientnetv2b0",
    "inceptionv3",
    "mobilenetv2",
    "mobilenetv3large",
    "mobilenetv3small",
    "resnet101",
    "resnet152",
    "resnet50",
    "resnet50v2",
    "tiny",
    "vgg16",
    "vgg19",
)
PATCH_SOURCES = ("navigator", "center", "boxes", "saliency", "activation")
EVAL_BOXES = ("first", "mean")
GLOBAL_LOSSES = ("joint", "separate")
PART_POOLINGS = ("mean", "attention")
FINE_INPUTS = ("navigator", "zoom", "mask")

# Constructor arguments that are not settings, and why: they come from the
# data or the run, or are Python objects.
NOT_SETTINGS = {
    "num_classes": "the dataset's number of classes",
    "class_names": "the dataset's class names",
    "image_converter": "the dataset's evaluation resize and crop",
    "local_backbone": "a keras.Model, from Python only",
    "stage": "set by two-stage training (stage1_epochs, stage2_epochs)",
    "seed": "the run's --seed",
}

BACKBONE = Setting(
    "backbone",
    "str",
    "resnet50",
    "backbone name (a keras.Model in Python)",
    choices=BACKBONE_NAMES,
)
WEIGHTS = Setting(
    "weights",
    "str",
    None,
    "backbone weights: imagenet or a weights file",
    optional=True,
)
IMAGE_SIZE = Setting(
    "image_size", "size", 448, "side of the image the global view sees", minimum=1
)
INPUT_SIZE = Setting(
    "input_size",
    "size",
    None,
    "side of the input images (none: image_size)",
    minimum=1,
    optional=True,
)
DROPOUT = Setting(
    "dropout",
    "float",
    0.0,
    "dropout before the classifiers",
    minimum=0,
    below=1,
    search=SearchRange(values=(0.0, 0.25, 0.5)),
)
DECODER_FILTERS = Setting(
    "decoder_filters", "int", 64, "channels of the inverse mapping", minimum=1
)
MIN_ZOOM_EXTENT = Setting(
    "min_zoom_extent",
    "float",
    0.1,
    "smallest saliency box side, relative to the image",
    above=0,
    maximum=1,
)
MAX_ZOOM_EXTENT = Setting(
    "max_zoom_extent",
    "float",
    1.0,
    "side a saliency box tends to at most, relative to the image",
    above=0,
    maximum=1,
)
AREA_WEIGHT = Setting(
    "area_weight",
    "float",
    0.0,
    "weight of the saliency map's mean in the loss",
    minimum=0,
)
NUM_PARTS = Setting(
    "num_parts",
    "int",
    1,
    "navigator: parts (boxes) looked at per image",
    minimum=1,
    search=SearchRange(low=1, high=3),
)
ANCHOR_SIZES = Setting(
    "anchor_sizes",
    "fractions",
    [0.25],
    "navigator: candidate box sides relative to the image, e.g. 0.25",
)
ANCHOR_DENSITY = Setting(
    "anchor_density",
    "int",
    1,
    "navigator: candidate box centres per global feature-map cell along "
    "each side (2: a grid twice as fine)",
    minimum=1,
)
RANKING_WEIGHT = Setting(
    "ranking_weight",
    "float",
    1.0,
    "navigator: weight of its ranking loss",
    minimum=0,
    search=SearchRange(low=0.1, high=10.0, log=True),
)
EXPLORATION = Setting(
    "exploration",
    "float",
    0.0,
    "navigator: Gumbel noise on its scores while training (0: the local "
    "stream trains where it will look)",
    minimum=0,
    search=SearchRange(low=0.0, high=2.0),
)

TEACHERS = ("own", "shared")
TEACHER = Setting(
    "teacher",
    "str",
    "shared",
    "navigator: the teacher's backbone: own (its own weights) or shared "
    "(the patch stream's)",
    choices=TEACHERS,
)


def _navigator(setting, switch):
    """A navigator setting, searched only when `switch` chooses the
    navigator (`patch` for RRA, `fine_input` for Coarse2Fine)."""
    return setting.with_search(when=(switch, ("navigator",)))


POOLINGS = ("avg", "max")

BASELINE_SETTINGS = SettingGroup(
    "baseline",
    [
        BACKBONE,
        IMAGE_SIZE,
        INPUT_SIZE,
        WEIGHTS,
        DROPOUT,
        Setting(
            "pooling",
            "str",
            "avg",
            "global pooling of the feature map: avg, or max (a small part's "
            "evidence is not divided by the image's area)",
            choices=POOLINGS,
        ),
    ],
)

RRA_SETTINGS = SettingGroup(
    "rra",
    [
        BACKBONE.with_default("vgg19"),
        IMAGE_SIZE,
        Setting(
            "patch_size",
            "size",
            224,
            "side of the local stream's patch",
            minimum=1,
            search=SearchRange(
                values=(0.25, 0.375, 0.5, 0.75), relative_to="image_size"
            ),
        ),
        INPUT_SIZE,
        WEIGHTS,
        Setting(
            "timesteps",
            "int",
            10,
            "refinement steps T",
            minimum=1,
            search=SearchRange(low=1, high=10),
        ),
        Setting(
            "lstm_units",
            "int",
            512,
            "units of each LSTM",
            minimum=1,
            search=SearchRange(values=(64, 128, 256, 512)),
        ),
        Setting(
            "lstm_layers",
            "int",
            2,
            "stacked LSTMs",
            minimum=1,
            search=SearchRange(low=1, high=3),
        ),
        Setting(
            "local_pooling",
            "str",
            "avg",
            "pooling of the patch's feature map: avg (the paper's) or max",
            choices=POOLINGS,
        ),
        Setting(
            "addon_channels",
            "int",
            1024,
            "channels of the global add-on convolutions",
            minimum=1,
        ),
        Setting(
            "local_weight",
            "float",
            1.0,
            "weight λ of the local stream",
            minimum=0,
            search=SearchRange(low=0.25, high=4.0, log=True),
        ),
        Setting(
            "global_loss",
            "str",
            "joint",
            "joint: CE of the summed logits; separate: the paper's CE of the "
            "global logits",
            choices=GLOBAL_LOSSES,
        ),
        Setting(
            "patch",
            "str",
            "navigator",
            "where the local stream looks (navigator: learned from labels)",
            choices=PATCH_SOURCES,
        ),
        Setting(
            "center_fraction",
            "float",
            0.5,
            "side of the centred or activation-peak patch, relative",
            above=0,
            maximum=1,
            search=SearchRange(
                low=0.25, high=0.75, when=("patch", ("center", "activation"))
            ),
        ),
        Setting(
            "num_boxes",
            "int",
            None,
            "patch=boxes: candidate boxes K per image (none: any K; data gives 1)",
            minimum=1,
            optional=True,
        ),
        Setting(
            "eval_boxes",
            "str",
            "first",
            "patch=boxes at inference: the first box or the mean over boxes",
            choices=EVAL_BOXES,
        ),
        DECODER_FILTERS,
        MIN_ZOOM_EXTENT,
        MAX_ZOOM_EXTENT.with_default(0.5),
        AREA_WEIGHT,
        _navigator(NUM_PARTS.with_default(2).with_search(high=2), "patch"),
        Setting(
            "part_pooling",
            "str",
            "mean",
            "navigator: how the parts' local logits are combined (mean; "
            "attention: weights learned from each patch)",
            choices=PART_POOLINGS,
        ),
        ANCHOR_SIZES,
        ANCHOR_DENSITY,
        _navigator(RANKING_WEIGHT, "patch"),
        _navigator(EXPLORATION, "patch"),
        TEACHER,
        DROPOUT,
    ],
)

COARSE2FINE_SETTINGS = SettingGroup(
    "coarse2fine",
    [
        BACKBONE,
        IMAGE_SIZE,
        INPUT_SIZE,
        WEIGHTS,
        Setting(
            "num_attention_maps",
            "int",
            32,
            "attention maps M",
            minimum=1,
            search=SearchRange(values=(4, 8, 16, 32)),
        ),
        Setting(
            "orthogonal_attention",
            "bool",
            True,
            "orthonormal initial attention kernel",
        ),
        Setting("signed_sqrt", "bool", False, "signed square root of pooled features"),
        Setting("l2_normalize", "bool", False, "L2-normalise pooled features"),
        DECODER_FILTERS,
        Setting(
            "fine_input",
            "str",
            "navigator",
            "where the fine pass looks",
            choices=FINE_INPUTS,
        ),
        MIN_ZOOM_EXTENT,
        MAX_ZOOM_EXTENT,
        AREA_WEIGHT,
        _navigator(NUM_PARTS.with_default(2), "fine_input"),
        ANCHOR_SIZES.with_default([0.5]),
        ANCHOR_DENSITY,
        _navigator(RANKING_WEIGHT, "fine_input"),
        _navigator(EXPLORATION, "fine_input"),
        TEACHER,
        DROPOUT,
    ],
)

MODEL_SETTINGS = {
    "rra": RRA_SETTINGS,
    "baseline": BASELINE_SETTINGS,
    "coarse2fine": COARSE2FINE_SETTINGS,
}
MODELS = tuple(MODEL_SETTINGS)

MODEL = Setting("model", "str", "rra", "the model to train", choices=MODELS)
