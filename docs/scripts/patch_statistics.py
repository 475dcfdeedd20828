"""What the part stream's moving statistics cost a trained navigator model.

    python docs/scripts/patch_statistics.py RUN_DIR [RUN_DIR ...]

Each RUN_DIR is a `keras-rra train` run of RRA with its learned navigator
on a built-in synthetic preset (`synthetic`, `synthetic:plain`, ...), whose
part boxes are generated with the images. Prints one JSON line per run:
the test top-1 of the whole model and of its part stream alone on boxes of
a quarter of the side centred on the true part, measured twice on the same
weights:

- `saved`: with the local backbone's moving batch-normalisation
  statistics as the run saved them;
- `calibrated`: after `RRAClassifier.calibrate_statistics` on the run's
  training split in order, what `keras-rra train` now does after training
  (`finish_training`).

The moving averages of training lag weights that are still changing, and
with the shared teacher they mix in the whole images it runs over; the
difference of the two readings is what they cost.
"""

import json
import os
import sys

import numpy as np

# Boxes of the navigator's default side, centred on the true part.
SIDE = 0.25
BATCH = 100


def centred_boxes(part_boxes, side=SIDE):
    centres = (part_boxes[:, :2] + part_boxes[:, 2:]) / 2
    centres = np.clip(centres, side / 2, 1 - side / 2)
    return np.concatenate([centres - side / 2, centres + side / 2], -1)[:, None]


def accuracies(model, images, labels, part_boxes):
    import keras

    boxes = centred_boxes(part_boxes).astype("float32")
    top1, part_top1 = [], []
    for start in range(0, len(images), BATCH):
        batch = slice(start, start + BATCH)
        logits = model.predict(images[batch], verbose=0)["logits"]
        top1.append(logits.argmax(-1) == labels[batch])
        part = model.part_logits(images[batch], boxes[batch], training=False)
        part_top1.append(keras.ops.convert_to_numpy(part).argmax(-1) == labels[batch])
    return {
        "top1": round(float(np.concatenate(top1).mean()), 3),
        "part_top1_on_centred_boxes": round(float(np.concatenate(part_top1).mean()), 3),
    }


def main(run_dir):
    from keras_rra.training.inference import load_classifier
    from keras_rra.training.localization import synthetic_split
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    model_path = os.path.join(run_dir, "model.keras")
    model = load_classifier(model_path)
    config = load_run_config(model_path)
    test = synthetic_split(config, "test")
    images = test["images"].astype("float32")
    saved = accuracies(model, images, test["labels"], test["part_boxes"])
    model.calibrate_statistics(load_split(config, "train", shuffle=False)[0])
    calibrated = accuracies(model, images, test["labels"], test["part_boxes"])
    record = {
        "run": run_dir,
        "dataset": config.dataset,
        "seed": config.seed,
        "num_parts": config.num_parts,
        "part_pooling": config.part_pooling,
        "saved": saved,
        "calibrated": calibrated,
    }
    print(json.dumps(record, sort_keys=True), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for run in sys.argv[1:]:
        if not os.path.isfile(os.path.join(run, "model.keras")):
            sys.exit(f"{run} is not a finished run: it has no model.keras.")
    for run in sys.argv[1:]:
        main(run)
