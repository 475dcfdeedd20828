import numpy as np
import pytest

from keras_rra.data import BadDataWarning
from keras_rra.data import load
from keras_rra.data.boxes_file import read_boxes_file
from tests.dataset_files import write_split_folder


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_read_with_header_and_several_boxes(tmp_path):
    path = _write(
        tmp_path / "b.csv",
        "image,y1,x1,y2,x2,y1,x1,y2,x2\na.jpg,0,0,1,1,0.1,0.2,0.3,0.4\n\n"
        "b.jpg,0.5,0.5,0.9,0.9,0,0,0.5,0.5\n",
    )
    table = read_boxes_file(path, num_boxes=2)
    assert set(table) == {"a.jpg", "b.jpg"}
    np.testing.assert_allclose(table["a.jpg"][1], [0.1, 0.2, 0.3, 0.4])
    assert read_boxes_file(path, num_boxes=1)["b.jpg"].shape == (1, 4)


@pytest.mark.parametrize(
    "text, match",
    [
        ("a.jpg,0,0,1\n", "line 1: expected the image key and then 4 values"),
        ("a.jpg,0,0,1,1\na.jpg,0,0,1,1\n", "line 2: image key 'a.jpg' appears twice"),
        ("a.jpg,0,0,1,1\nb.jpg,0,0,1,x\n", "line 2: a box value is not a number"),
        ("a.jpg,0.5,0,0.2,1\n", r"line 1: box \(0,\) .* has y2 <= y1"),
        ("a.jpg,0,0,1,1.5\n", "line 1: .*outside"),
        ("a.jpg,0,0,1,1\n", "1 box.*fewer than num_boxes=2"),
        ("", "has no rows"),
    ],
)
def test_bad_rows_are_named(tmp_path, text, match):
    path = _write(tmp_path / "b.csv", text)
    with pytest.raises(ValueError, match=match):
        read_boxes_file(path, num_boxes=2 if "fewer" in match else 1)


def test_boxes_join_a_folder_dataset(tmp_path):
    root = write_split_folder(str(tmp_path / "data"))
    rows = "".join(
        f"test/class_{c}/{i}.{'jpg' if i == 0 else 'png'},0.1,0.2,0.6,0.7,0,0,1,1\n"
        for c in range(3)
        for i in range(2)
        if (c, i) != (2, 1)
    )
    path = _write(tmp_path / "boxes.csv", rows)
    with pytest.warns(BadDataWarning, match=r"test/class_2/1.png'.*no row"):
        dataset, _ = load(
            f"folder:{root}",
            "test",
            image_size=16,
            augmentation="paper",
            boxes=path,
            num_boxes=2,
        )
    inputs, labels = next(iter(dataset))
    assert inputs["boxes"].shape == (5, 2, 4)
    np.testing.assert_allclose(inputs["boxes"][:, 0], [[0.1, 0.2, 0.6, 0.7]] * 5)
    with pytest.raises(ValueError, match=r"class_2/1.png'.*no row in boxes file"):
        load(f"folder:{root}", "test", boxes=path, num_boxes=2, on_bad_image="error")
