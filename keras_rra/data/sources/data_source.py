"""`DataSource`: one kind of dataset that `keras_rra.data.load` reads."""

import abc
import dataclasses

from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS
from keras_rra.settings.setting_group import SettingGroup


@dataclasses.dataclass
class SourceRequest:
    """What `load` asks a source for: one split, with its boxes.

    Args:
        name: the dataset name as the user wrote it (for messages).
        location: the folder or tfds name `parse_name` found.
        split: the split.
        boxes: None, `"part"`, `"object"` or a boxes file's path.
        box_table: the rows of that boxes file, or None.
        num_boxes: K, boxes per image.
        seed: the run's seed.
        on_bad_image: `"skip"` or `"error"`.
        image_size: the working size of the images.
        data_dir: the data folder (tfds).
        settings: the source's own settings (see `DataSource.settings`).
        max_image_pixels: the most pixels a file may declare before it is
            decoded (files only; tfds decodes its own records).
    """

    name: str
    location: str
    split: str
    boxes: object
    box_table: dict | None
    num_boxes: int
    seed: int
    on_bad_image: str
    image_size: int
    data_dir: str | None
    settings: dict
    max_image_pixels: int = MAX_IMAGE_PIXELS


@dataclasses.dataclass
class SourceExamples:
    """A source's answer: the examples before the input pipeline.

    Args:
        examples: a `tf.data.Dataset` of dicts (`image` or `path`, `label`,
            optional `boxes`).
        class_names: the dataset's class names.
        problems: `(item, reason)` of what was left out, reported once.
        load_example: maps an example to one with a decoded `image`.
        pipeline: extra arguments of `build_pipeline`.
    """

    examples: object
    class_names: list
    problems: list
    load_example: object
    pipeline: dict = dataclasses.field(default_factory=dict)


class DataSource(abc.ABC):
    """One kind of dataset: the settings it takes and how it lists examples.

    Subclasses set `kind` (what `parse_name` returns) and `settings` (a
    `SettingGroup` declared in `keras_rra.settings.data_settings`) and
    implement `examples(request)`. `keras_rra.data.sources.DATA_SOURCES`
    registers them; `load` passes each source its own settings only.
    """

    kind = None
    settings = SettingGroup("source", [])

    @abc.abstractmethod
    def examples(self, request):
        """The `SourceExamples` of `request` (a `SourceRequest`)."""


def identity(example):
    return example
