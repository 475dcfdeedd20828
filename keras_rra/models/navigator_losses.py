"""The losses that train a `PartNavigator` from image labels alone."""

import keras
from keras import ops

from keras_rra.layers.anchor_pooling import AnchorPooling
from keras_rra.layers.part_navigator import SUPPRESSED
from keras_rra.layers.part_navigator import anchor_grid

# The teacher's evidence for a box is its true-class logit averaged over the
# box's central square of this fraction of the side: the box centred on the
# evidence wins. (Its largest logit anywhere in the box ties the boxes that
# share the peak cell and picks one at the border; on task a, 10 epochs,
# the box it rated best held the part's centre in 21% of test images,
# against 66% for the central half.)
EVIDENCE_BOX_SCALE = 0.5


def build_teacher(head, backbone, grid_size, anchor_sizes, input_size):
    """The teacher's classifier and box pooling, built with their weights.

    They run in the loss only, outside the model's graph, so they are built
    here, before any weights are loaded into the model.

    Args:
        head: the teacher's classifier, a `Dense(num_classes)` layer.
        backbone: the backbone the teacher runs over the whole input.
        grid_size: `(h, w)` of the navigator's feature map.
        anchor_sizes: the navigator's box sides.
        input_size: `(height, width)` of the model's input images.

    Returns:
        `(teacher_head, anchor_pooling)`.
    """
    features = backbone.compute_output_spec(
        keras.KerasTensor((None, *input_size, 3), dtype="float32")
    ).shape
    head.build((None, features[-1]))
    pooling = AnchorPooling(
        tuple(grid_size),
        anchor_sizes,
        reduction="mean",
        box_scale=EVIDENCE_BOX_SCALE,
        name="anchor_pooling",
    )
    pooling.build((*features[:3], 1))
    return head, pooling


def own_teacher_backbone(backbone):
    """A copy of `backbone` with weights of its own, for the teacher.

    The teacher is the full-resolution baseline with max pooling, and it
    learns as fast as that baseline only when nothing else trains its
    backbone: the patch stream's losses, on a shared one, pull the same
    weights towards patches (see `teacher` in `RRAClassifier`). The copy
    starts from `backbone`'s weights (ImageNet ones included, with no
    second download); at inference it is never run.

    Args:
        backbone: the built backbone `keras.Model` to copy; it must accept
            images of any size.

    Returns:
        A `keras.Model` named `"teacher_backbone"`.
    """
    teacher = keras.models.clone_model(backbone)
    teacher.set_weights(backbone.get_weights())
    teacher.name = "teacher_backbone"
    return teacher


def navigator_losses(
    images,
    labels,
    score_map,
    backbone,
    teacher_head,
    anchor_pooling,
    num_classes,
    training=True,
    chosen_boxes=None,
    part_weights=None,
):
    """The navigator's loss terms, and the box its teacher points at.

    A navigator sees the cheap global view and must learn which of its
    candidate boxes holds the part that decides the class. Its teacher looks
    at the whole input at full resolution, once per training or evaluation
    step and never at prediction: a patch backbone (the model's own, or a
    copy with weights of its own: `own_teacher_backbone`) runs over the
    whole input image (a convolutional network over the whole image
    computes what it would compute on each patch, sharing the overlaps), and
    `teacher_head` (a linear classifier) turns each cell into class logits.

    - `"teacher"`: the teacher learns from image labels alone: its image
      logits are `teacher_head` on the feature map's global max pooling
      (each feature's strongest response anywhere, so a small part's
      evidence is not divided by the image's area), trained with
      cross-entropy. This is the full-resolution baseline with max
      pooling, the row that learns part tasks reliably (task a: 0.958 ±
      0.005 over 3 seeds). Its logits are sums of one term per feature,
      each in the cell where that feature peaks: a cell's class logits,
      the map the boxes are rated on, are the terms of the features that
      peak there (their sum over the cells is the image's logits, less the
      bias). The earlier multiple-instance form, the largest
      cell logit per class, trains through one cell per class and image:
      on a small no-beacon task (seeds 0-2) its best box followed the part
      with correlations 0.83, 0.54-0.61 and 0.37-0.47, against 0.85-0.86,
      0.78-0.85 and 0.85 for the pooled features (with the centred
      evidence below);
    - `"ranking"`: the teacher's evidence for a box is its true-class logit,
      centred (minus the mean of the cell's logits over the classes),
      averaged over the box's central square (`anchor_pooling`, see
      `EVIDENCE_BOX_SCALE`); the navigator's scores, as a softmax over the
      boxes, learn to pick the box of most evidence (cross-entropy with that
      box as the label). Only where the evidence peaks matters, so the
      target means the same while the teacher is unsure (small logits) and
      once it is sure.
    - `"part_ranking"`, given the boxes the navigator chose and the weights
      the local stream gives them (`PartAttention`): the cross-entropy of
      the weights against the chosen box of most teacher evidence, so the
      local stream, which sees each box at full resolution with its
      surroundings, learns to prefer the part among look-alikes that the
      navigator's global view cannot tell apart.

    The teacher's box is returned too: the size of its best box, centred
    on the peak cell within it (`centred_on_peak`). The model trains its part
    classifier there as well (the `"guided"` term), so that the part
    classifier learns the part while the navigator is still learning where
    it is.

    Args:
        images: the model's input images `(batch, height, width, 3)`, at full
            resolution.
        labels: `(batch,)` or `(batch, 1)` integer labels.
        score_map: the navigator's scores `(batch, h, w, sizes)`.
        backbone: the teacher's backbone (accepts any image size).
        teacher_head: a `Dense(num_classes)` layer.
        anchor_pooling: the `AnchorPooling` of the navigator's boxes.
        num_classes: the number of classes.
        training: the backbone's mode (False in evaluation: its batch
            normalisation statistics are left alone).
        chosen_boxes: optional `(batch, K, 4)` boxes the navigator chose
            (each one of its candidates).
        part_weights: optional `(batch, K)` weights of the chosen boxes;
            with `chosen_boxes`, adds the `"part_ranking"` term.

    Returns:
        `(terms, teacher_boxes)`: a dict `{"teacher": ..., "ranking": ...}`
        (and `"part_ranking"`) of scalar means over the batch, and
        `(batch, 1, 4)` normalised boxes.
    """
    teacher, box_evidence, best, teacher_boxes = teacher_pointing(
        images,
        labels,
        backbone,
        teacher_head,
        anchor_pooling,
        num_classes,
        training,
    )
    ranking = ops.mean(
        keras.losses.sparse_categorical_crossentropy(
            best,
            ops.reshape(ops.cast(score_map, "float32"), ops.shape(box_evidence)),
            from_logits=True,
        )
    )
    terms = {"teacher": teacher, "ranking": ranking}
    if part_weights is not None:
        anchors = anchor_grid(
            anchor_pooling.anchor_grid_size, anchor_pooling.anchor_sizes
        )
        terms["part_ranking"] = part_ranking_loss(
            box_evidence, anchors, chosen_boxes, part_weights
        )
    return terms, teacher_boxes


def part_ranking_loss(box_evidence, anchors, chosen_boxes, part_weights):
    """The cross-entropy of the part weights against the chosen box of most
    teacher evidence.

    Args:
        box_evidence: `(batch, N)` the teacher's evidence per candidate.
        anchors: `(N, 4)` the candidates (`anchor_grid`).
        chosen_boxes: `(batch, K, 4)` the chosen candidates.
        part_weights: `(batch, K)` their weights, summing to one.

    Returns:
        A scalar: the mean over the batch.
    """
    anchors = ops.convert_to_tensor(anchors)
    chosen_boxes = ops.cast(chosen_boxes, "float32")
    same = ops.all(
        ops.abs(chosen_boxes[:, :, None] - anchors[None, None]) < 1e-5, axis=-1
    )
    # Candidates shifted inside the image can coincide; they hold the same
    # evidence, so the largest over the matches is that box's.
    evidence = ops.max(ops.where(same, box_evidence[:, None], SUPPRESSED), axis=-1)
    best = ops.argmax(ops.round(evidence * 1e4), axis=-1)
    return ops.mean(
        keras.losses.sparse_categorical_crossentropy(
            best, ops.cast(part_weights, "float32")
        )
    )


def teacher_pointing(
    images,
    labels,
    backbone,
    teacher_head,
    anchor_pooling,
    num_classes,
    training,
):
    """What the navigator's teacher says about each image: its loss, its
    evidence per box and the box it points at (see `navigator_losses`).

    It needs the images and labels only, not the model's outputs, so the
    teacher's box can be read without running the model
    (`FineGrainedClassifier.teacher_boxes`).

    Returns:
        `(teacher_loss, box_evidence, best, teacher_boxes)`: the teacher's
        cross-entropy (a scalar mean over the batch), `(batch, N)` float32
        evidence for the true class per candidate box, `(batch,)` the index
        of the candidate of most evidence (the navigator's ranking label),
        and `(batch, 1, 4)` normalised boxes, without gradient.
    """
    features = backbone(images, training=training)
    strongest = ops.max(features, axis=(1, 2), keepdims=True)
    image_logits = ops.cast(teacher_head(strongest[:, 0, 0]), "float32")
    # The max-pooled logit is a sum over features of a weight times the
    # feature's strongest response, so each term lies in the cell of that
    # response and nowhere else: each cell's logits from the features that
    # peak there (the linear layer on every cell's own features, a class
    # activation map, also counts the weaker responses a max ignores; on
    # task a its best box held the part in 0.766 / 0.716 / 0.796 of test
    # images on three trained runs, these terms' in 0.894 / 0.872 / 0.896;
    # docs/results/teacher_maps.json).
    cell_logits = peak_terms(features, teacher_head.kernel)
    # A softmax cross-entropy leaves the part of the logits that every class
    # shares unconstrained, and per cell that part follows how strongly the
    # cell responds at all (the body and the clutter light up with the
    # mark): centred, a cell's evidence is what it says for the true class
    # against the others.
    cell_logits = cell_logits - ops.mean(cell_logits, axis=-1, keepdims=True)
    one_hot = ops.one_hot(
        ops.cast(ops.reshape(labels, (-1,)), "int32"), num_classes, dtype="float32"
    )
    teacher = ops.mean(
        keras.losses.categorical_crossentropy(one_hot, image_logits, from_logits=True)
    )
    evidence = ops.sum(cell_logits * one_hot[:, None, None], -1, keepdims=True)
    box_evidence = ops.squeeze(anchor_pooling(evidence), -1)
    # Near-tied boxes differ in the last bits of threaded float sums, which
    # change from run to run on a loaded machine and between one device and
    # several; quantised evidence makes the first of the tied boxes win on
    # all of them (without it, a resumed run and a mirrored one drifted
    # apart from the uninterrupted one once a flip changed the label).
    best = ops.argmax(ops.round(box_evidence * 1e4), axis=-1)
    anchors = anchor_grid(anchor_pooling.anchor_grid_size, anchor_pooling.anchor_sizes)
    best_anchors = ops.matmul(
        ops.one_hot(best, len(anchors)), ops.convert_to_tensor(anchors)
    )
    teacher_boxes = centred_on_peak(evidence, best_anchors)[:, None]
    return teacher, box_evidence, best, ops.stop_gradient(teacher_boxes)


def peak_terms(features, kernel):
    """Each cell's share of a max-pooled linear classifier's logits.

    Args:
        features: `(batch, h, w, channels)` feature map.
        kernel: `(channels, classes)` weights of the linear layer applied to
            the map's global max pooling.

    Returns:
        `(batch, h, w, classes)` float32: per cell, the terms
        `kernel[c] * features[c]` of the features c whose strongest
        response lies there (summed over the cells: the logits less the
        bias).
    """
    strongest = ops.max(features, axis=(1, 2), keepdims=True)
    peaks = ops.cast(features >= strongest, features.dtype) * features
    return ops.matmul(ops.cast(peaks, "float32"), ops.cast(kernel, "float32"))


def centred_on_peak(evidence, boxes):
    """Each box moved to be centred on its image's peak cell among the
    cells it holds, as far as the image allows.

    The guided term trains the part classifier on the teacher's box. The
    best anchor holds the most evidence but lies on the anchor grid, so the
    part can sit at its edge, half cut off; centred on the peak cell, the
    part classifier is shown the whole part. The peak is searched within
    the box: the box's evidence is the sum of many features, the peak of
    one, and a single clutter cell elsewhere can outshine the part (task
    a, a trained teacher: the part's centre in the best anchor 0.872, in
    the box centred on the peak anywhere 0.786, on the peak within the
    anchor 0.892). Where no cell's centre lies in a box, its peak is
    searched everywhere.

    Args:
        evidence: `(batch, h, w, 1)` evidence per cell.
        boxes: `(batch, 4)` normalised `(y0, x0, y1, x1)` boxes; their sizes
            are kept.

    Returns:
        `(batch, 4)` boxes of the same sizes, centred on the peak cell's
        centre, shifted back inside `[0, 1]` where they would cross it.
    """
    height, width = ops.shape(evidence)[1], ops.shape(evidence)[2]
    rows = (ops.arange(height, dtype="float32") + 0.5) / ops.cast(height, "float32")
    cols = (ops.arange(width, dtype="float32") + 0.5) / ops.cast(width, "float32")
    in_rows = (rows[None] >= boxes[:, 0:1]) & (rows[None] <= boxes[:, 2:3])
    in_cols = (cols[None] >= boxes[:, 1:2]) & (cols[None] <= boxes[:, 3:4])
    inside = in_rows[:, :, None] & in_cols[:, None, :]
    inside = ops.reshape(inside, (-1, height * width))
    inside = inside | ~ops.any(inside, axis=-1, keepdims=True)
    flat = ops.reshape(evidence, (-1, height * width))
    # Rounded like the box choice: near-tied cells must not flip with the
    # last bits of threaded sums.
    peak = ops.argmax(ops.where(inside, ops.round(flat * 1e4), SUPPRESSED), axis=-1)
    centre_y = (ops.cast(peak // width, "float32") + 0.5) / ops.cast(height, "float32")
    centre_x = (ops.cast(peak % width, "float32") + 0.5) / ops.cast(width, "float32")
    half_height = (boxes[:, 2] - boxes[:, 0]) / 2
    half_width = (boxes[:, 3] - boxes[:, 1]) / 2
    centre_y = ops.clip(centre_y, half_height, 1.0 - half_height)
    centre_x = ops.clip(centre_x, half_width, 1.0 - half_width)
    return ops.stack(
        [
            centre_y - half_height,
            centre_x - half_width,
            centre_y + half_height,
            centre_x + half_width,
        ],
        axis=-1,
    )
