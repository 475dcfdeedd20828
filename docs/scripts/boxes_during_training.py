"""Draws how the navigator's boxes move during training on part task a.

    python ../shared/part_tasks/write_part_task.py DIR
    python docs/scripts/boxes_during_training.py DIR FIGURE.png

Trains RRA as `keras-rra train --dataset folder:DIR --input-size 128
--image-size 64 --patch-size 48 --seed 0` does (the cpu preset, Adam 1e-3,
batch 32, 10 epochs, no validation split, no augmentation), and after every
epoch records the navigator's two boxes on the test images: the share whose
best box holds the part's centre, the share where either box does, and the
boxes of four test images.
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
    hit_rates, either_rates, shown = [], [], {}

    def record(epoch, logs=None):
        chosen = model.predict(test_x, batch_size=100, verbose=0)["patch_boxes"]
        part = centres[:, None]
        inside = np.all((chosen[..., :2] <= part) & (part <= chosen[..., 2:]), -1)
        hit_rates.append(float(inside[:, 0].mean()))
        either_rates.append(float(inside.any(1).mean()))
        if epoch + 1 in SHOWN_EPOCHS:
            shown[epoch + 1] = chosen[:SHOWN_IMAGES]
        print(
            f"epoch {epoch + 1}: part centre in the best box {hit_rates[-1]:.3f}, "
            f"in either {either_rates[-1]:.3f}",
            flush=True,
        )

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
            # The part box the CSV gave (`boxes`), then the navigator's, best first.
            drawn = [(test_parts[row], "lime", "-")]
            drawn += [(shown[epoch][row][0], "orange", "-")]
            drawn += [(box, "yellow", "--") for box in shown[epoch][row][1:]]
            for box, colour, style in drawn:
                y1, x1, y2, x2 = np.asarray(box) * side
                axis.add_patch(
                    plt.Rectangle(
                        (x1, y1),
                        x2 - x1,
                        y2 - y1,
                        fill=False,
                        color=colour,
                        linestyle=style,
                        lw=2,
                    )
                )
            axis.set_axis_off()
            if row == 0:
                axis.set_title(f"after epoch {epoch}")
        axes[row, -1].set_axis_off()
    curve = figure.add_subplot(1, len(SHOWN_EPOCHS) + 1, len(SHOWN_EPOCHS) + 1)
    curve.plot(range(1, EPOCHS + 1), hit_rates, marker="o", label="best box")
    curve.plot(range(1, EPOCHS + 1), either_rates, marker="s", label="either box")
    curve.legend(loc="lower right")
    curve.set_xlabel("epoch")
    curve.set_ylabel("part centre in the navigator's boxes")
    curve.set_ylim(0, 1)
    figure.suptitle(
        "Task a, seed 0: the part box (green), the navigator's best box (orange) "
        "and its second (yellow)"
    )
    figure.tight_layout()
    figure.savefig(output, dpi=80)
    print(
        "wrote",
        output,
        "best box",
        [round(rate, 3) for rate in hit_rates],
        "either box",
        [round(rate, 3) for rate in either_rates],
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
