"""The pointing game (Zhang et al., 2016): does a heat map's maximum fall
inside the part that decides the class?

The synthetic dataset knows each image's part box, so an explanation gets a
number: the share of images whose map peaks inside it, next to a uniform
random point's chance (the part's mean share of the image).
"""

import numpy as np

from keras_rra.explain.model_explanations import timestep_gradcam
from keras_rra.training.localization import synthetic_split


def pointing_game(maps, part_boxes):
    """Share of `maps` `(N, H, W)` whose maximum lies inside its part box
    `(N, 4)`, normalised `(y1, x1, y2, x2)` (the pixel's centre counts)."""
    maps = np.asarray(maps, dtype="float32")
    part_boxes = np.asarray(part_boxes, dtype="float32")
    if maps.ndim != 3 or part_boxes.shape != (len(maps), 4):
        raise ValueError(
            f"Expected maps (N, H, W) and part boxes (N, 4); received {maps.shape} "
            f"and {part_boxes.shape}."
        )
    height, width = maps.shape[1:]
    flat = maps.reshape(len(maps), -1).argmax(axis=1)
    y = (flat // width + 0.5) / height
    x = (flat % width + 0.5) / width
    inside = (
        (part_boxes[:, 0] <= y)
        & (y <= part_boxes[:, 2])
        & (part_boxes[:, 1] <= x)
        & (x <= part_boxes[:, 3])
    )
    return float(inside.mean())


def random_pointing_game(part_boxes):
    """The hit rate a uniformly random point expects: the boxes' mean area."""
    part_boxes = np.asarray(part_boxes, dtype="float32")
    return float(np.prod(part_boxes[:, 2:] - part_boxes[:, :2], axis=1).mean())


def synthetic_pointing_game(model, config, split="test", batch_size=None):
    """The pointing game of a model's Grad-CAMs on a synthetic split.

    Returns:
        A dict with `global_cam` and, for RRA, `cam_t1` (the first
        refinement step) and `cam_tT` (the last), plus `uniform_random`;
        None when the dataset is not synthetic.
    """
    if len(model.inputs) > 1:
        # Models that take given boxes would be told where the part is.
        return None
    data = synthetic_split(config, split)
    if data is None:
        return None
    explanation = timestep_gradcam(
        model, data["images"], batch_size=batch_size or config.batch_size
    )
    boxes = data["part_boxes"]
    scores = {"global_cam": pointing_game(explanation["global_cam"], boxes)}
    if "timestep_cams" in explanation:
        cams = explanation["timestep_cams"]
        scores["cam_t1"] = pointing_game(cams[:, 0], boxes)
        scores["cam_tT"] = pointing_game(cams[:, -1], boxes)
    scores["uniform_random"] = random_pointing_game(boxes)
    return scores
