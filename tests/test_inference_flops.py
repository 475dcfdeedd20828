import pytest

from keras_rra.benchmarks.inference_flops import inference_flops
from keras_rra.models import BaselineClassifier
from keras_rra.models import RRAClassifier
from tests.helpers import TINY_RRA_SETTINGS


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_flops_grow_with_the_pixels(pooling):
    counts = {}
    for size in (32, 64):
        model = BaselineClassifier(
            num_classes=4, backbone="tiny", image_size=size, pooling=pooling
        )
        counts[size] = inference_flops(model)
    assert counts[64] / counts[32] == pytest.approx(4, rel=0.1)


def test_a_navigator_costs_its_patches_and_not_its_teacher():
    def rra(patch, **settings):
        return inference_flops(
            RRAClassifier(
                num_classes=4,
                patch=patch,
                input_size=64,
                **TINY_RRA_SETTINGS,
                **settings,
            )
        )

    # The navigator's head is small and its teacher runs only in training:
    # looking where it points costs about what a centred patch costs.
    one, two, three = (rra("navigator", num_parts=parts) for parts in (1, 2, 3))
    assert one == pytest.approx(rra("center"), rel=0.15)
    # Each further part costs one more pass of the local stream.
    assert two - one > 0.1 * one
    assert three - two == pytest.approx(two - one, rel=0.05)


def test_a_model_with_given_boxes_is_counted_with_one_box():
    boxes = RRAClassifier(
        num_classes=4, patch="boxes", input_size=64, **TINY_RRA_SETTINGS
    )
    center = RRAClassifier(
        num_classes=4, patch="center", input_size=64, **TINY_RRA_SETTINGS
    )
    assert inference_flops(boxes) == pytest.approx(inference_flops(center), rel=0.05)
