import json
import os
import warnings

import numpy as np
import pytest
from PIL import Image

from keras_rra.explain import explain_files
from keras_rra.explain import plot_run
from tests.helpers import bomb_png
from tests.helpers import tiny_rra


def test_a_folder_of_images_gets_one_figure_each(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype="uint8")).save(
        folder / "a.png"
    )
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype="uint8")).save(
        folder / "gray.png"
    )
    (folder / "notes.txt").write_text("not an image")
    (folder / "broken.png").write_bytes(b"not a png")
    (folder / "bomb.png").write_bytes(bomb_png(9000, 9000))
    model = tiny_rra(class_names=["w", "x", "y", "z"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = explain_files(model, [str(folder)], str(tmp_path / "out"))
    messages = " ".join(str(warning.message) for warning in caught)
    assert "notes.txt" in messages and "broken.png" in messages
    assert "bomb.png': declares 9000x9000 = 81,000,000 pixels" in messages
    assert [os.path.basename(r["image"]) for r in results] == ["a.png", "gray.png"]
    for result in results:
        assert os.path.isfile(result["figure"]) and result["class"] in "wxyz"
        assert len(result["attention"]) == 2
        json.dumps(result)
    with pytest.raises(ValueError, match="None of the 1 files could be read"):
        explain_files(model, [str(tmp_path / "empty*.png")], str(tmp_path / "o"))


def test_plot_run_needs_a_finished_run(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        plot_run(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="no model.keras"):
        plot_run(str(tmp_path))
