import keras

from keras_rra.layers.activation_peak_boxes import ActivationPeakBoxes
from keras_rra.layers.box_selector import BoxSelector
from keras_rra.layers.center_boxes import CenterBoxes
from keras_rra.layers.differentiable_zoom import DifferentiableZoom
from keras_rra.layers.image_resize import ImageResize
from keras_rra.layers.inverse_mapping import InverseMapping
from keras_rra.layers.part_attention import PartAttention
from keras_rra.layers.part_navigator import PartNavigator
from keras_rra.layers.patch_average import PatchAverage
from keras_rra.layers.patch_sampler import PatchSampler
from keras_rra.layers.recursive_refinement import RecursiveRefinement
from keras_rra.layers.temporal_attention_pooling import TemporalAttentionPooling
from keras_rra.models.backbones import build_backbone
from keras_rra.models.fine_grained_classifier import FineGrainedClassifier
from keras_rra.models.navigator_losses import build_teacher
from keras_rra.models.navigator_losses import own_teacher_backbone
from keras_rra.settings.model_settings import EVAL_BOXES
from keras_rra.settings.model_settings import GLOBAL_LOSSES
from keras_rra.settings.model_settings import PATCH_SOURCES
from keras_rra.settings.model_settings import RRA_SETTINGS
from keras_rra.utils.validation import to_fractions
from keras_rra.utils.validation import to_size

__all__ = ["EVAL_BOXES", "GLOBAL_LOSSES", "PATCH_SOURCES", "RRAClassifier"]


def _he_normal_fan_out():
    return keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_out", distribution="untruncated_normal"
    )


@keras.saving.register_keras_serializable(package="keras_rra")
class RRAClassifier(FineGrainedClassifier):
    """Recursively Refined Attention (Shroff, Chen, Wei, Wang; CVPR-W 2020).

    Two streams whose logits are added:

    - global: backbone over the whole image (resized to `image_size`), two
      1×1 convolutions to `addon_channels` with ReLU (He-normal, fan-out),
      global average pooling and a Dense classifier (N(0, 0.01)) →
      `global_logits`;
    - local: a patch of the image (cut from the full-resolution input,
      resampled to `patch_size`) through its own backbone, pooled to an
      embedding e; a stacked LSTM sees the same e for `timesteps` steps
      (`RecursiveRefinement`), attention over the steps pools the states
      (`TemporalAttentionPooling`), and a Dense classifier (Glorot: the
      states are bounded; see `_classification_head`) gives
      `local_logits`. The same Dense applied to every step's state gives
      `timestep_logits`, which show how the prediction sharpens with time.

    `logits = global_logits + local_weight * local_logits`, and accuracy is
    measured on `logits`. The loss is CE(logits) + local_weight ·
    CE(local_logits) (`global_loss="joint"`, the default), or the paper's
    CE(global_logits) + local_weight · CE(local_logits) (`"separate"`).
    "joint" trains the sum that is measured: where the global view cannot
    tell the classes apart, a separately trained global stream memorises
    the training images and its confident, wrong test logits drown the local
    stream's (measured on `synthetic:hard`, RRA on the true part box: 0.898
    top-1 "separate", 1.0 "joint", local stream alone 1.0).

    Args:
        num_classes: int >= 2.
        backbone: backbone name or `keras.Model` of the global stream.
        local_backbone: backbone of the local stream; by default a second,
            independent instance of `backbone` (for VGG without its last
            max-pool). Weights are never shared between the streams. With
            `patch="navigator"` it must accept images of any size.
        image_size: int or `(height, width)` seen by the global stream.
        patch_size: int or `(height, width)` of the local stream's patch.
        input_size: size of the input images, default `image_size`. A larger
            input lets the patch keep detail the resized global view loses.
        weights: None, `"imagenet"` or a weights file, for named backbones.
        timesteps: number of refinement steps T (10 in the paper).
        lstm_units: units of each LSTM (512 in the paper).
        lstm_layers: number of stacked LSTMs (2 in the paper).
        local_pooling: `"avg"` (the paper's) or `"max"`: how the patch's
            feature map becomes the embedding e.
        addon_channels: channels of the global add-on convolutions (1024).
        local_weight: λ, the weight of the local stream in logits and loss.
        global_loss: `"joint"` or `"separate"` (see above).
        patch: where the local stream looks:
            - `"navigator"` (default): learned from image labels alone. A
              `PartNavigator` scores square candidate boxes (`anchor_sizes`)
              on the global stream's feature map and the local stream looks
              at the `num_parts` best, at full input resolution. While
              training, a teacher runs the local backbone (or a copy of
              it: `teacher`) over the whole input and learns from the image
              label through the global max pooling of its feature map and
              a linear layer; a
              cell's class logits are the terms of that sum from the
              features that peak in the cell. The navigator learns to
              point at the box where the teacher's true-class evidence
              peaks (`ranking_weight`), and the local stream also learns
              on that box, centred on its peak cell (the `guided` loss
              term, weight
              `local_weight`), so it learns the part while
              the navigator is still wrong
              (`keras_rra.models.navigator_losses`). The teacher costs
              training time only; inference looks at `num_parts` patches;
            - `"center"`: a centred square of `center_fraction` of the side;
            - `"boxes"`: a second input `boxes` of K candidates;
            - `"saliency"`: learned, from the image alone. An inverse mapping
              (`InverseMapping`) decodes the global stream's add-on feature
              map into a saliency map S over the input, and a
              `DifferentiableZoom` cuts the box S's mass marks, so the local
              loss trains S end to end (Coarse2Fine's saliency choosing
              RRA's patch; our design). It does not find a part the global
              view cannot see (README, "Where to look");
            - `"activation"`: a square of `center_fraction` of the side
              centred on the global stream's class-activation peak for its
              top class (`ActivationPeakBoxes`): no extra weights, no
              gradient to the box.
        center_fraction: side of the centred or activation-peak patch
            relative to the image.
        num_boxes: K for `patch="boxes"` (None accepts any K).
        eval_boxes: at inference with `patch="boxes"`: `"first"` box or the
            `"mean"` of the local logits over all K boxes. While training one
            box per image is drawn at random.
        decoder_filters: channels of the inverse mapping (`"saliency"`).
        min_zoom_extent: smallest side of a saliency box, relative to the
            image (`"saliency"`).
        max_zoom_extent: the side a saliency box tends to at most, relative
            to the image (`"saliency"`; see `DifferentiableZoom`). Below 1
            the zoom must choose where to look; on the synthetic dataset
            0.5 learned to find the part and 1.0 did not.
        area_weight: weight of mean(S) added to the loss (`"saliency"`),
            which pushes S to mark a smaller region.
        num_parts: boxes the local stream looks at per image
            (`"navigator"`); their local logits are averaged. Two by
            default: the second best box, which may overlap the first by up
            to the navigator's `overlap_threshold`, holds the part where the
            first misses it, and the local stream trains on twice the
            patches (task a, 3 seeds: see `docs/results/part_task.json`).
        part_pooling: how the local logits of the `num_parts` patches are
            combined (`"navigator"`): `"mean"` (the default) or
            `"attention"`, weights learned from what each patch shows at
            full resolution (`PartAttention`), so that the local stream
            can prefer the part among look-alikes that the global view
            cannot tell apart. The weights are the output `part_weights`.
        anchor_sizes: sides of the navigator's candidate boxes, relative to
            the image. A side of `patch_size / input_size` samples the
            patch at the input's own resolution.
        anchor_density: the navigator's box centres per global feature-map
            cell along each side (`PartNavigator`): with 2, boxes smaller
            than a cell's span can still be centred on the part.
        ranking_weight: weight of the navigator's ranking loss.
        exploration: scale of the Gumbel noise on the navigator's scores
            while training (0, the default: the local stream trains on the
            box it will look at; the teacher rates every box whatever the
            navigator chose, so the navigator needs no noise to explore).
        teacher: the backbone the navigator's teacher runs over the whole
            input: `"shared"` (the default), the local backbone itself, or
            `"own"`, a copy of it with weights of its own that learns from
            the teacher's loss alone. Shared, the part stream's losses
            train the teacher's backbone too and the teacher learns
            slower than the full-resolution baseline it is, while the
            teacher's loss also trains the part stream's backbone. Own, the
            boxes hold the part more often, but the part stream learns
            slower (task a and `synthetic:plain`:
            `docs/guides/where_to_look.md`, "A teacher of its own"). The
            copy costs no inference time, only its weights in the saved
            model.
        dropout: dropout rate before both classifiers.
        seed: seed of the random box choice.
        image_converter: the `ImageConverter` that brings a raw image to
            `input_size` (the data's evaluation resize and crop); saved with
            the model (default: a plain resize).
        class_names: optional list of `num_classes` names.
        **kwargs: passed to `keras.Model` (`name`, `dtype`: the dtype
            policy, saved with the model).

    Every argument but `num_classes`, `class_names`, `local_backbone`,
    `image_converter` and `seed` is a setting declared in
    `keras_rra.settings.model_settings` (`RRA_SETTINGS`), where its range
    is, and `keras-rra train` takes it under the same name.

    Call arguments:
        inputs: images, float RGB pixels in [0, 255] of shape
            `(batch, *input_size, 3)`; with `patch="boxes"`, a dict
            `{"images": ..., "boxes": (batch, K, 4)}` of normalised
            (y1, x1, y2, x2) boxes.

    Returns:
        A dict: `logits`, `global_logits`, `local_logits` (batch, C);
        `timestep_logits` (batch, T, C); `attention_weights` (batch, T);
        `patch_boxes` (batch, N, 4), the boxes the local stream looked at
        (with `"navigator"`, best first); with `patch="saliency"` also
        `saliency` (batch, *input_size, 1); with `"navigator"` also
        `part_scores` (batch, N) and `navigator_scores` (batch, h, w,
        sizes), every candidate's score.

    Example:

    >>> model = RRAClassifier(num_classes=10, backbone="tiny", image_size=64,
    ...                       input_size=128, patch_size=32, timesteps=4,
    ...                       lstm_units=64)
    >>> model.compile()
    >>> model.fit(train_dataset, epochs=2)  # elements (images, labels)
    """

    settings = RRA_SETTINGS

    def __init__(
        self,
        num_classes,
        backbone="vgg19",
        local_backbone=None,
        image_size=448,
        patch_size=224,
        input_size=None,
        weights=None,
        timesteps=10,
        lstm_units=512,
        lstm_layers=2,
        local_pooling="avg",
        addon_channels=1024,
        local_weight=1.0,
        global_loss="joint",
        patch="navigator",
        center_fraction=0.5,
        num_boxes=None,
        eval_boxes="first",
        decoder_filters=64,
        min_zoom_extent=0.1,
        max_zoom_extent=0.5,
        area_weight=0.0,
        num_parts=2,
        part_pooling="mean",
        anchor_sizes=(0.25,),
        anchor_density=1,
        ranking_weight=1.0,
        exploration=0.0,
        teacher="shared",
        dropout=0.0,
        seed=None,
        image_converter=None,
        class_names=None,
        **kwargs,
    ):
        num_classes, class_names = self._check_classes(num_classes, class_names)
        self._check_settings(RRA_SETTINGS, locals())
        image_size = to_size("image_size", image_size)
        patch_size = to_size("patch_size", patch_size)
        input_size = to_size("input_size", input_size or image_size)
        anchor_sizes = to_fractions("anchor_sizes", anchor_sizes)
        if patch_size[0] > input_size[0] or patch_size[1] > input_size[1]:
            raise ValueError(
                f"patch_size={patch_size} is larger than the image the patch is "
                f"cut from, {input_size} (image_size={image_size}, input_size="
                f"{input_size}). Use a smaller patch_size or a larger input_size."
            )
        kwargs.setdefault("name", "rra_classifier")
        if local_backbone is None:
            if isinstance(backbone, keras.Model):
                local_backbone = keras.models.clone_model(backbone)
            else:
                local_backbone = backbone

        # === Layers ===
        self.global_backbone = build_backbone(
            backbone, (*image_size, 3), weights=weights, name="global_backbone"
        )
        self.local_backbone = build_backbone(
            local_backbone,
            (*patch_size, 3),
            weights=weights,
            variant="patch",
            name="local_backbone",
            any_size=patch == "navigator",
        )
        if self.local_backbone is self.global_backbone:
            raise ValueError(
                "`backbone` and `local_backbone` are the same model object; the "
                "two streams must not share weights. Pass two models."
            )
        self.global_resize = (
            None
            if input_size == image_size
            else ImageResize(image_size, name="global_resize")
        )
        self.addon = [
            keras.layers.Conv2D(
                addon_channels,
                1,
                activation="relu",
                kernel_initializer=_he_normal_fan_out(),
                name=f"addon_conv{index}",
            )
            for index in range(2)
        ]
        self.global_pooling = keras.layers.GlobalAveragePooling2D(name="global_pool")
        self.global_dropout = keras.layers.Dropout(dropout, name="global_dropout")
        self.global_classifier = self._classification_head(
            num_classes, "global_classifier"
        )
        self.inverse_mapping = self.zoom = self.navigator = None
        self.part_teacher = self.anchor_pooling = None
        self.own_teacher_backbone = None
        if patch == "navigator":
            self.navigator = PartNavigator(
                num_parts=num_parts,
                anchor_sizes=anchor_sizes,
                anchor_density=anchor_density,
                exploration=exploration,
                seed=seed,
                name="navigator",
            )
            self.box_source = None
        elif patch == "center":
            self.box_source = CenterBoxes(center_fraction, name="patch_boxes")
        elif patch == "boxes":
            self.box_source = BoxSelector(
                eval_mode="all" if eval_boxes == "mean" else "first",
                seed=seed,
                name="patch_boxes",
            )
        elif patch == "activation":
            self.box_source = ActivationPeakBoxes(center_fraction, name="patch_boxes")
        else:
            self.inverse_mapping = InverseMapping(
                input_size, filters=decoder_filters, name="inverse_mapping"
            )
            self.zoom = DifferentiableZoom(
                patch_size,
                min_extent=min_zoom_extent,
                max_extent=max_zoom_extent,
                name="zoom",
            )
            self.box_source = keras.layers.Reshape((1, 4), name="patch_boxes")
        # The zoom samples its own patch.
        self.patch_sampler = (
            None if self.zoom else PatchSampler(patch_size, name="patch_sampler")
        )
        self.local_pool = (
            keras.layers.GlobalMaxPooling2D(name="local_pool")
            if local_pooling == "max"
            else keras.layers.GlobalAveragePooling2D(name="local_pool")
        )
        self.refinement = RecursiveRefinement(
            units=lstm_units,
            num_layers=lstm_layers,
            timesteps=timesteps,
            name="recursive_refinement",
        )
        self.temporal_attention = TemporalAttentionPooling(name="temporal_attention")
        self.local_dropout = keras.layers.Dropout(dropout, name="local_dropout")
        self.local_classifier = self._classification_head(
            num_classes, "local_classifier", paper_init=False
        )
        self.patch_average = PatchAverage(name="patch_average")
        self.part_attention = (
            PartAttention(name="part_attention")
            if patch == "navigator" and part_pooling == "attention"
            else None
        )
        self.local_weighting = keras.layers.Rescaling(
            local_weight, dtype="float32", name="local_weighting"
        )
        self.logits_sum = keras.layers.Add(dtype="float32", name="logits")

        # === Functional model ===
        images = keras.Input(shape=(*input_size, 3), name="images")
        inputs = images
        if patch == "boxes":
            boxes = keras.Input(shape=(num_boxes, 4), name="boxes")
            inputs = [images, boxes]

        global_view = self.global_resize(images) if self.global_resize else images
        feature_map = self.global_backbone(global_view)
        for conv in self.addon:
            feature_map = conv(feature_map)
        pooled = self.global_dropout(self.global_pooling(feature_map))
        global_logits = self.global_classifier(pooled)

        extra_outputs = {}
        if patch == "saliency":
            saliency = self.inverse_mapping(feature_map)
            patches, zoom_boxes = self.zoom(images, saliency)
            patch_boxes = self.box_source(zoom_boxes)
            extra_outputs["saliency"] = saliency
        elif patch == "navigator":
            patch_boxes, part_scores, score_map = self.navigator(feature_map)
            extra_outputs["part_scores"] = part_scores
            extra_outputs["navigator_scores"] = score_map
            patches = self.patch_sampler(images, patch_boxes)
            # The navigator's teacher: training only, outside the graph.
            if teacher == "own":
                self.own_teacher_backbone = own_teacher_backbone(self.local_backbone)
            self.part_teacher, self.anchor_pooling = build_teacher(
                self._classification_head(num_classes, "part_teacher"),
                self.teacher_backbone,
                score_map.shape[1:3],
                anchor_sizes,
                input_size,
            )
        else:
            if patch == "boxes":
                patch_boxes = self.box_source(boxes)
            elif patch == "activation":
                # The classifier is linear, so applied at every position it
                # gives maps whose spatial mean is the global logits.
                class_maps = self.global_classifier(feature_map)
                patch_boxes = self.box_source(class_maps, global_logits)
            else:
                patch_boxes = self.box_source(images)
            patches = self.patch_sampler(images, patch_boxes)
        embedding = self.local_pool(self.local_backbone(patches))
        states = self.refinement(embedding)
        pooled, attention = self.temporal_attention(states)
        local_logits = self.local_classifier(self.local_dropout(pooled))
        timestep_logits = self.local_classifier(states)
        # Patches were folded into the batch; average them back per image.
        part_weights = None
        if self.part_attention is not None:
            part_weights = self.part_attention(pooled, patch_boxes)
            extra_outputs["part_weights"] = part_weights
        local_logits = self.patch_average(local_logits, patch_boxes, part_weights)
        timestep_logits = self.patch_average(timestep_logits, patch_boxes, part_weights)
        attention = self.patch_average(attention, patch_boxes, part_weights)
        logits = self.logits_sum([global_logits, self.local_weighting(local_logits)])

        super().__init__(
            inputs=inputs,
            outputs={
                "logits": logits,
                "global_logits": global_logits,
                "local_logits": local_logits,
                "timestep_logits": timestep_logits,
                "attention_weights": attention,
                "patch_boxes": patch_boxes,
                **extra_outputs,
            },
            num_classes=num_classes,
            class_names=class_names,
            image_converter=image_converter,
            **kwargs,
        )

        # === Config ===
        self.stream_outputs = ("local_logits",)
        self.image_size = image_size
        self.patch_size = patch_size
        self.input_size = input_size
        self.timesteps = timesteps
        self.lstm_units = lstm_units
        self.lstm_layers = lstm_layers
        self.local_pooling = local_pooling
        self.addon_channels = addon_channels
        self.local_weight = float(local_weight)
        self.patch = patch
        self.center_fraction = center_fraction
        self.num_boxes = num_boxes
        self.eval_boxes = eval_boxes
        self.decoder_filters = decoder_filters
        self.min_zoom_extent = min_zoom_extent
        self.max_zoom_extent = max_zoom_extent
        self.area_weight = float(area_weight)
        self.num_parts = num_parts
        self.part_pooling = part_pooling
        self.anchor_sizes = anchor_sizes
        self.anchor_density = anchor_density
        self.ranking_weight = float(ranking_weight)
        self.exploration = float(exploration)
        self.teacher = teacher
        self.dropout = dropout
        self.seed = seed
        self.global_loss = global_loss
        if global_loss == "joint":
            self.loss_terms = {"logits": 1.0, "local_logits": self.local_weight}
        else:
            self.loss_terms = {
                "global_logits": 1.0,
                "local_logits": self.local_weight,
            }
        if patch == "saliency":
            self.area_terms = {"saliency": self.area_weight}
        if patch == "navigator":
            self.extra_loss_terms = {
                "teacher": 1.0,
                "ranking": self.ranking_weight,
                "guided": self.local_weight,
            }
            if self.part_attention is not None:
                self.extra_loss_terms["part_ranking"] = self.ranking_weight
        self.global_stream_layers = [
            "global_backbone",
            *(f"addon_conv{index}" for index in range(2)),
            "global_classifier",
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "backbone": keras.saving.serialize_keras_object(self.global_backbone),
                "local_backbone": keras.saving.serialize_keras_object(
                    self.local_backbone
                ),
                "image_size": self.image_size,
                "patch_size": self.patch_size,
                "input_size": self.input_size,
                "timesteps": self.timesteps,
                "lstm_units": self.lstm_units,
                "lstm_layers": self.lstm_layers,
                "local_pooling": self.local_pooling,
                "addon_channels": self.addon_channels,
                "local_weight": self.local_weight,
                "global_loss": self.global_loss,
                "patch": self.patch,
                "center_fraction": self.center_fraction,
                "num_boxes": self.num_boxes,
                "eval_boxes": self.eval_boxes,
                "decoder_filters": self.decoder_filters,
                "min_zoom_extent": self.min_zoom_extent,
                "max_zoom_extent": self.max_zoom_extent,
                "area_weight": self.area_weight,
                "num_parts": self.num_parts,
                "part_pooling": self.part_pooling,
                "anchor_sizes": list(self.anchor_sizes),
                "anchor_density": self.anchor_density,
                "ranking_weight": self.ranking_weight,
                "exploration": self.exploration,
                "teacher": self.teacher,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config

    def finish_training(self, train_data):
        """With a learned navigator, `calibrate_statistics` on the training
        data; nothing otherwise. Returns whether it calibrated."""
        if self.navigator is None:
            return False
        self.calibrate_statistics(train_data)
        return True

    def calibrate_statistics(self, x, batch_size=32, max_images=1024):
        """Sets the part stream's batch-normalisation statistics to those of
        the patches this model looks at on `x`.

        The local backbone predicts with moving averages that training
        keeps at momentum 0.99: over the last hundred or so steps of
        weights that were still changing, and, with the shared teacher,
        of the whole images it runs over too. One pass over training images in
        prediction mode (the boxes it will choose then) gives each
        batch-normalisation layer the mean of the batches' statistics
        instead ("precise batch normalisation"). Nothing else changes; the
        weights stay as they are. `keras-rra train` does it after training
        for a model with a learned navigator (`finish_training`); after your
        own `model.fit`, call it on (a part of) the training images.

        What it changes on trained models is measured in the guide "Where
        to look" ("The part stream's statistics").

        Args:
            x: images `(n, *input_size, 3)` (float RGB in [0, 255]), a dict
                of model inputs, or a `tf.data.Dataset` of batches (inputs or
                `(inputs, labels)` pairs), without the test split's images.
            batch_size: images per pass, for arrays.
            max_images: the most images read.

        Returns:
            The number of images read.
        """
        if self.patch_sampler is None:
            raise ValueError(
                "calibrate_statistics needs a model that cuts its patches with a "
                f"PatchSampler; patch={self.patch!r} zooms instead."
            )
        layers = [
            layer
            for layer in self.local_backbone._flatten_layers()
            if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
        ]
        momenta = [layer.momentum for layer in layers]
        read = 0
        try:
            for index, inputs in enumerate(_batches(x, batch_size)):
                if read >= max_images:
                    break
                inputs = _first(inputs, max_images - read)
                images = inputs["images"] if isinstance(inputs, dict) else inputs
                boxes = self(inputs, training=False)["patch_boxes"]
                # Momentum i / (i + 1) at the i-th batch keeps the running
                # mean of all the batches' statistics so far.
                for layer in layers:
                    layer.momentum = index / (index + 1)
                self.local_backbone(self.patch_sampler(images, boxes), training=True)
                read += int(keras.ops.shape(images)[0])
        finally:
            for layer, momentum in zip(layers, momenta, strict=True):
                layer.momentum = momentum
        if not read:
            raise ValueError("calibrate_statistics was given no images.")
        return read

    def part_logits(self, images, boxes, training=None):
        """The local stream's logits `(batch, C)` for one box per image
        `(batch, 1, 4)`: what it says when it looks there."""
        patches = self.patch_sampler(images, boxes)
        embedding = self.local_pool(self.local_backbone(patches, training=training))
        states = self.refinement(embedding, training=training)
        pooled, _ = self.temporal_attention(states)
        return self.local_classifier(self.local_dropout(pooled, training=training))

    @property
    def teacher_backbone(self):
        """The backbone the navigator's teacher runs over the whole input:
        its own (`teacher="own"`) or the local stream's."""
        if self.own_teacher_backbone is not None:
            return self.own_teacher_backbone
        return self.local_backbone


def _batches(x, batch_size):
    """Batches of model inputs from arrays, a dict of arrays or a dataset."""
    if hasattr(x, "as_numpy_iterator") or not hasattr(x, "__len__"):
        for element in x:
            yield element[0] if isinstance(element, tuple) else element
        return
    if isinstance(x, dict):
        count = len(next(iter(x.values())))
        for start in range(0, count, batch_size):
            yield {key: value[start : start + batch_size] for key, value in x.items()}
        return
    for start in range(0, len(x), batch_size):
        yield x[start : start + batch_size]


def _first(inputs, count):
    """The first `count` examples of a batch of inputs."""
    if isinstance(inputs, dict):
        return {key: value[:count] for key, value in inputs.items()}
    return inputs[:count]
