import numpy as np
import pytest

from keras_rra.explain import explain_images
from keras_rra.explain import saliency
from keras_rra.explain import temporal_attention
from keras_rra.explain import timestep_gradcam
from keras_rra.explain import where_it_looked
from keras_rra.explain.model_explanations import _paste
from keras_rra.models import BaselineClassifier
from keras_rra.models import Coarse2FineClassifier
from tests.helpers import tiny_rra
from tests.helpers import tiny_synthetic


def _images(count=5):
    images, _ = next(iter(tiny_synthetic("train")))
    return images.numpy()[:count]


def _baseline():
    return BaselineClassifier(num_classes=4, backbone="tiny", image_size=32)


def _coarse2fine(**kwargs):
    return Coarse2FineClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=32,
        num_attention_maps=4,
        decoder_filters=8,
        **kwargs,
    )


def test_rra_maps_per_step_in_image_coordinates():
    import keras

    # An untrained model's Grad-CAM may be all negative (rectified to zero)
    # for the predicted class; this seed gives both streams a map.
    keras.utils.set_random_seed(0)
    model = tiny_rra(num_parts=2)
    images = _images()
    explanation = timestep_gradcam(model, images)
    assert explanation["global_cam"].shape == (5, 32, 32)
    assert explanation["timestep_cams"].shape == (5, 2, 32, 32)
    for name in ("global_cam", "timestep_cams"):
        maps = explanation[name]
        assert maps.min() >= 0 and maps.max() <= 1
        assert np.isclose(maps.max(), 1.0)
    # A step's map lives inside the patches the model looked at.
    boxes = explanation["outputs"]["patch_boxes"]
    canvas = np.zeros((5, 32, 32), bool)
    for index in range(5):
        for y1, x1, y2, x2 in boxes[index]:
            rows = slice(int(np.floor(y1 * 32)), int(np.ceil(y2 * 32)))
            cols = slice(int(np.floor(x1 * 32)), int(np.ceil(x2 * 32)))
            canvas[index, rows, cols] = True
    assert np.all(explanation["timestep_cams"][~np.broadcast_to(
        canvas[:, None], explanation["timestep_cams"].shape
    )] == 0)  # fmt: skip
    predicted = explanation["probabilities"].argmax(-1)
    np.testing.assert_array_equal(explanation["class_index"], predicted)
    # Deterministic: the same images, the same maps.
    again = timestep_gradcam(model, images)
    np.testing.assert_array_equal(again["timestep_cams"], explanation["timestep_cams"])
    # Another class gives another map.
    other = timestep_gradcam(model, images, class_index=(predicted + 1) % 4)
    assert not np.allclose(other["global_cam"], explanation["global_cam"])


@pytest.mark.parametrize("build", [_baseline, _coarse2fine], ids=["baseline", "c2f"])
def test_the_global_view_only_models(build):
    explanation = timestep_gradcam(build(), _images(), class_index=1)
    assert explanation["global_cam"].shape == (5, 32, 32)
    assert "timestep_cams" not in explanation
    np.testing.assert_array_equal(explanation["class_index"], [1] * 5)


def test_other_sizes_grayscale_and_rgba_are_read_the_models_way():
    model = tiny_rra()
    gray = np.random.default_rng(0).uniform(0, 255, (2, 48, 40, 1))
    rgba = np.concatenate([_images(2), np.full((2, 32, 32, 1), 255.0)], axis=-1)
    assert timestep_gradcam(model, gray)["global_cam"].shape == (2, 32, 32)
    np.testing.assert_allclose(
        timestep_gradcam(model, rgba)["global_cam"],
        timestep_gradcam(model, _images(2))["global_cam"],
    )
    with pytest.raises(ValueError, match=r"received shape \(32, 32\)"):
        timestep_gradcam(model, np.zeros((32, 32)))
    with pytest.raises(ValueError, match="class_index 4 is out of range.*4 classes"):
        timestep_gradcam(model, _images(), class_index=4)


def test_attention_regions_and_saliency():
    model = tiny_rra(num_parts=2)
    attention = temporal_attention(model, _images())
    assert attention.shape == (5, 2)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)
    looked = where_it_looked(model, _images())
    assert len(looked) == 5 and len(looked[0]) == 2
    for region in looked[0]:
        assert all(0 <= value <= 1 for value in region["box"])
        assert isinstance(region["score"], float)
    zoom = _coarse2fine(fine_input="zoom")
    maps = saliency(zoom, _images())
    assert maps.shape[0] == 5 and maps.min() >= 0 and maps.max() <= 1
    assert len(where_it_looked(zoom, _images())[0]) == 1
    with pytest.raises(ValueError, match="global view only|has no steps"):
        temporal_attention(_baseline(), _images())
    with pytest.raises(ValueError, match="looks at the whole image only"):
        where_it_looked(_baseline(), _images())
    with pytest.raises(ValueError, match="predicts no saliency map"):
        saliency(model, _images())
    explained = explain_images(model, _images(2))
    assert set(explained[0]) >= {"global_cam", "timestep_cams", "attention", "looked"}
    assert explain_images(_baseline(), _images(1))[0]["looked"] == []


def test_a_patch_map_is_placed_inside_its_box():
    cams = np.ones((1, 1, 4, 4), "float32")
    canvas = _paste(cams, np.array([[[0.25, 0.5, 0.75, 1.0]]], "float32"), (8, 8))
    expected = np.zeros((8, 8))
    expected[2:6, 4:8] = 1
    np.testing.assert_array_equal(canvas[0], expected)
