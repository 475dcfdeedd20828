import keras
import numpy as np
import pytest

from keras_rra.models.logits_crossentropy import LogitsCrossentropy

LOGITS = np.array([[2.0, -1.0, 0.5], [0.0, 3.0, -2.0]], "float32")
LABELS = np.array([0, 2])


def test_integer_labels_give_keras_sparse_crossentropy_of_logits():
    expected = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(
        LABELS, LOGITS
    )
    np.testing.assert_allclose(LogitsCrossentropy()(LABELS, LOGITS), expected)
    np.testing.assert_allclose(
        LogitsCrossentropy()(LABELS[:, None], LOGITS), expected, rtol=1e-6
    )


def test_one_hot_and_integer_labels_give_the_same_loss():
    loss = LogitsCrossentropy()
    np.testing.assert_allclose(
        loss(np.eye(3)[LABELS], LOGITS), loss(LABELS, LOGITS), rtol=1e-6
    )


def test_label_smoothing_matches_keras_for_both_label_formats():
    expected = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=0.2
    )(np.eye(3)[LABELS], LOGITS)
    loss = LogitsCrossentropy(label_smoothing=0.2)
    np.testing.assert_allclose(loss(LABELS, LOGITS), expected, rtol=1e-6)
    np.testing.assert_allclose(loss(np.eye(3)[LABELS], LOGITS), expected, rtol=1e-6)


def test_config_round_trip_through_json():
    loss = LogitsCrossentropy(label_smoothing=0.1, name="ce")
    config = keras.saving.serialize_keras_object(loss)
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, LogitsCrossentropy)
    assert restored.get_config() == loss.get_config()


@pytest.mark.parametrize("smoothing", [-0.1, 1.0, "x"])
def test_bad_label_smoothing_is_one_sentence(smoothing):
    with pytest.raises(ValueError, match="label_smoothing"):
        LogitsCrossentropy(label_smoothing=smoothing)
