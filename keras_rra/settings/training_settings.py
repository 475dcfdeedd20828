"""The settings of training: optimiser, schedule, stages and runtime."""

from keras_rra.settings.search_range import SearchRange
from keras_rra.settings.setting import Setting
from keras_rra.settings.setting_group import SettingGroup

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("constant", "step", "cosine")
STRATEGIES = ("auto", "default", "mirrored", "multiworker", "tpu")
JIT_MODES = ("auto", "on", "off")
MIXED_PRECISION = ("float32", "mixed_float16", "mixed_bfloat16")

TRAINING_SETTINGS = SettingGroup(
    "training",
    [
        Setting("epochs", "int", 15, "training epochs", minimum=1, resumable=True),
        Setting(
            "init_from",
            "str",
            None,
            "a .keras classifier to start from (fine-tuning): its model settings "
            "unless given, and every weight that fits; with another class count "
            "the classification heads start afresh and the backbones are kept",
            optional=True,
        ),
        Setting(
            "stage1_epochs",
            "int",
            None,
            "Coarse2Fine: epochs of stage 1 (none: half of epochs)",
            minimum=0,
            optional=True,
            search=SearchRange(
                values=(0.25, 0.5, 0.75), relative_to="epochs", models=("coarse2fine",)
            ),
        ),
        Setting(
            "stage2_epochs",
            "int",
            None,
            "Coarse2Fine: epochs of stage 2 (none: the rest of epochs)",
            minimum=0,
            optional=True,
            resumable=True,
        ),
        Setting(
            "validation_freq",
            "int",
            1,
            "evaluate the test split every N epochs (0: never)",
            minimum=0,
            resumable=True,
        ),
        Setting("batch_size", "int", 32, "examples per batch", minimum=1),
        Setting("optimizer", "str", "adam", "optimiser", choices=OPTIMIZERS),
        Setting(
            "learning_rate",
            "float",
            1e-3,
            "learning rate",
            above=0,
            search=SearchRange(low=1e-4, high=1e-2, log=True),
        ),
        Setting(
            "weight_decay",
            "float",
            0.0,
            "weight decay",
            minimum=0,
            search=SearchRange(values=(0.0, 1e-5, 1e-4, 5e-4)),
        ),
        Setting("momentum", "float", 0.9, "SGD momentum", minimum=0, below=1),
        Setting("schedule", "str", "constant", "learning rate", choices=SCHEDULES),
        Setting(
            "decay_epochs",
            "epochs",
            [30, 60],
            "epochs of the step decay, e.g. 30,60",
        ),
        Setting(
            "decay_factor", "float", 0.1, "factor of each step decay", above=0, below=1
        ),
        Setting(
            "warmup_epochs",
            "int",
            0,
            "linear warm-up epochs of the cosine schedule",
            minimum=0,
        ),
        Setting(
            "global_learning_rate",
            "float",
            None,
            "SGD: the global stream's own base rate (none: learning_rate)",
            above=0,
            optional=True,
        ),
        Setting(
            "clip_norm",
            "float",
            None,
            "clip gradients to this global norm (none: no clipping)",
            above=0,
            optional=True,
        ),
        Setting(
            "early_stopping",
            "int",
            None,
            "stop after this many epochs without a lower validation loss (needs "
            "validation_fraction; none: never)",
            minimum=1,
            optional=True,
            resumable=True,
        ),
        Setting(
            "keep",
            "str",
            "last",
            "model.keras holds the last epoch's weights or the best on the "
            "validation split (best needs validation_fraction)",
            choices=("last", "best"),
        ),
        Setting(
            "tensorboard",
            "str",
            None,
            "write TensorBoard logs to this folder (none: no logs)",
            optional=True,
            resumable=True,
        ),
        Setting(
            "strategy",
            "str",
            "auto",
            "tf.distribute strategy (multiworker reads TF_CONFIG)",
            choices=STRATEGIES,
            resumable=True,
        ),
        Setting(
            "jit_compile",
            "str",
            "auto",
            "XLA: auto (accelerators only), on or off",
            choices=JIT_MODES,
            resumable=True,
        ),
        Setting(
            "mixed_precision",
            "str",
            None,
            "precision policy (none: float32)",
            choices=MIXED_PRECISION,
            optional=True,
        ),
        Setting(
            "checkpoint_every",
            "int",
            0,
            "checkpoint every N steps too (0: per epoch)",
            minimum=0,
            resumable=True,
        ),
        Setting(
            "connect_timeout",
            "float",
            120.0,
            "seconds a multi-worker cluster may take to form",
            above=0,
            resumable=True,
        ),
        Setting(
            "seed", "int", 0, "random seed of data, initialisation and order", minimum=0
        ),
        Setting(
            "output",
            "str",
            None,
            "run folder (none: runs/<timestamp>)",
            optional=True,
            resumable=True,
        ),
    ],
)
