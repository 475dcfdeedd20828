"""RRA on the true part box through the Python API, as a user writes it.

    python docs/scripts/true_box_api.py DIR OUTPUT.json [SEEDS]

DIR is a part task written by `../shared/part_tasks/write_part_task.py`
(`train/` and `test/` folders of PNG images, one folder per class, and
`part_boxes.csv`). For each seed (default 0,1,2):
`RRAClassifier.from_preset("cpu", num_classes, patch="boxes",
input_size=128, patch_size=48, seed=SEED)`, `model.fit` on the images and
their part boxes (batch 32, 10 epochs), `model.evaluate` on the test
split. Writes OUTPUT.json: each seed's top-1 and its part stream's, and a
summary the docs quote (`keras-rra benchmark docs`).
"""

import csv
import os
import statistics
import sys
import time

# The task's folders are read as the boxes figure reads them (this folder
# is on the path when a script of it runs).
from boxes_during_training import load_split


def main(root, output, seeds):
    import keras

    from keras_rra.benchmarks.machine import describe_machine
    from keras_rra.models import RRAClassifier
    from keras_rra.utils.json_file import write_json

    with open(os.path.join(root, "part_boxes.csv"), encoding="utf-8") as file:
        boxes = {
            row["key"]: [float(row[k]) for k in ("y1", "x1", "y2", "x2")]
            for row in csv.DictReader(file)
        }
    train_images, train_labels, train_parts = load_split(root, "train", boxes)
    test_images, test_labels, test_parts = load_split(root, "test", boxes)
    # RRA with patch="boxes" takes K candidate boxes per image: here one.
    train = {"images": train_images, "boxes": train_parts[:, None]}
    test = {"images": test_images, "boxes": test_parts[:, None]}
    num_classes = len(set(train_labels.tolist()))
    runs = []
    for seed in seeds:
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        model = RRAClassifier.from_preset(
            "cpu",
            num_classes=num_classes,
            patch="boxes",
            input_size=128,
            patch_size=48,
            seed=seed,
        )
        model.compile()
        model.fit(train, train_labels, batch_size=32, epochs=10, verbose=0)
        metrics = model.evaluate(
            test, test_labels, batch_size=50, verbose=0, return_dict=True
        )
        runs.append(
            {
                "seed": seed,
                "top1": metrics["accuracy"],
                "local_top1": metrics["local_accuracy"],
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(runs[-1], flush=True)
    top1 = [run["top1"] for run in runs]
    write_json(
        output,
        {
            "command": "python docs/scripts/true_box_api.py DIR OUTPUT.json "
            + ",".join(map(str, seeds)),
            "machine": describe_machine(),
            "runs": runs,
            "summary": {
                "top1": f"{statistics.fmean(top1):.3f} ± "
                f"{statistics.stdev(top1) if len(top1) > 1 else 0.0:.3f}",
                "top1_per_seed": ", ".join(f"{value:.3f}" for value in top1),
            },
        },
    )


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    seeds = sys.argv[3] if len(sys.argv) == 4 else "0,1,2"
    if not os.path.isfile(os.path.join(sys.argv[1], "part_boxes.csv")):
        sys.exit(f"{sys.argv[1]} is not a part task: it has no part_boxes.csv.")
    if not all(seed.strip().isdigit() for seed in seeds.split(",")):
        sys.exit(f"SEEDS must be comma-separated integers; received {seeds!r}.")
    main(sys.argv[1], sys.argv[2], [int(seed) for seed in seeds.split(",")])
