"""Where the navigator's teacher points, on a run's test split.

    python docs/scripts/teacher_localization.py RUN_DIR PART_BOXES.csv

RUN_DIR is a `keras-rra train` run of a model with a learned navigator
(RRA's default patch, Coarse2Fine's default fine input) on a dataset whose
part boxes PART_BOXES.csv gives (`--part-boxes`). Prints one JSON line: the
localisation scores (`keras_rra.training.localization`) of the teacher's
best box, the box the navigator learns to pick
(`FineGrainedClassifier.teacher_boxes`; `keras-rra train` and `evaluate`
report the same scores as `teacher_*` beside the navigator's own). The
teacher rates boxes on the true class, so it points only where the label
is known: in training and evaluation, never in prediction.
"""

import json
import os
import sys

import numpy as np


def main(run_dir, part_boxes):
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.localization import localization_scores
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    model_path = os.path.join(run_dir, "model.keras")
    model = load_classifier(model_path)
    config = load_run_config(model_path).replace(part_boxes=part_boxes)
    dataset, _ = load_split(config, "test", shuffle=False, part_boxes=True)
    chosen, parts = [], []
    for inputs, labels in dataset:
        chosen.append(model.teacher_boxes(inputs["images"], labels))
        parts.append(np.asarray(inputs["boxes"])[:, 0])
    scores = localization_scores(np.concatenate(chosen), np.concatenate(parts))
    print(json.dumps(scores, sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
