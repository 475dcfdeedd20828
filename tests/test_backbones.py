import keras
import numpy as np
import pytest

from keras_rra.layers import ImagePreprocessing
from keras_rra.models import backbone_names
from keras_rra.models import build_backbone

REQUIRED = [
    "vgg16",
    "vgg19",
    "resnet50",
    "resnet101",
    "densenet121",
    "efficientnetb0",
    "mobilenetv3small",
    "convnexttiny",
    "tiny",
]


@pytest.mark.parametrize("name", REQUIRED)
def test_builds_a_feature_map_with_its_preprocessing(name):
    model = build_backbone(name, (32, 32, 3))
    assert len(model.output.shape) == 4
    assert any(isinstance(layer, ImagePreprocessing) for layer in model.layers)
    features = model(np.random.uniform(0, 255, (1, 32, 32, 3)).astype("float32"))
    assert np.isfinite(np.asarray(features)).all()


@pytest.mark.parametrize(
    "name, layer", [("vgg16", "block5_conv3"), ("vgg19", "block5_conv4")]
)
def test_vgg_patch_variant_has_no_last_max_pool(name, layer):
    full = build_backbone(name, (64, 64, 3))
    patch = build_backbone(name, (64, 64, 3), variant="patch")
    assert patch.layers[-1].name == layer
    assert patch.output.shape[1:3] == (4, 4) and full.output.shape[1:3] == (2, 2)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        ValueError,
        match="Unknown backbone 'resnet5'.*" + ", ".join(backbone_names()[:3]),
    ):
        build_backbone("resnet5", (32, 32, 3))


def test_weights_from_a_file(tmp_path):
    first = build_backbone("tiny", (32, 32, 3))
    path = str(tmp_path / "tiny.weights.h5")
    first.save_weights(path)
    second = build_backbone("tiny", (32, 32, 3), weights=path)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_missing_weights_file_is_named():
    with pytest.raises(FileNotFoundError, match="missing.h5"):
        build_backbone("resnet50", (32, 32, 3), weights="missing.h5")


def test_tiny_has_no_imagenet_weights():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        build_backbone("tiny", (32, 32, 3), weights="imagenet")


def test_input_too_small():
    with pytest.raises(ValueError, match="vgg16"):
        build_backbone("vgg16", (16, 16, 3))


def test_custom_model_is_accepted_as_is():
    custom = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3)])
    assert build_backbone(custom, (32, 32, 3)) is custom
    flat = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="4-D feature map"):
        build_backbone(flat, (32, 32, 3))
