import warnings

import keras

from keras_rra.layers.attention_maps import AttentionMaps
from keras_rra.layers.bilinear_attention_pooling import BilinearAttentionPooling
from keras_rra.layers.differentiable_zoom import DifferentiableZoom
from keras_rra.layers.image_resize import ImageResize
from keras_rra.layers.inverse_mapping import InverseMapping
from keras_rra.layers.part_navigator import PartNavigator
from keras_rra.layers.patch_average import PatchAverage
from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.layers.probability_average import ProbabilityAverage
from keras_rra.models.backbones import build_backbone
from keras_rra.models.fine_grained_classifier import FineGrainedClassifier
from keras_rra.models.navigator_losses import build_teacher
from keras_rra.models.navigator_losses import own_teacher_backbone
from keras_rra.settings.model_settings import COARSE2FINE_SETTINGS
from keras_rra.settings.model_settings import FINE_INPUTS
from keras_rra.utils.validation import check_choice
from keras_rra.utils.validation import to_fractions
from keras_rra.utils.validation import to_size

__all__ = ["FINE_INPUTS", "STAGES", "Coarse2FineClassifier"]

STAGES = (1, 2)


@keras.saving.register_keras_serializable(package="keras_rra")
class Coarse2FineClassifier(FineGrainedClassifier):
    """Coarse2Fine (Eshratifar, Eigen, Gormish, Pedram; arXiv 1909.02680).

    Only the paper's abstract is public to us; this model is our reading of
    it (see the README's "Coarse2Fine: the paper and our design"). From the
    abstract: attention maps with an orthogonal initialisation, an inverse
    mapping from the attended features back to the input image, a coarse
    and a fine prediction, and two-stage training. Our design:

    - coarse: backbone feature map F, M attention maps
      A = ReLU(1×1 conv(F)) with orthonormal initial columns
      (`AttentionMaps`), f_m = mean(A_m ⊙ F) concatenated
      (`BilinearAttentionPooling`), Dense → `coarse_logits`;
    - where the fine pass looks (`fine_input`):
      - `"navigator"` (default): a `PartNavigator` on F scores square boxes
        (`anchor_sizes`) and the fine pass looks at the `num_parts` best,
        cut from the full-resolution input. It learns where to look from
        the image labels through a teacher that runs the backbone over the
        whole input while training (see `RRAClassifier`, `patch=
        "navigator"`), from the first step of stage 1 on, so that stage 2
        starts with boxes that point at parts;
      - `"zoom"`: the inverse mapping g (`InverseMapping`) from [F, A] to a
        saliency map S over the input image (one sigmoid channel), and a
        differentiable zoom into the box that S's mass marks
        (`DifferentiableZoom`). It does not find a part that the coarse
        view cannot see (README, "Where to look");
      - `"mask"`: the image times S;
    - fine: the same backbone, attention and classifier see the fine view →
      `fine_logits` (the mean over the parts' logits for the navigator);
    - `logits`: the mean of the coarse and fine probabilities, as logits
      (`ProbabilityAverage`). In stage 1 the fine head has weight zero.

    Two stages (`set_stage`): stage 1 trains backbone, attention and
    classifier with CE(coarse_logits) (and the navigator's losses); the
    inverse mapping gets no gradient and does not change. Stage 2 trains
    everything with CE(coarse_logits) + CE(fine_logits) (+ `area_weight` ·
    mean(S)). Switch with `keras_rra.training.TwoStageTraining` in `fit` or
    the Trainer, or call `set_stage(2)` and `fit` again.

    Args:
        num_classes: int >= 2.
        backbone: backbone name or `keras.Model` (see `build_backbone`).
        image_size: int or `(height, width)` of the coarse view and of the
            fine view.
        input_size: size of the input images, default `image_size`; the
            coarse view is the input resized to `image_size`, the fine view
            is cut from the input at its own resolution.
        weights: None, `"imagenet"` or a weights file, for a named backbone.
        num_attention_maps: M, the number of attention maps (>= 1).
        orthogonal_attention: orthonormal initial attention kernel (False is
            the ablation).
        signed_sqrt: option of `BilinearAttentionPooling`.
        l2_normalize: option of `BilinearAttentionPooling`.
        decoder_filters: channels of the inverse mapping's first layer.
        fine_input: `"navigator"`, `"zoom"` or `"mask"` (see above).
        min_zoom_extent: the smallest zoom box side, relative to the image.
        max_zoom_extent: the side the zoom box tends to at most, relative to
            the image (see `DifferentiableZoom`). With 1.0 an untrained
            saliency map zooms to the central 76%; below 1 the zoom must
            choose where to look (better localisation, and on the synthetic
            dataset lower accuracy: see the README's results).
        area_weight: weight of mean(S) in the stage-2 loss (0: none).
        num_parts: the navigator's boxes per image (see `RRAClassifier`).
        anchor_sizes: the navigator's box sides (see `RRAClassifier`).
        anchor_density: the navigator's box centres per feature-map cell
            along each side (see `RRAClassifier`).
        ranking_weight: the navigator's loss weight (see `RRAClassifier`).
        exploration: the navigator's exploration (see `RRAClassifier`).
        teacher: `"shared"` (the default) or `"own"`: the backbone of the
            navigator's teacher, the model's one backbone or a copy of it
            with weights of its own (see `RRAClassifier`). Shared, the
            teacher's full-resolution loss also trains the backbone the
            coarse and fine streams classify with; task a's fine stream
            learned slower without it (`docs/results/part_task.json`,
            `coarse2fine_own_teacher`).
        dropout: dropout before the classifier.
        stage: 1 or 2, the training stage the model starts in.
        seed: seed of the navigator's exploration.
        image_converter: the `ImageConverter` that brings a raw image to
            `input_size`, saved with the model (default: a plain resize).
        class_names: optional list of `num_classes` names.
        **kwargs: passed to `keras.Model` (`name`, `dtype`).

    Every argument but `num_classes`, `class_names`, `image_converter`,
    `stage` and `seed` is a setting declared in
    `keras_rra.settings.model_settings` (`COARSE2FINE_SETTINGS`), and
    `keras-rra train` takes it under the same name.

    Call arguments:
        images: float RGB pixels in [0, 255], `(batch, height, width, 3)`.

    Returns:
        A dict: `logits`, `coarse_logits`, `fine_logits` (batch, C);
        `attention_maps` (batch, h, w, M) of the coarse pass; `zoom_box`
        (batch, 4), the normalised box the fine pass looked at (the
        navigator's best). With the navigator also `part_boxes`
        (batch, num_parts, 4), `part_scores` (batch, num_parts) and
        `navigator_scores` (batch, h, w, sizes); otherwise `saliency`
        (batch, height, width, 1).

    Example:

    >>> model = Coarse2FineClassifier(num_classes=10, backbone="tiny",
    ...                               image_size=64, num_attention_maps=8)
    >>> model.compile()
    >>> model.fit(train_dataset, epochs=10,
    ...           callbacks=[keras_rra.training.TwoStageTraining(5)])
    """

    settings = COARSE2FINE_SETTINGS

    def __init__(
        self,
        num_classes,
        backbone="resnet50",
        image_size=448,
        input_size=None,
        weights=None,
        num_attention_maps=32,
        orthogonal_attention=True,
        signed_sqrt=False,
        l2_normalize=False,
        decoder_filters=64,
        fine_input="navigator",
        min_zoom_extent=0.1,
        max_zoom_extent=1.0,
        area_weight=0.0,
        num_parts=2,
        anchor_sizes=(0.5,),
        anchor_density=1,
        ranking_weight=1.0,
        exploration=0.0,
        teacher="shared",
        dropout=0.0,
        stage=1,
        seed=None,
        image_converter=None,
        class_names=None,
        **kwargs,
    ):
        num_classes, class_names = self._check_classes(num_classes, class_names)
        self._check_settings(COARSE2FINE_SETTINGS, locals())
        image_size = to_size("image_size", image_size)
        input_size = to_size("input_size", input_size or image_size)
        anchor_sizes = to_fractions("anchor_sizes", anchor_sizes)
        check_choice("stage", stage, STAGES)
        kwargs.setdefault("name", "coarse2fine_classifier")

        # === Layers ===
        self.backbone = build_backbone(
            backbone,
            (*image_size, 3),
            weights=weights,
            name="backbone",
            any_size=fine_input == "navigator",
        )
        channels = self.backbone.output.shape[-1]
        if orthogonal_attention and num_attention_maps > channels:
            raise ValueError(
                f"num_attention_maps={num_attention_maps} orthonormal maps need at "
                f"least as many feature channels; backbone {self.backbone.name!r} "
                f"has {channels}. Use at most {channels} maps or "
                "orthogonal_attention=False."
            )
        self.attention = AttentionMaps(
            num_attention_maps, orthogonal=orthogonal_attention, name="attention_maps"
        )
        self.pooling = BilinearAttentionPooling(
            signed_sqrt=signed_sqrt, l2_normalize=l2_normalize, name="attention_pooling"
        )
        self.dropout_layer = keras.layers.Dropout(dropout, name="dropout")
        self.classifier = self._classification_head(num_classes, "classifier")
        self.global_resize = (
            None
            if input_size == image_size
            else ImageResize(image_size, name="global_resize")
        )
        self.decoder_input = self.inverse_mapping = self.zoom = self.mask = None
        self.navigator = self.patch_sampler = None
        self.part_teacher = self.anchor_pooling = None
        self.own_teacher_backbone = None
        if fine_input == "navigator":
            self.navigator = PartNavigator(
                num_parts=num_parts,
                anchor_sizes=anchor_sizes,
                anchor_density=anchor_density,
                exploration=exploration,
                seed=seed,
                name="navigator",
            )
            self.patch_sampler = PatchSampler(image_size, name="patch_sampler")
            self.part_average = PatchAverage(dtype="float32", name="fine_logits")
        else:
            self.decoder_input = keras.layers.Concatenate(name="attended_features")
            self.inverse_mapping = InverseMapping(
                input_size, filters=decoder_filters, name="inverse_mapping"
            )
            self.zoom = DifferentiableZoom(
                image_size,
                min_extent=min_zoom_extent,
                max_extent=max_zoom_extent,
                name="zoom",
            )
            if fine_input == "mask":
                if input_size != image_size:
                    raise ValueError(
                        "fine_input='mask' multiplies the image by the saliency at "
                        f"the input size; it needs input_size == image_size, "
                        f"received {input_size} and {image_size}."
                    )
                self.mask = keras.layers.Multiply(name="mask")
        self.prediction = ProbabilityAverage(2, name="logits")

        # === Functional model ===
        images = keras.Input(shape=(*input_size, 3), name="images")

        def classify(view):
            features = self.backbone(view)
            maps = self.attention(features)
            pooled = self.pooling(features, maps)
            return self.classifier(self.dropout_layer(pooled)), features, maps

        coarse_view = self.global_resize(images) if self.global_resize else images
        coarse_logits, features, maps = classify(coarse_view)
        if self.navigator is not None:
            part_boxes, part_scores, score_map = self.navigator(features)
            part_logits, _, _ = classify(self.patch_sampler(images, part_boxes))
            fine_logits = self.part_average(part_logits, part_boxes)
            zoom_box = keras.layers.Reshape((4,), name="zoom_box")(
                keras.layers.Cropping1D((0, num_parts - 1), name="first_box")(
                    part_boxes
                )
            )
            extra_outputs = {
                "part_boxes": part_boxes,
                "part_scores": part_scores,
                "navigator_scores": score_map,
            }
            # The navigator's teacher: training only, outside the graph.
            if teacher == "own":
                self.own_teacher_backbone = own_teacher_backbone(self.backbone)
            self.part_teacher, self.anchor_pooling = build_teacher(
                self._classification_head(num_classes, "part_teacher"),
                self.teacher_backbone,
                score_map.shape[1:3],
                anchor_sizes,
                input_size,
            )
        else:
            saliency = self.inverse_mapping(self.decoder_input([features, maps]))
            zoomed, zoom_box = self.zoom(images, saliency)
            fine_view = self.mask([images, saliency]) if self.mask else zoomed
            fine_logits, _, _ = classify(fine_view)
            extra_outputs = {"saliency": saliency}
        logits = self.prediction([coarse_logits, fine_logits])

        super().__init__(
            inputs=images,
            outputs={
                "logits": logits,
                "coarse_logits": coarse_logits,
                "fine_logits": fine_logits,
                "attention_maps": maps,
                "zoom_box": zoom_box,
                **extra_outputs,
            },
            num_classes=num_classes,
            class_names=class_names,
            image_converter=image_converter,
            **kwargs,
        )

        # === Config ===
        self.stream_outputs = ("fine_logits",)
        self.image_size = image_size
        self.input_size = input_size
        self.num_attention_maps = num_attention_maps
        self.orthogonal_attention = bool(orthogonal_attention)
        self.signed_sqrt = bool(signed_sqrt)
        self.l2_normalize = bool(l2_normalize)
        self.decoder_filters = decoder_filters
        self.fine_input = fine_input
        self.min_zoom_extent = min_zoom_extent
        self.max_zoom_extent = max_zoom_extent
        self.area_weight = float(area_weight)
        self.num_parts = num_parts
        self.anchor_sizes = anchor_sizes
        self.anchor_density = anchor_density
        self.ranking_weight = float(ranking_weight)
        self.exploration = float(exploration)
        self.teacher = teacher
        self.seed = seed
        self.dropout = dropout
        # Training steps taken in stage 1, saved with the model: stage 2
        # warns when it starts from a model that never had them.
        self.coarse_steps = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="int64",
            trainable=False,
            aggregation="only_first_replica",
            name="coarse_steps",
        )
        self._warned_no_coarse_training = False
        self._apply_stage(stage)

    def _apply_stage(self, stage):
        self.stage = stage
        fine = 1.0 if stage == 2 else 0.0
        self.loss_terms = {"coarse_logits": 1.0, "fine_logits": fine}
        if self.fine_input == "navigator":
            # The teacher and the navigator learn from the first step: the
            # stage-2 fine head needs boxes that already point at parts.
            self.extra_loss_terms = {
                "teacher": 1.0,
                "ranking": self.ranking_weight,
                "guided": fine,
            }
        else:
            self.area_terms = {"saliency": self.area_weight * fine}
        self.prediction.set_input_weights([1.0 - fine / 2, fine / 2])

    def set_stage(self, stage):
        """Switches between stage 1 (coarse) and stage 2 (coarse and fine).

        Changes the loss and the prediction (stage 1 predicts with the coarse
        head alone), and makes `fit` and the `Trainer` retrace their steps.
        Warns when stage 2 begins on a model that had no stage-1 step.
        """
        check_choice("stage", stage, STAGES)
        if stage == self.stage:
            return
        self._apply_stage(stage)
        if stage == 2:
            self._warn_if_no_coarse_training()
        # `fit` calls `self.train_function` at every step: a new one takes
        # effect from the next step, even from a callback.
        for kind in ("train", "test"):
            if getattr(self, f"{kind}_function", None) is not None:
                getattr(self, f"make_{kind}_function")(force=True)

    def _warn_if_no_coarse_training(self):
        if self._warned_no_coarse_training or int(self.coarse_steps.numpy()) > 0:
            return
        self._warned_no_coarse_training = True
        warnings.warn(
            f"{self.name}: stage 2 (fine) starts on a model that has had no "
            "stage-1 (coarse) training step. Coarse2Fine trains the backbone, "
            "attention and classifier on the image first; without that the "
            "zoom follows an untrained saliency map. Train stage 1 first "
            "(TwoStageTraining(stage1_epochs=N), --stage1-epochs N), or ignore "
            "this if the weights come from elsewhere.",
            stacklevel=3,
        )

    def compile(self, *args, **kwargs):
        super().compile(*args, **kwargs)
        if self.stage == 2 and not getattr(self, "_loading", False):
            self._warn_if_no_coarse_training()

    def compile_from_config(self, config):
        # Called before the weights (and the step count) are loaded.
        self._loading = True
        try:
            super().compile_from_config(config)
        finally:
            self._loading = False

    def train_step(self, data):
        if self.stage == 2:
            return super().train_step(data)
        self.coarse_steps.assign_add(1)
        with warnings.catch_warnings():
            # The inverse mapping has no gradient in stage 1, by design.
            warnings.filterwarnings("ignore", "Gradients do not exist for variables")
            return super().train_step(data)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "backbone": keras.saving.serialize_keras_object(self.backbone),
                "image_size": self.image_size,
                "input_size": self.input_size,
                "num_attention_maps": self.num_attention_maps,
                "orthogonal_attention": self.orthogonal_attention,
                "signed_sqrt": self.signed_sqrt,
                "l2_normalize": self.l2_normalize,
                "decoder_filters": self.decoder_filters,
                "fine_input": self.fine_input,
                "min_zoom_extent": self.min_zoom_extent,
                "max_zoom_extent": self.max_zoom_extent,
                "area_weight": self.area_weight,
                "num_parts": self.num_parts,
                "anchor_sizes": list(self.anchor_sizes),
                "anchor_density": self.anchor_density,
                "ranking_weight": self.ranking_weight,
                "exploration": self.exploration,
                "teacher": self.teacher,
                "dropout": self.dropout,
                "stage": self.stage,
                "seed": self.seed,
            }
        )
        return config

    def part_logits(self, images, boxes, training=None):
        """The fine pass's logits `(batch, C)` for one box per image
        `(batch, 1, 4)`: what it says when it looks there."""
        features = self.backbone(self.patch_sampler(images, boxes), training=training)
        pooled = self.pooling(features, self.attention(features))
        return self.classifier(self.dropout_layer(pooled, training=training))

    @property
    def teacher_backbone(self):
        """The backbone the navigator's teacher runs over the whole input:
        its own (`teacher="own"`) or the model's."""
        if self.own_teacher_backbone is not None:
            return self.own_teacher_backbone
        return self.backbone
