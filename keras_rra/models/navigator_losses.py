"""The losses that train a `PartNavigator` from image labels alone."""

import keras
from keras import ops

from keras_rra.layers.anchor_pooling import AnchorPooling

NAVIGATOR_LOSSES = ("teacher", "ranking")


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
    pooling = AnchorPooling(tuple(grid_size), anchor_sizes, name="anchor_pooling")
    pooling.build(features)
    return head, pooling


def navigator_losses(
    images,
    labels,
    score_map,
    backbone,
    teacher_head,
    anchor_pooling,
    num_classes,
    training=True,
):
    """The navigator's two loss terms, each a scalar mean over the batch.

    A navigator sees the cheap global view and must learn which of its
    candidate boxes hold the part that decides the class. Its teacher looks
    at every candidate at full resolution, once per training or evaluation
    step and never at prediction: the patch backbone runs over the whole input image (a
    convolutional network over the whole image computes what it would
    compute on each patch, sharing the overlaps), `teacher_head` (a linear
    classifier) turns each position into class logits, and `anchor_pooling`
    averages them over each candidate box.

    - `"teacher"`: the teacher learns from image labels alone as a multiple
      instance problem: the image's logits are, for each class, the largest
      of its boxes' logits (some box must show the class), trained with
      cross-entropy;
    - `"ranking"`: the binary cross-entropy between sigmoid(score) of every
      candidate box and the probability the teacher gives the true class in
      that box, held without gradient. The navigator learns to predict,
      from the global view, where looking closer will tell the class.

    Args:
        images: the model's input images `(batch, height, width, 3)`, at full
            resolution.
        labels: `(batch,)` or `(batch, 1)` integer labels.
        score_map: the navigator's scores `(batch, h, w, sizes)`.
        backbone: the patch backbone (accepts any image size).
        teacher_head: a `Dense(num_classes)` layer.
        anchor_pooling: the `AnchorPooling` of the navigator's boxes.
        num_classes: the number of classes.
        training: the backbone's mode (False in evaluation: its batch
            normalisation statistics are left alone).

    Returns:
        A dict `{"teacher": ..., "ranking": ...}`.
    """
    box_logits = anchor_pooling(teacher_head(backbone(images, training=training)))
    box_logits = ops.cast(box_logits, "float32")
    one_hot = ops.one_hot(
        ops.cast(ops.reshape(labels, (-1,)), "int32"), num_classes, dtype="float32"
    )
    image_logits = ops.max(box_logits, axis=1)
    teacher = ops.mean(
        keras.losses.categorical_crossentropy(one_hot, image_logits, from_logits=True)
    )
    log_probs = ops.log_softmax(box_logits, axis=-1)
    target = ops.stop_gradient(ops.exp(ops.sum(log_probs * one_hot[:, None], -1)))
    scores = ops.reshape(ops.cast(score_map, "float32"), ops.shape(target))
    ranking = ops.mean(
        keras.losses.binary_crossentropy(
            target[..., None], scores[..., None], from_logits=True
        )
    )
    return {"teacher": teacher, "ranking": ranking}
