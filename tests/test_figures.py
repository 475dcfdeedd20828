import os

import numpy as np
import pytest
from PIL import Image

from keras_rra.explain.figures import confusion_matrix
from keras_rra.explain.figures import read_history
from keras_rra.explain.figures import save_explanation
from keras_rra.explain.figures import write_run_plots

PNG = b"\x89PNG\r\n\x1a\n"


def _png(path):
    with open(path, "rb") as file:
        assert file.read(8) == PNG
    with Image.open(path) as image:
        image.verify()
        return image.size


def test_an_explanation_figure_is_a_png(tmp_path):
    rng = np.random.default_rng(0)
    explanation = {
        "global_cam": rng.uniform(size=(32, 32)),
        "timestep_cams": rng.uniform(size=(4, 32, 32)),
        "attention": np.array([0.1, 0.2, 0.3, 0.4]),
        "looked": [{"box": (0.1, 0.1, 0.5, 0.5), "score": 0.7}],
        "class_index": 1,
        "probability": 0.9,
    }
    image = rng.uniform(0, 255, (32, 32, 3))
    path = save_explanation(str(tmp_path / "a.png"), image, explanation, ["x", "y"], 0)
    width, height = _png(path)
    # Four steps make a strip under the image, the CAM and the bars.
    assert width > height
    del explanation["timestep_cams"], explanation["attention"]
    _png(save_explanation(str(tmp_path / "b.png"), image, explanation))
    assert not [name for name in os.listdir(tmp_path) if "partial" in name]


def test_run_plots_from_history_and_confusion(tmp_path):
    with open(tmp_path / "history.csv", "w", encoding="utf-8") as file:
        file.write("epoch,accuracy,loss,val_accuracy,val_loss\n")
        file.write("0,0.5,1.2,0.4,1.3\n1,0.7,0.9,0.6,1.0\n")
    history = read_history(str(tmp_path / "history.csv"))
    assert history["val_loss"] == [1.3, 1.0]
    confusion = confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3)
    np.testing.assert_array_equal(confusion, [[1, 1, 0], [0, 1, 0], [0, 0, 1]])
    written = write_run_plots(str(tmp_path), confusion, ["a", "b", "c"])
    assert [os.path.basename(path) for path in written] == [
        "curves.png",
        "confusion.png",
        "per_class_accuracy.png",
    ]
    for path in written:
        _png(path)
    with pytest.raises(FileNotFoundError, match="no training history"):
        read_history(str(tmp_path / "missing.csv"))
    (tmp_path / "empty.csv").write_text("epoch,loss\n")
    with pytest.raises(ValueError, match="holds no epoch"):
        read_history(str(tmp_path / "empty.csv"))


def test_curves_draw_validation_only_where_there_is_one():
    from keras_rra.explain.figures import training_curves_figure

    with_validation = {"epoch": [0, 1], "loss": [1.2, 0.9], "val_loss": [1.3, 1.0]}
    # Keras' CSVLogger writes empty val_ columns when nothing was watched.
    without = {"epoch": [0, 1], "loss": [1.2, 0.9], "val_loss": [np.nan, np.nan]}
    labels = [
        [line.get_label() for line in training_curves_figure(h).axes[0].lines]
        for h in (with_validation, without)
    ]
    assert labels == [["train", "validation"], ["train"]]
