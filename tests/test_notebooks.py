"""The notebooks: each runs top to bottom in small mode, is saved with the
outputs of a real run, and the paper's (not run here) calls only what exists.
"""

import glob
import json
import os

import pytest

from tests.helpers import assert_imports_exist
from tests.helpers import small_rra_source
from tests.helpers import use_small_rra

FOLDER = os.path.join(os.path.dirname(__file__), "..", "notebooks")
EXECUTED = ("quickstart", "where_to_look", "tune", "deploy")
NOT_EXECUTED = ("reproduce_paper",)
# Smaller still than `SMALL = True`'s sizes: appended after each notebook's
# `parameters` cell, the papermill convention. Coarse2Fine's two stages
# need two epochs. RRA runs at `tests.helpers.SMALL_RRA`'s sizes.
TEST_SIZES = {
    "quickstart": "NUM_CLASSES = 4\nEXAMPLES_PER_CLASS = 8\n"
    "TEST_EXAMPLES_PER_CLASS = 4\nEPOCHS = 1\n",
    "where_to_look": "NUM_CLASSES = 3\nEXAMPLES_PER_CLASS = 4\n"
    "TEST_EXAMPLES_PER_CLASS = 2\nEPOCHS = 2\n",
    "tune": "NUM_CLASSES = 3\nEXAMPLES_PER_CLASS = 10\nEPOCHS = 1\nMAX_TRIALS = 2\n",
    "deploy": "NUM_CLASSES = 3\nEXAMPLES_PER_CLASS = 8\n"
    "TEST_EXAMPLES_PER_CLASS = 4\nEPOCHS = 1\n",
}
# Figures each notebook shows, in its saved outputs.
FIGURES = {"quickstart": 2, "where_to_look": 3, "tune": 1, "deploy": 0}


def _notebook(name):
    with open(os.path.join(FOLDER, f"{name}.ipynb"), encoding="utf-8") as file:
        return json.load(file)


def _code_cells(notebook):
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _source(cell):
    return "".join(cell["source"])


def test_the_notebooks_are_the_documented_ones():
    found = {
        os.path.splitext(os.path.basename(path))[0]
        for path in glob.glob(os.path.join(FOLDER, "*.ipynb"))
    }
    assert found == set(EXECUTED) | set(NOT_EXECUTED)


@pytest.mark.parametrize("name", EXECUTED + NOT_EXECUTED)
def test_the_first_cells_install_from_a_clone_or_wheel_and_set_small(name):
    cells = _code_cells(_notebook(name))
    assert "SOURCE = " in _source(cells[0])
    assert "pip" in _source(cells[0])
    small = "SMALL = False" if name in NOT_EXECUTED else "SMALL = True"
    assert _source(cells[1]).strip() == small
    assert "parameters" in cells[2]["metadata"].get("tags", [])


def _run(name, namespace):
    for cell in _code_cells(_notebook(name)):
        # IPython's magics (`%matplotlib inline`) are the kernel's business.
        lines = _source(cell).splitlines()
        source = "\n".join(line for line in lines if not line.startswith("%"))
        if "parameters" in cell["metadata"].get("tags", []):
            source += "\n" + TEST_SIZES[name]
        source = small_rra_source(source)
        exec(compile(source, f"{name}.ipynb", "exec"), namespace)


@pytest.mark.slow
# Every executed notebook runs in every test run, at TEST_SIZES: measured
# 36-68 s each on two cores, 3 min 38 s for the four.
@pytest.mark.parametrize("name", EXECUTED)
def test_notebook_runs_in_small_mode(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    use_small_rra(monkeypatch)
    namespace = {"__name__": "__notebook__"}
    _run(name, namespace)
    assert namespace["SMALL"] is True
    if name == "quickstart":
        assert os.path.isfile(
            tmp_path / "savedmodels" / "quickstart" / "1" / "saved_model.pb"
        )
        assert os.path.isfile(tmp_path / "quickstart.keras")
    elif name == "where_to_look":
        assert len(namespace["results"]) == 5
        assert len(namespace["boxes_by_epoch"]) == namespace["EPOCHS"]
        navigator = namespace["results"]["RRA, navigator"][0]
        assert 0 <= navigator["part_centre_hit_rate"] <= 1
    elif name == "tune":
        assert len(namespace["trials"]) == namespace["MAX_TRIALS"]
        assert os.path.isfile(tmp_path / "tuned.keras")
    elif name == "deploy":
        assert set(namespace["written"]) == {
            "saved_model",
            "tflite",
            "tflite-float16",
            "tflite-int8",
            "onnx",
        }


@pytest.mark.parametrize("name", EXECUTED)
def test_notebook_is_saved_with_the_outputs_of_a_run(name):
    cells = _code_cells(_notebook(name))
    counts = [cell["execution_count"] for cell in cells]
    # Run top to bottom, once, in one kernel.
    assert counts == list(range(1, len(cells) + 1))
    outputs = [output for cell in cells for output in cell["outputs"]]
    assert not [output for output in outputs if output["output_type"] == "error"]
    figures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert len(figures) >= FIGURES[name]
    assert sum(1 for cell in cells if cell["outputs"]) >= 3


def test_the_paper_notebook_calls_only_what_exists():
    notebook = _notebook("reproduce_paper")
    cells = _code_cells(notebook)
    imported = sum(
        assert_imports_exist(_source(cell), "reproduce_paper.ipynb") for cell in cells
    )
    assert imported >= 3
    # Its settings make valid runs: the parameters and the configs, not
    # the training.
    namespace = {}
    for cell in cells[1:4]:
        exec(compile(_source(cell), "reproduce_paper.ipynb", "exec"), namespace)
    runs = namespace["runs"]
    assert set(runs) == {"rra", "baseline"}
    rra = runs["rra"]
    assert rra.model_settings()["backbone"] == "vgg19"
    assert rra.model_settings()["image_size"] == 448
    assert rra.model_settings()["patch_size"] == 224
    assert rra.model_settings()["timesteps"] == 10
    assert (rra.optimizer, rra.learning_rate, rra.momentum) == ("sgd", 1e-3, 0.9)
    assert (rra.weight_decay, rra.decay_epochs) == (5e-4, [30, 60])
