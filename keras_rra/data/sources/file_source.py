import abc

import numpy as np
import tensorflow as tf

from keras_rra.data.boxes_file import join_boxes
from keras_rra.data.pipeline import decode_image_file
from keras_rra.data.sources.data_source import DataSource
from keras_rra.data.sources.data_source import SourceExamples


class FileSource(DataSource):
    """A dataset of image files (a folder, CUB, Aircraft): the files are
    listed (and checked) first, decoded in the input pipeline.

    Subclasses implement `list_files(request)`, returning `FileExamples`.
    """

    @abc.abstractmethod
    def list_files(self, request):
        """The `FileExamples` of `request`'s split."""

    def examples(self, request):
        files = self.list_files(request)
        source = request.name
        if request.boxes == "object" and files.pixel_boxes is None:
            raise ValueError(
                f"{source} has no object boxes (no boxes file in its folder)."
            )
        files = files.checked(request.on_bad_image, request.max_image_pixels)
        problems = files.problems
        box_column = None
        if request.boxes == "object":
            box_column = files.object_boxes[:, np.newaxis]
        elif request.box_table is not None:
            table_boxes, found, missing = join_boxes(
                files.keys,
                request.box_table,
                request.boxes,
                request.on_bad_image,
                source,
            )
            files, box_column, problems = (
                files.select(found),
                table_boxes[found],
                problems + missing,
            )
        columns = {"path": files.paths, "label": files.labels}
        if box_column is not None:
            columns["boxes"] = box_column
        crop_bottom = files.crop_bottom

        def load_example(example):
            image = decode_image_file(example.pop("path"), crop_bottom)
            return dict(example, image=image)

        examples = tf.data.Dataset.from_tensor_slices(columns)
        return SourceExamples(examples, files.class_names, problems, load_example)
