"""The examples of an image-file dataset (folders, CUB, Aircraft)."""

import dataclasses

import numpy as np

from keras_rra.data.bad_data import stop_on_problems
from keras_rra.data.image_scan import scan_images
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS


@dataclasses.dataclass
class FileExamples:
    """Image files with their labels, before any pixel is read.

    Args:
        paths: the image files.
        labels: int32 class index of each file.
        class_names: the dataset's class names, indexed by label.
        keys: each image's key in a boxes file (see `boxes_file`).
        pixel_boxes: optional `(N, 4)` object boxes in pixels of the stored
            file, as (y1, x1, y2, x2); normalised by `checked()`.
        crop_bottom: pixels cut off the bottom of every image (Aircraft's
            copyright banner).
        source: the dataset's name, for messages.
        problems: `(item, reason)` of what was left out so far, reported
            once by the loader.
        object_boxes: the normalised object boxes, set by `checked()`.
    """

    paths: list
    labels: np.ndarray
    class_names: list
    keys: list
    pixel_boxes: np.ndarray | None = None
    crop_bottom: int = 0
    source: str = ""
    problems: list = dataclasses.field(default_factory=list)
    object_boxes: np.ndarray | None = None

    def __len__(self):
        return len(self.paths)

    def select(self, keep):
        """The examples where the boolean mask `keep` is true."""
        keep = np.asarray(keep, dtype=bool)
        index = np.flatnonzero(keep)

        def pick(array):
            return None if array is None else np.asarray(array)[index]

        return dataclasses.replace(
            self,
            paths=[self.paths[i] for i in index],
            labels=np.asarray(self.labels, "int32")[index],
            keys=[self.keys[i] for i in index],
            pixel_boxes=pick(self.pixel_boxes),
            object_boxes=pick(self.object_boxes),
        )

    def checked(self, on_bad_image, max_image_pixels=MAX_IMAGE_PIXELS):
        """Reads every file once; leaves out (or stops at) the bad ones.

        Object boxes in pixels become normalised boxes of the image as the
        pipeline presents it (after `crop_bottom`), clipped to [0, 1].
        """
        results = scan_images(self.paths, max_pixels=max_image_pixels)
        problems = []
        sizes = np.zeros((len(self), 2), "float32")
        for index, (size, reason) in enumerate(results):
            if size is not None and size[0] <= self.crop_bottom:
                size, reason = (
                    None,
                    (
                        f"{size[0]} pixels high, not more than the "
                        f"{self.crop_bottom}-pixel banner to crop off"
                    ),
                )
            if size is None:
                problems.append((self.paths[index], reason))
            else:
                sizes[index] = size
        problems = stop_on_problems(problems, on_bad_image, self.source)
        good = sizes[:, 0] > 0
        examples = self.select(good)
        examples.problems = self.problems + problems
        if self.pixel_boxes is not None:
            height = sizes[good, 0] - self.crop_bottom
            width = sizes[good, 1]
            scale = np.stack([height, width, height, width], axis=1)
            boxes = np.clip(examples.pixel_boxes / scale, 0.0, 1.0)
            examples = dataclasses.replace(
                examples, object_boxes=boxes.astype("float32")
            )
        return examples
