"""Where the navigator's teacher points with two readings of its class map.

    python docs/scripts/teacher_maps.py PART_BOXES.csv RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a `keras-rra train` run of RRA with its learned navigator
on a dataset whose part boxes PART_BOXES.csv gives. Prints one JSON line
per run: the share of test images whose part centre lies in

- `activation_map`, `peak_terms`: the teacher's best box (the anchor of
  most centred true-class evidence over its central square), rating the
  cells with the teacher's linear layer on each cell's own features (a
  class activation map) or with the terms of the max-pooled logit from
  the features that peak in each cell (what `navigator_losses` uses);
- `*_peak_anywhere`, `*_peak_in_box`: that box's size centred on the
  peak cell of the whole map, or on the peak cell within the box (the
  guided box);
- `navigator`: the box the navigator chooses at inference.

The teacher rates boxes on the true class, so it points only where the
label is known.
"""

import json
import os
import sys

import numpy as np


def best_boxes(evidence, anchor_pooling, anchors):
    box_evidence = np.asarray(anchor_pooling(evidence[..., None]))[..., 0]
    return anchors[np.round(box_evidence * 1e4).argmax(-1)]


def main(part_boxes, run_dir):
    from keras_rra.models.navigator_losses import centred_on_peak
    from keras_rra.models.navigator_losses import peak_terms
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.localization import chosen_boxes
    from keras_rra.training.localization import localization_scores
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    model_path = os.path.join(run_dir, "model.keras")
    model = load_classifier(model_path)
    config = load_run_config(model_path).replace(part_boxes=part_boxes)
    dataset, _ = load_split(config, "test", shuffle=False, part_boxes=True)
    anchors = model.navigator.anchors()
    kernel = np.asarray(model.part_teacher.kernel)
    # What every class's weights share says nothing about the class.
    kernel = kernel - kernel.mean(axis=1, keepdims=True)
    boxes, parts = {}, []
    for inputs, labels in dataset:
        images = inputs["images"]
        labels = np.asarray(labels).reshape(-1)
        features = np.asarray(model.teacher_backbone(images, training=False))
        maps = {
            "activation_map": features @ kernel,
            "peak_terms": np.asarray(peak_terms(features, kernel)),
        }
        for name, cells in maps.items():
            evidence = np.take_along_axis(cells, labels[:, None, None, None], -1)
            evidence = evidence[..., 0].astype("float32")
            best = best_boxes(evidence, model.anchor_pooling, anchors)
            # A box of no size holds no cell centre: its peak is searched
            # everywhere, and the box is given the best box's size here.
            anywhere = centred_on_peak(evidence[..., None], np.zeros_like(best))
            in_box = centred_on_peak(evidence[..., None], best)
            size = best[:, 2:] - best[:, :2]
            centre = (np.asarray(anywhere)[:, :2] + np.asarray(anywhere)[:, 2:]) / 2
            centre = np.clip(centre, size / 2, 1 - size / 2)
            anywhere = np.concatenate([centre - size / 2, centre + size / 2], -1)
            for key, value in [
                (name, best),
                (f"{name}_peak_anywhere", anywhere),
                (f"{name}_peak_in_box", np.asarray(in_box)),
            ]:
                boxes.setdefault(key, []).append(value)
        outputs = model(images, training=False)
        boxes.setdefault("navigator", []).append(chosen_boxes(outputs))
        parts.append(np.asarray(inputs["boxes"])[:, 0])
    parts = np.concatenate(parts)
    scores = {
        name: round(
            localization_scores(np.concatenate(chosen), parts)["part_centre_hit_rate"],
            3,
        )
        for name, chosen in boxes.items()
    }
    print(json.dumps({"run": run_dir, **scores}, sort_keys=True), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if not os.path.isfile(sys.argv[1]):
        sys.exit(f"{sys.argv[1]} does not exist: give the task's part_boxes.csv.")
    for run in sys.argv[2:]:
        if not os.path.isfile(os.path.join(run, "model.keras")):
            sys.exit(f"{run} is not a finished run: it has no model.keras.")
    for run in sys.argv[2:]:
        main(sys.argv[1], run)
