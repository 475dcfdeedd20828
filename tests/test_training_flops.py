import keras
import pytest

from keras_rra.benchmarks.training_flops import training_flops
from keras_rra.models import BaselineClassifier
from keras_rra.models import RRAClassifier
from tests.helpers import TINY_RRA_SETTINGS


def test_a_dense_layer_counts_its_products():
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(10)])
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    flops = training_flops(model, 4)
    # Forward 2 x 8 x 10 multiply-adds per image, the kernel's gradient as
    # many again; the bias, softmax and loss add a few dozen.
    assert 320 <= flops < 400


def test_convolutions_scale_with_the_image_area():
    counts = {}
    for size in (32, 64):
        model = BaselineClassifier(num_classes=4, backbone="tiny", image_size=size)
        model.compile()
        counts[size] = training_flops(model, 2)
    assert counts[64] / counts[32] == pytest.approx(4, rel=0.1)


def test_the_navigator_losses_are_counted():
    def rra(patch):
        model = RRAClassifier(num_classes=4, patch=patch, **TINY_RRA_SETTINGS)
        model.compile()
        return training_flops(model, 2)

    # The navigator's teacher classifies its candidate boxes: more work per
    # image than a centred patch.
    assert rra("navigator") > 1.2 * rra("center")
