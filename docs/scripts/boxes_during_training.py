"""Draws how the navigator's box moves during training on part task a.

    python ../shared/part_tasks/write_part_task.py DIR
    python docs/scripts/boxes_during_training.py DIR FIGURE.png

Trains RRA as `keras-rra train --dataset folder:DIR --input-size 128
--image-size 64 --patch-size 48 --seed 0` does (the cpu preset, Adam 1e-3,
batch 32, 10 epochs, no validation split, no augmentation), and after every
epoch records the navigator's box on the test images: the share that holds
the part's centre, and the boxes of four test images.
"""

import csv
import os
import sys

import numpy as np
from PIL import Image

EPOCHS = 10
SHOWN_EPOCHS = (1, 2, 3, 5, 10)
SHOWN_IMAGES = 4


def load_split(root, split, boxes):
    classes = sorted(os.listdir(os.path.join(root, split)))
    images, labels, parts = [], [], []
    for index, name in enumerate(classes):
        for file in sorted(os.listdir(os.path.join(root, split, name))):
            key = f"{split}/{name}/{file}"
            images.append(
                np.asarray(Image.open(os.path.join(root, key)).convert("RGB"))
            )
            labels.append(index)
            parts.append(boxes[key])
    return np.stack(images).astype("float32"), np.array(labels), np.array(parts)


def main(root, output):
    import keras
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from keras_rra.models import RRAClassifier
    from keras_rra.training.seed import set_seed

    with open(os.path.join(root, "part_boxes.csv")) as file:
        boxes = {
            row["key"]: [float(row[k]) for k in ("y1", "x1", "y2", "x2")]
            for row in csv.DictReader(file)
        }
    train_x, train_y, _ = load_split(root, "train", boxes)
    test_x, test_y, test_parts = load_split(root, "test", boxes)
    set_seed(0)
    model = RRAClassifier(
        num_classes=len(np.unique(train_y)),
        backbone="tiny",
        image_size=64,
        input_size=train_x.shape[1],
        patch_size=48,
        lstm_units=128,
        local_pooling="max",
        addon_channels=256,
        seed=0,
    )
    model.compile()
    centres = (test_parts[:, :2] + test_parts[:, 2:]) / 2
    hit_rates, shown = [], {}

    def record(epoch, logs=None):
        chosen = model.predict(test_x, batch_size=100, verbose=0)["patch_boxes"][:, 0]
        inside = np.all((chosen[:, :2] <= centres) & (centres <= chosen[:, 2:]), 1)
        hit_rates.append(float(inside.mean()))
        if epoch + 1 in SHOWN_EPOCHS:
            shown[epoch + 1] = chosen[:SHOWN_IMAGES]
        print(f"epoch {epoch + 1}: part centre in box {hit_rates[-1]:.3f}", flush=True)

    model.fit(
        train_x,
        train_y,
        batch_size=32,
        epochs=EPOCHS,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=record)],
    )
    side = test_x.shape[1]
    figure, axes = plt.subplots(
        SHOWN_IMAGES, len(SHOWN_EPOCHS) + 1, figsize=(2.2 * (len(SHOWN_EPOCHS) + 1), 9)
    )
    for row in range(SHOWN_IMAGES):
        for column, epoch in enumerate(SHOWN_EPOCHS):
            axis = axes[row, column]
            axis.imshow(test_x[row].astype("uint8"))
            for box, colour in (
                (test_parts[row], "lime"),
                (shown[epoch][row], "orange"),
            ):
                y1, x1, y2, x2 = np.asarray(box) * side
                axis.add_patch(
                    plt.Rectangle(
                        (x1, y1), x2 - x1, y2 - y1, fill=False, color=colour, lw=2
                    )
                )
            axis.set_axis_off()
            if row == 0:
                axis.set_title(f"after epoch {epoch}")
        axes[row, -1].set_axis_off()
    curve = figure.add_subplot(1, len(SHOWN_EPOCHS) + 1, len(SHOWN_EPOCHS) + 1)
    curve.plot(range(1, EPOCHS + 1), hit_rates, marker="o")
    curve.set_xlabel("epoch")
    curve.set_ylabel("part centre in the navigator's box")
    curve.set_ylim(0, 1)
    figure.suptitle(
        "Task a, seed 0: the part box (green) and the navigator's box (orange)"
    )
    figure.tight_layout()
    figure.savefig(output, dpi=80)
    print("wrote", output, "hit rates", [round(rate, 3) for rate in hit_rates])


if __name__ == "__main__":
    main(*sys.argv[1:3])
