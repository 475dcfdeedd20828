import numpy as np
import pytest

from keras_rra.layers import BilinearAttentionPooling
from tests.helpers import run_layer_test


def _inputs(channels=6, maps=3):
    return {
        "features": np.random.normal(size=(2, 5, 4, channels)).astype("float32"),
        "attention": np.random.uniform(size=(2, 5, 4, maps)).astype("float32"),
    }


def _reference(features, attention):
    # f_m = mean over positions of A_m * F, concatenated map after map.
    rows = []
    for f, a in zip(features, attention, strict=True):
        rows.append(
            np.concatenate(
                [(a[..., m : m + 1] * f).mean(axis=(0, 1)) for m in range(a.shape[-1])]
            )
        )
    return np.stack(rows)


@pytest.mark.parametrize("options", [{}, {"signed_sqrt": True, "l2_normalize": True}])
def test_layer_contract(options):
    run_layer_test(
        BilinearAttentionPooling,
        options,
        _inputs(),
        expected_output_shape=(2, 18),
        expected_num_trainable_weights=0,
        expect_weights_change=False,
    )


def test_matches_the_definition():
    data = _inputs()
    pooled = np.asarray(BilinearAttentionPooling()(**data))
    np.testing.assert_allclose(
        pooled, _reference(data["features"], data["attention"]), atol=1e-5
    )


def test_signed_square_root_and_l2_normalisation():
    data = _inputs()
    plain = _reference(data["features"], data["attention"])
    pooled = np.asarray(
        BilinearAttentionPooling(signed_sqrt=True, l2_normalize=True)(**data)
    )
    expected = np.sign(plain) * np.sqrt(np.abs(plain) + 1e-8)
    expected /= np.linalg.norm(expected, axis=-1, keepdims=True)
    np.testing.assert_allclose(pooled, expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=-1), 1.0, atol=1e-5)


def test_rejects_different_grids():
    with pytest.raises(ValueError, match="share their grid"):
        BilinearAttentionPooling()(
            np.zeros((1, 5, 5, 4), "float32"), np.zeros((1, 4, 4, 2), "float32")
        )
