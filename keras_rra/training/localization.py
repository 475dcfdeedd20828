"""Where a model looks: its chosen boxes against the true part boxes.

The synthetic dataset knows, for every image, the box of the small part
that decides the class; for other data a boxes CSV can give it (the
`part_boxes` setting). A model that chooses a region of the image (RRA's
patch, Coarse2Fine's zoom box) is scored by how often that region contains
the part's centre and by its overlap (IoU) with the part box; a model with
a learned navigator also by where its teacher points (`teacher_` scores).
"""

import numpy as np

from keras_rra.data import synthetic
from keras_rra.data.loader import parse_name

# Outputs that hold the region a model chose, in order of preference.
BOX_OUTPUTS = ("zoom_box", "patch_boxes")


def chosen_boxes(outputs):
    """The `(N, 4)` region a model's outputs chose, or None if it chose none.

    `zoom_box` (Coarse2Fine) or the first of `patch_boxes` (RRA); with
    `part_weights` (`part_pooling="attention"`), the box of the largest
    weight, the one whose logits count most.
    """
    for name in BOX_OUTPUTS:
        if name in outputs:
            boxes = np.asarray(outputs[name], dtype="float32")
            if boxes.ndim == 2:
                return boxes
            first = np.zeros(len(boxes), "int64")
            if "part_weights" in outputs:
                first = np.argmax(np.asarray(outputs["part_weights"]), axis=-1)
            return boxes[np.arange(len(boxes)), first]
    return None


def box_iou(boxes, other):
    """Row-wise intersection over union of two `(N, 4)` arrays of boxes."""
    top_left = np.maximum(boxes[:, :2], other[:, :2])
    bottom_right = np.minimum(boxes[:, 2:], other[:, 2:])
    intersection = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)

    def area(b):
        return np.prod(b[:, 2:] - b[:, :2], axis=1)

    union = area(boxes) + area(other) - intersection
    return intersection / np.maximum(union, 1e-12)


def localization_scores(boxes, part_boxes):
    """Scores of chosen boxes against the true part boxes.

    Returns:
        A dict: `part_centre_hit_rate` (share of images whose box contains
        the part's centre), `mean_iou` with the part box, and
        `mean_box_area` (the boxes' mean share of the image: a hit rate is
        easy with boxes as large as the image).
    """
    boxes = np.asarray(boxes, dtype="float32")
    part_boxes = np.asarray(part_boxes, dtype="float32")
    if boxes.shape != part_boxes.shape or boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError(
            f"Expected two (N, 4) arrays of boxes; received {boxes.shape} and "
            f"{part_boxes.shape}."
        )
    centre = (part_boxes[:, :2] + part_boxes[:, 2:]) / 2
    inside = np.all((boxes[:, :2] <= centre) & (centre <= boxes[:, 2:]), axis=1)
    return {
        "part_centre_hit_rate": float(inside.mean()),
        "mean_iou": float(box_iou(boxes, part_boxes).mean()),
        "mean_box_area": float(np.prod(boxes[:, 2:] - boxes[:, :2], axis=1).mean()),
    }


def synthetic_split(config, split="test"):
    """The arrays of a synthetic split as `config` describes it (images,
    labels, part boxes), or None when its dataset is not `synthetic`."""
    kind, preset = parse_name(config.dataset, config.data_dir)
    if kind != "synthetic":
        return None
    return synthetic.generate(
        split,
        num_classes=config.num_classes,
        image_size=config.input_size or config.image_size,
        examples_per_class=config.examples_per_class,
        test_examples_per_class=config.test_examples_per_class,
        seed=config.seed,
        preset=preset,
    )


def synthetic_localization(model, config, split="test", batch_size=None):
    """Localisation scores of `model` on a split of the synthetic dataset.

    Args:
        model: a classifier of the package.
        config: the `TrainConfig` of the data (dataset `synthetic` or
            `synthetic:hard`).
        split: `"train"` or `"test"`.
        batch_size: of the predictions (default: the config's).

    Returns:
        The scores of `localization_scores`, with the teacher's
        (`teacher_scores`) for a model with a learned navigator, or None
        when the model chooses no region (the baseline) or the dataset is
        not `synthetic`.
    """
    if not any(name in model.output for name in BOX_OUTPUTS):
        return None
    data = synthetic_split(config, split)
    if data is None:
        return None
    images = data["images"].astype("float32")
    inputs = images
    if len(model.inputs) > 1:
        # Candidate boxes, as the data pipeline gives them (box supervision).
        inputs = {
            "images": images,
            "boxes": synthetic.candidate_boxes(
                data["part_boxes"],
                num_boxes=config.boxes_per_image(),
                seed=config.seed,
            ),
        }
    batch_size = batch_size or config.batch_size
    outputs = model.predict(inputs, batch_size=batch_size, verbose=0)
    scores = localization_scores(chosen_boxes(outputs), data["part_boxes"])
    if _has_teacher(model):
        teacher = [
            model.teacher_boxes(images[start : start + batch_size], labels)
            for start, labels in _batches(data["labels"], batch_size)
        ]
        scores.update(teacher_scores(np.concatenate(teacher), data["part_boxes"]))
    return scores


def _batches(labels, batch_size):
    for start in range(0, len(labels), batch_size):
        yield start, np.asarray(labels[start : start + batch_size])


def _has_teacher(model):
    return getattr(model, "part_teacher", None) is not None


def teacher_scores(boxes, part_boxes):
    """`localization_scores` of the boxes the navigator's teacher points at
    (`FineGrainedClassifier.teacher_boxes`), each name prefixed with
    `teacher_`."""
    return {
        f"teacher_{name}": value
        for name, value in localization_scores(boxes, part_boxes).items()
    }


def dataset_localization(model, dataset):
    """Localisation scores of `model` on a dataset that gives each image's
    true part box.

    Args:
        model: a classifier of the package with one input, the images.
        dataset: batches of `({"images": ..., "boxes": (batch, 1, 4)}, labels)`
            (see `keras_rra.training.run.load_split(..., part_boxes=True)`).

    Returns:
        The scores of `localization_scores`, with the teacher's
        (`teacher_scores`) for a model with a learned navigator, or None
        when the model chooses no region (the baseline).
    """
    if not any(name in model.output for name in BOX_OUTPUTS):
        return None
    chosen, parts, teacher = [], [], []
    for inputs, labels in dataset:
        outputs = model.predict_on_batch(inputs["images"])
        chosen.append(chosen_boxes(outputs))
        parts.append(np.asarray(inputs["boxes"], dtype="float32")[:, 0])
        if _has_teacher(model):
            teacher.append(model.teacher_boxes(inputs["images"], labels))
    parts = np.concatenate(parts)
    scores = localization_scores(np.concatenate(chosen), parts)
    if teacher:
        scores.update(teacher_scores(np.concatenate(teacher), parts))
    return scores
