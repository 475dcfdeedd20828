"""Named sets of model settings, declared once.

The models' own defaults are the papers' settings (`"paper"`). `"cpu"` is
the quick run on two CPU cores that `keras-rra train` starts with: a small
CNN on 64-px images. A preset only changes defaults; a setting given in a
config file or a flag wins.
"""

from keras_rra.settings.setting import Setting

PRESETS = {
    "cpu": {
        "backbone": "tiny",
        "image_size": 64,
        "patch_size": 32,
        "lstm_units": 128,
        # A patch of a small part keeps its evidence (task a: 0.598 top-1).
        "local_pooling": "max",
        "addon_channels": 256,
        "num_attention_maps": 8,
        "decoder_filters": 32,
    },
    "paper": {},
}
PRESET_NAMES = tuple(PRESETS)
PRESET = Setting(
    "preset",
    "str",
    "cpu",
    "defaults of the model settings: cpu (tiny CNN, 64 px) or paper (the models' own)",
    choices=PRESET_NAMES,
)
