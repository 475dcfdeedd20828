"""Feature-map backbones by name, each with its own preprocessing inside.

A backbone here is a `keras.Model` that takes float RGB pixels in [0, 255]
and returns a feature map `(batch, h, w, channels)`. Names map to
`keras.applications` constructors (plus a small `tiny` CNN for CPU runs);
a custom `keras.Model` with that contract is accepted as it is.
"""

import dataclasses
import os

import keras

from keras_rra.layers.image_preprocessing import ImagePreprocessing


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """How to build one named backbone.

    Attributes:
        constructor: name of the `keras.applications` function.
        preprocessing: `ImagePreprocessing` mode for its ImageNet weights.
        patch_feature_layer: layer whose output is the "patch" variant's
            feature map (VGG without its last max-pool), or None when the
            patch variant is the full feature stack.
    """

    constructor: str
    preprocessing: str
    patch_feature_layer: str | None = None


BACKBONES = {
    "vgg16": BackboneSpec("VGG16", "caffe", "block5_conv3"),
    "vgg19": BackboneSpec("VGG19", "caffe", "block5_conv4"),
    "resnet50": BackboneSpec("ResNet50", "caffe"),
    "resnet101": BackboneSpec("ResNet101", "caffe"),
    "resnet152": BackboneSpec("ResNet152", "caffe"),
    "resnet50v2": BackboneSpec("ResNet50V2", "tf"),
    "densenet121": BackboneSpec("DenseNet121", "torch"),
    "densenet169": BackboneSpec("DenseNet169", "torch"),
    "efficientnetb0": BackboneSpec("EfficientNetB0", "none"),
    "efficientnetb3": BackboneSpec("EfficientNetB3", "none"),
    "efficientnetv2b0": BackboneSpec("EfficientNetV2B0", "none"),
    "mobilenetv2": BackboneSpec("MobileNetV2", "tf"),
    "mobilenetv3small": BackboneSpec("MobileNetV3Small", "none"),
    "mobilenetv3large": BackboneSpec("MobileNetV3Large", "none"),
    "convnexttiny": BackboneSpec("ConvNeXtTiny", "none"),
    "convnextsmall": BackboneSpec("ConvNeXtSmall", "none"),
    "inceptionv3": BackboneSpec("InceptionV3", "tf"),
    "tiny": BackboneSpec("tiny", "unit"),
}

VARIANTS = ("full", "patch")


def backbone_names():
    """The names `build_backbone` knows, sorted."""
    return sorted(BACKBONES)


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(
            "`weights` must be None, 'imagenet' or the path of a weights file; "
            f"received {weights!r}."
        )
    if not os.path.isfile(weights):
        raise FileNotFoundError(
            f"Backbone weights file {os.fspath(weights)!r} does not exist."
        )


def build_tiny_backbone(input_shape, filters=(32, 64, 128, 128), name="tiny"):
    """A small CNN (3×3 conv, batch norm, ReLU; stride 2 but the last).

    Meant for tests and quick CPU runs: at 64×64 input it has about 0.3 M
    parameters and returns an 8×8×128 feature map.
    """
    images = keras.Input(shape=input_shape, name="images")
    x = ImagePreprocessing("unit", name="preprocessing")(images)
    for index, width in enumerate(filters):
        stride = 1 if index == len(filters) - 1 else 2
        x = keras.layers.Conv2D(
            width,
            3,
            strides=stride,
            padding="same",
            use_bias=False,
            kernel_initializer="he_normal",
            name=f"conv{index}",
        )(x)
        # Synchronised: under a strategy with several replicas the batch
        # statistics are those of the global batch, as on one device.
        x = keras.layers.BatchNormalization(synchronized=True, name=f"bn{index}")(x)
        x = keras.layers.ReLU(name=f"relu{index}")(x)
    return keras.Model(images, x, name=name)


def build_backbone(
    backbone,
    input_shape,
    weights=None,
    variant="full",
    name=None,
    any_size=False,
):
    """Builds a feature-map backbone that takes pixels in [0, 255].

    Args:
        backbone: a name from `backbone_names()`, or a `keras.Model` that
            already maps [0, 255] pixels to a 4-D feature map (returned as it
            is).
        input_shape: `(height, width, 3)`.
        weights: None (random), `"imagenet"` (downloaded by Keras), or the
            path of a weights file for this architecture (for example the
            `*_notop.h5` file of `keras.applications`).
        variant: `"full"`, or `"patch"` for the local stream: for VGG the
            feature stack without its last max-pool, otherwise the same as
            `"full"`.
        name: name of the returned model (defaults to the backbone's name).
        any_size: accept images of any height and width (checked at
            `input_shape`): a patch backbone that a navigator's teacher also
            runs over the whole image. A custom model must then accept any
            size too.

    Returns:
        A `keras.Model` from images to a feature map.

    Raises:
        ValueError: for an unknown name (listing the known ones), an unknown
            variant, or an input too small for the backbone.
        FileNotFoundError: for a weights path that does not exist.
    """
    if isinstance(backbone, keras.Model):
        if any_size and tuple(backbone.inputs[0].shape[1:3]) != (None, None):
            raise ValueError(
                f"The navigator's teacher runs the patch backbone over the whole "
                f"image, so it must accept any image size; {backbone.name!r} takes "
                f"only {tuple(backbone.inputs[0].shape[1:])}. Build it with "
                "keras.Input(shape=(None, None, 3))."
            )
        spec = backbone.compute_output_spec(
            keras.KerasTensor((None, *tuple(input_shape)), dtype="float32")
        )
        if len(spec.shape) != 4:
            raise ValueError(
                "A custom backbone must return a 4-D feature map (batch, h, w, "
                f"channels); {backbone.name!r} returns shape {tuple(spec.shape)} "
                f"for input shape {tuple(input_shape)}."
            )
        return backbone
    if not isinstance(backbone, str) or backbone.lower() not in BACKBONES:
        raise ValueError(
            f"Unknown backbone {backbone!r}. Known backbones: "
            f"{', '.join(backbone_names())}; or pass a keras.Model."
        )
    if variant not in VARIANTS:
        raise ValueError(f"Unknown variant {variant!r}; expected one of {VARIANTS}.")
    _check_weights(weights)
    key = backbone.lower()
    spec = BACKBONES[key]
    name = name or key
    input_shape = tuple(input_shape)
    checked_shape = input_shape
    if any_size:
        input_shape = (None, None, input_shape[-1])

    if key == "tiny":
        model = build_tiny_backbone(input_shape, name=name)
        if weights == "imagenet":
            raise ValueError(
                "The 'tiny' backbone has no ImageNet weights; use weights=None "
                "or a weights file."
            )
        if weights is not None:
            model.load_weights(weights)
    else:
        images = keras.Input(shape=input_shape, name="images")
        preprocessed = ImagePreprocessing(spec.preprocessing, name="preprocessing")(
            images
        )
        constructor = getattr(keras.applications, spec.constructor)
        try:
            application = constructor(
                include_top=False,
                weights="imagenet" if weights == "imagenet" else None,
                input_tensor=preprocessed,
            )
        except ValueError as error:
            raise ValueError(
                f"Cannot build backbone {key!r} for input shape {input_shape}: {error}"
            ) from error
        if weights is not None and weights != "imagenet":
            application.load_weights(weights)
        features = application.output
        if variant == "patch" and spec.patch_feature_layer:
            features = application.get_layer(spec.patch_feature_layer).output
        model = keras.Model(images, features, name=name)

    feature_shape = model.compute_output_spec(
        keras.KerasTensor((None, *checked_shape), dtype="float32")
    ).shape
    if any(size is not None and size < 1 for size in feature_shape[1:3]):
        raise ValueError(
            f"Input shape {checked_shape} is too small for backbone {key!r}: its "
            f"feature map would be {tuple(feature_shape[1:3])}."
        )
    return model
