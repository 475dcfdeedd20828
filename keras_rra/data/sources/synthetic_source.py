import numpy as np
import tensorflow as tf

from keras_rra.data import synthetic
from keras_rra.data.boxes_file import join_boxes
from keras_rra.data.sources.data_source import DataSource
from keras_rra.data.sources.data_source import SourceExamples
from keras_rra.data.sources.data_source import identity
from keras_rra.settings.data_settings import SYNTHETIC_SETTINGS
from keras_rra.utils.validation import check_boxes


class SyntheticSource(DataSource):
    """The built-in synthetic datasets (`synthetic`, `synthetic:hard`),
    drawn in memory: no download, no file."""

    kind = "synthetic"
    settings = SYNTHETIC_SETTINGS

    def examples(self, request):
        settings = request.settings
        data = synthetic.generate(
            request.split,
            num_classes=settings["num_classes"],
            image_size=request.image_size,
            examples_per_class=settings["examples_per_class"],
            test_examples_per_class=settings["test_examples_per_class"],
            seed=request.seed,
            preset=request.location,
        )
        columns = {
            "image": data["images"],
            "label": np.asarray(data["labels"], "int32"),
        }
        problems = []
        if request.boxes == "part":
            candidates = synthetic.candidate_boxes(
                data["part_boxes"], num_boxes=request.num_boxes, seed=request.seed
            )
            columns["boxes"] = check_boxes(
                candidates, source=f"{request.name}/{request.split} candidate boxes"
            )
        elif request.box_table is not None:
            keys = [str(index) for index in range(len(columns["label"]))]
            table_boxes, found, problems = join_boxes(
                keys,
                request.box_table,
                request.boxes,
                request.on_bad_image,
                request.name,
            )
            columns = {key: value[found] for key, value in columns.items()}
            columns["boxes"] = table_boxes[found]
        examples = tf.data.Dataset.from_tensor_slices(columns)
        return SourceExamples(examples, data["class_names"], problems, identity)
