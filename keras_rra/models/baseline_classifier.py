import keras

from keras_rra.layers.image_resize import ImageResize
from keras_rra.models.backbones import build_backbone
from keras_rra.models.fine_grained_classifier import FineGrainedClassifier
from keras_rra.settings.model_settings import BASELINE_SETTINGS
from keras_rra.utils.validation import to_size


@keras.saving.register_keras_serializable(package="keras_rra")
class BaselineClassifier(FineGrainedClassifier):
    """Backbone, global average pooling and a linear classifier.

    The reference every fine-grained method is compared against: the same
    backbone and input size as the method, nothing else.

    Args:
        num_classes: int >= 2.
        backbone: a backbone name (see `keras_rra.models.backbone_names()`)
            or a `keras.Model` mapping [0, 255] pixels to a feature map.
        image_size: int or `(height, width)` the backbone sees.
        input_size: size of the input images, default `image_size`; larger
            inputs are resized to `image_size` inside the model (the global
            view of RRA, for a like-for-like comparison).
        weights: None, `"imagenet"` or a weights file, for a named backbone.
        dropout: dropout rate before the classifier.
        pooling: `"avg"` (global average pooling) or `"max"` (global max
            pooling): at full resolution, where a small part covers a few
            cells of the feature map, the maximum keeps its evidence and the
            average divides it by the image's area.
        image_converter: the `ImageConverter` that brings a raw image to
            `input_size`, saved with the model (default: a plain resize).
        class_names: optional list of `num_classes` names.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    `backbone`, `image_size`, `input_size`, `weights`, `dropout` and
    `pooling` are declared in `keras_rra.settings.model_settings` (`BASELINE_SETTINGS`).

    Call arguments:
        images: float RGB pixels in [0, 255], `(batch, height, width, 3)`.

    Returns:
        A dict with `"logits"`, `(batch, num_classes)`.

    Example:

    >>> model = BaselineClassifier(num_classes=10, backbone="tiny", image_size=64)
    >>> model.compile()
    >>> model.fit(train_dataset, epochs=2)  # elements (images, labels)
    """

    settings = BASELINE_SETTINGS

    def __init__(
        self,
        num_classes,
        backbone="resnet50",
        image_size=448,
        input_size=None,
        weights=None,
        dropout=0.0,
        pooling="avg",
        image_converter=None,
        class_names=None,
        **kwargs,
    ):
        num_classes, class_names = self._check_classes(num_classes, class_names)
        self._check_settings(BASELINE_SETTINGS, locals())
        image_size = to_size("image_size", image_size)
        input_size = to_size("input_size", input_size or image_size)
        kwargs.setdefault("name", "baseline_classifier")

        # === Layers ===
        self.backbone = build_backbone(
            backbone, (*image_size, 3), weights=weights, name="backbone"
        )
        self.resize = (
            None if input_size == image_size else ImageResize(image_size, name="resize")
        )
        self.pooling_layer = (
            keras.layers.GlobalMaxPooling2D(name="pooling")
            if pooling == "max"
            else keras.layers.GlobalAveragePooling2D(name="pooling")
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.classifier = self._classification_head(num_classes, "classifier")

        # === Functional model ===
        images = keras.Input(shape=(*input_size, 3), name="images")
        view = self.resize(images) if self.resize else images
        features = self.pooling_layer(self.backbone(view))
        logits = self.classifier(self.dropout_layer(features))
        super().__init__(
            inputs=images,
            outputs={"logits": logits},
            num_classes=num_classes,
            class_names=class_names,
            image_converter=image_converter,
            **kwargs,
        )

        # === Config ===
        self.image_size = image_size
        self.input_size = input_size
        self.dropout = dropout
        self.pooling = pooling

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "backbone": keras.saving.serialize_keras_object(self.backbone),
                "image_size": self.image_size,
                "input_size": self.input_size,
                "dropout": self.dropout,
                "pooling": self.pooling,
            }
        )
        return config
