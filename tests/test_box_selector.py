import numpy as np
import pytest

from keras_rra.layers import BoxSelector
from tests.helpers import run_layer_test


def _candidates(batch=3, k=5):
    low = np.random.uniform(0, 0.4, (batch, k, 2))
    return np.concatenate([low, low + 0.5], axis=-1).astype("float32")


def test_layer_contract():
    run_layer_test(
        BoxSelector,
        {"seed": 3},
        _candidates(),
        expected_output_shape=(3, 1, 4),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_training_draws_one_candidate_per_image():
    boxes = _candidates(batch=4, k=5)
    layer = BoxSelector(seed=1)
    drawn = set()
    for _ in range(30):
        chosen = np.asarray(layer(boxes, training=True))[:, 0]
        for b in range(4):
            matches = np.where(np.all(np.isclose(boxes[b], chosen[b]), axis=1))[0]
            assert len(matches) == 1
            drawn.add(int(matches[0]))
    assert drawn == set(range(5))


def test_inference_is_deterministic():
    boxes = _candidates()
    np.testing.assert_array_equal(BoxSelector("first")(boxes), boxes[:, :1])
    np.testing.assert_array_equal(BoxSelector("all")(boxes), boxes)


def test_bad_arguments():
    with pytest.raises(ValueError, match="eval_mode.*'middle'"):
        BoxSelector("middle")
    with pytest.raises(ValueError, match=r"\(batch, K, 4\).*\(3, 4\)"):
        BoxSelector()(np.zeros((3, 4), "float32"))
