"""The settings of the data: which dataset, and how it is read and sized."""

from keras_rra.settings.setting import Setting
from keras_rra.settings.setting_group import SettingGroup

AUGMENTATIONS = ("paper", "standard")
ON_BAD_IMAGE = ("skip", "error")
AIRCRAFT_LEVELS = ("variant", "family", "manufacturer")

SPLIT_FRACTION = Setting(
    "split_fraction",
    "float",
    0.2,
    "test share of a folder without split folders",
    above=0,
    below=1,
)
AIRCRAFT_LEVEL = Setting(
    "aircraft_level",
    "str",
    "variant",
    "FGVC-Aircraft labels",
    choices=AIRCRAFT_LEVELS,
)

# The settings of each kind of data source (`keras_rra.data.sources`): a
# source takes its own only.
SYNTHETIC_SETTINGS = SettingGroup(
    "synthetic",
    [
        Setting(
            "num_classes", "int", 10, "classes of the synthetic dataset", minimum=2
        ),
        Setting(
            "examples_per_class",
            "int",
            300,
            "training images per class (synthetic)",
            minimum=1,
        ),
        Setting(
            "test_examples_per_class",
            "int",
            None,
            "test images per class (synthetic; none: a quarter of the training)",
            minimum=1,
            optional=True,
        ),
    ],
)
FOLDER_SETTINGS = SettingGroup("folder", [SPLIT_FRACTION])
CUB_SETTINGS = SettingGroup("cub", [])
AIRCRAFT_SETTINGS = SettingGroup("aircraft", [AIRCRAFT_LEVEL])
TFDS_SETTINGS = SettingGroup(
    "tfds",
    [
        Setting(
            "download",
            "bool",
            True,
            "tfds: download and prepare a dataset that is not in data_dir",
        ),
        Setting(
            "shuffle_buffer",
            "int",
            1024,
            "tfds: shuffle buffer, in examples",
            minimum=1,
        ),
    ],
)
SOURCE_SETTINGS = {
    "synthetic": SYNTHETIC_SETTINGS,
    "folder": FOLDER_SETTINGS,
    "cub": CUB_SETTINGS,
    "aircraft": AIRCRAFT_SETTINGS,
    "tfds": TFDS_SETTINGS,
}

# The most pixels an image file may declare in its header before it is
# decoded: 64 megapixels (an 8000 x 8000 photo) decode to 192 MB of RGB; a
# 1.2 MB PNG that declares 20000 x 20000 would take ~2 GB.
MAX_IMAGE_PIXELS = 64_000_000

# Settings of every dataset: which one, where, and how it is read.
COMMON_DATA_SETTINGS = SettingGroup(
    "data",
    [
        Setting(
            "max_image_pixels",
            "int",
            MAX_IMAGE_PIXELS,
            "the most pixels (width x height) an image file may declare in its "
            "header; a larger one is refused before it is decoded, in training "
            "data, predict, explain and the SavedModel's serving_default",
            minimum=1,
            resumable=True,
        ),
        Setting(
            "validation_fraction",
            "float",
            0.1,
            "share of the training split held out (seeded, at least one image) "
            "as the validation split that the learning curves, early stopping and "
            "--keep best watch (0: none; the test split is evaluated once, at "
            "the end, and never used to choose)",
            minimum=0,
            below=1,
        ),
        Setting(
            "dataset",
            "str",
            "synthetic",
            "synthetic, synthetic:hard, synthetic:plain, synthetic:distractors, "
            "synthetic:faint, folder:PATH, cub:PATH, aircraft:PATH or a tfds name "
            "(caltech_birds2011, stanford_dogs, cars196, ...)",
        ),
        Setting(
            "data_dir",
            "str",
            None,
            "tfds data folder, or the folder of folder/cub/aircraft",
            optional=True,
            resumable=True,
        ),
        Setting(
            "augmentation",
            "str",
            None,
            "paper (resize) or standard (crop and flip) (none: paper for "
            "synthetic, standard otherwise)",
            choices=AUGMENTATIONS,
            optional=True,
        ),
        Setting(
            "resize_size",
            "int",
            None,
            "shorter side before the standard crop (none: 256/224 of the size)",
            minimum=1,
            optional=True,
        ),
        Setting(
            "boxes",
            "str",
            None,
            "patch boxes for --patch boxes: object or a CSV file",
            optional=True,
        ),
        Setting(
            "part_boxes",
            "str",
            None,
            "a boxes CSV of each image's true part box (the --boxes format): "
            "train and evaluate score the region a model looks at against it "
            "(the synthetic datasets know their own)",
            optional=True,
            resumable=True,
        ),
        Setting(
            "on_bad_image",
            "str",
            "skip",
            "unreadable images: skip (with a warning) or error",
            choices=ON_BAD_IMAGE,
            resumable=True,
        ),
        Setting(
            "cache",
            "str",
            None,
            "cache decoded images: memory or a folder",
            optional=True,
            resumable=True,
        ),
    ],
)

DATA_SETTINGS = SettingGroup(
    "data",
    [
        *COMMON_DATA_SETTINGS,
        *(setting for group in SOURCE_SETTINGS.values() for setting in group),
    ],
)
