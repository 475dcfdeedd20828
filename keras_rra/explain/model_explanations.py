"""What a model saw: Grad-CAM of the global stream and of every refinement
step, the attention over the steps, and the regions it looked at.

Grad-CAM (Selvaraju et al., 2017): the feature map of a stream, weighted
channel by channel by the spatial mean of the class score's gradient,
summed and rectified; here normalised to [0, 1] per image and placed in the
coordinates of the input image (a patch's map inside its box).
"""

import keras
import numpy as np
import tensorflow as tf

from keras_rra.training.inference import prepare_image

# Per model class: (layer whose input is the global stream's last feature
# map, the logits its Grad-CAM explains).
GLOBAL_STREAMS = {
    "BaselineClassifier": ("pooling", "logits"),
    "RRAClassifier": ("global_pool", "global_logits"),
    "Coarse2FineClassifier": ("attention_maps", "coarse_logits"),
}
# RRA's local stream: the layer whose input is the patch's feature map.
LOCAL_STREAM = "local_pool"


def _model_kind(model):
    kind = type(model).__name__
    if kind not in GLOBAL_STREAMS:
        raise ValueError(
            f"Explanations are made for keras-rra's classifiers "
            f"({', '.join(GLOBAL_STREAMS)}); received a {kind}."
        )
    return kind


def prepare_images(model, images):
    """`images` as a float32 batch the model takes: a single image gains a
    batch axis; grayscale and RGBA become RGB; another size is resized and
    cropped the model's way (its `ImageConverter`)."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(
            "Expected images of shape (batch, height, width, 1, 3 or 4 channels); "
            f"received shape {images.shape}."
        )
    images = images.astype("float32")
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    elif images.shape[-1] == 4:
        images = images[..., :3]
    size = tuple(model.inputs[0].shape[1:3])
    if images.shape[1:3] != size:
        converter = getattr(model, "image_converter", None)
        images = np.stack(
            [prepare_image(image, size, converter) for image in images]
        ).astype("float32")
    return images


def _explanation_model(model):
    """A functional model with the model's outputs and the feature maps
    that its Grad-CAMs use."""
    kind = _model_kind(model)
    layer_name, _ = GLOBAL_STREAMS[kind]
    outputs = dict(model.output)
    outputs["global_map"] = model.get_layer(layer_name).input
    if isinstance(outputs["global_map"], (list, tuple)):
        outputs["global_map"] = outputs["global_map"][0]
    if kind == "RRAClassifier":
        outputs["local_map"] = model.get_layer(LOCAL_STREAM).input
    return keras.Model(model.inputs, outputs, name=f"{model.name}_explained")


def _cam(feature_map, gradients):
    """Rectified, gradient-weighted sum of channels: (N, h, w)."""
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    return tf.nn.relu(tf.reduce_sum(weights * feature_map, axis=-1))


def _normalise(maps):
    """Each map scaled to [0, 1] (a map of zeros stays zeros)."""
    maps = np.asarray(maps, dtype="float32")
    axes = tuple(range(1, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    high = maps.max(axis=axes, keepdims=True)
    return np.where(high > low, (maps - low) / np.maximum(high - low, 1e-12), 0.0)


def _paste(cams, boxes, size):
    """Patch maps `(N, P, h, w)` placed inside their boxes `(N, P, 4)` on
    canvases of `size`, bilinearly; where boxes overlap the larger wins."""
    height, width = size
    ys = (np.arange(height) + 0.5) / height
    xs = (np.arange(width) + 0.5) / width
    canvases = np.zeros((cams.shape[0], height, width), dtype="float32")
    h, w = cams.shape[2:]
    for index in range(cams.shape[0]):
        for part in range(cams.shape[1]):
            y1, x1, y2, x2 = boxes[index, part]
            v = (ys - y1) / max(y2 - y1, 1e-6)
            u = (xs - x1) / max(x2 - x1, 1e-6)
            rows = (v >= 0) & (v <= 1)
            cols = (u >= 0) & (u <= 1)
            if not rows.any() or not cols.any():
                continue
            # Sample points at the patch map's pixel centres.
            fy = np.clip(v[rows] * h - 0.5, 0, h - 1)
            fx = np.clip(u[cols] * w - 0.5, 0, w - 1)
            y0, x0 = np.floor(fy).astype(int), np.floor(fx).astype(int)
            y1i, x1i = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
            wy, wx = (fy - y0)[:, None], (fx - x0)[None, :]
            cam = cams[index, part]
            sampled = (
                cam[np.ix_(y0, x0)] * (1 - wy) * (1 - wx)
                + cam[np.ix_(y0, x1i)] * (1 - wy) * wx
                + cam[np.ix_(y1i, x0)] * wy * (1 - wx)
                + cam[np.ix_(y1i, x1i)] * wy * wx
            )
            region = canvases[index][np.ix_(rows, cols)]
            canvases[index][np.ix_(rows, cols)] = np.maximum(region, sampled)
    return canvases


class _GradCam:
    """The compiled Grad-CAM step of one model (traced once per shape)."""

    def __init__(self, model):
        self.kind = _model_kind(model)
        self.explained = _explanation_model(model)
        self.global_logits = GLOBAL_STREAMS[self.kind][1]
        self.step = tf.function(self._step, reduce_retracing=True)

    def _step(self, images, class_index):
        with tf.GradientTape(persistent=True) as tape:
            outputs = self.explained(images, training=False)
            predicted = tf.argmax(outputs["logits"], axis=-1, output_type=tf.int32)
            chosen = tf.where(class_index >= 0, class_index, predicted)
            one_hot = tf.one_hot(chosen, tf.shape(outputs["logits"])[-1])
            global_score = tf.reduce_sum(
                tf.cast(outputs[self.global_logits], "float32") * one_hot, axis=-1
            )
            step_scores = []
            if self.kind == "RRAClassifier":
                steps = tf.cast(outputs["timestep_logits"], "float32")
                step_scores = [
                    tf.reduce_sum(steps[:, t] * one_hot, axis=-1)
                    for t in range(steps.shape[1])
                ]
        global_map = tf.cast(outputs["global_map"], "float32")
        result = {
            "outputs": outputs,
            "class_index": chosen,
            "global_cam": _cam(global_map, tape.gradient(global_score, global_map)),
        }
        if step_scores:
            local_map = outputs["local_map"]
            result["timestep_cams"] = tf.stack(
                [
                    _cam(
                        tf.cast(local_map, "float32"),
                        tf.cast(tape.gradient(score, local_map), "float32"),
                    )
                    for score in step_scores
                ],
                axis=1,
            )
        del tape
        return result


_CACHE = {}


def _grad_cam(model):
    key = id(model)
    if key not in _CACHE or _CACHE[key][0] is not model:
        _CACHE.clear()
        _CACHE[key] = (model, _GradCam(model))
    return _CACHE[key][1]


def timestep_gradcam(model, images, class_index=None, batch_size=32):
    """Grad-CAM of the global stream and, for RRA, of every refinement step.

    For step t the map explains `timestep_logits[:, t, class]` on the local
    stream's last feature map, placed inside the patch's box in image
    coordinates (the image outside the patches is 0); the global map
    explains the global stream's logits (Coarse2Fine: its coarse pass).

    Args:
        model: an `RRAClassifier`, `Coarse2FineClassifier` or
            `BaselineClassifier`.
        images: `(batch, H, W, C)` or one `(H, W, C)` image, pixels in
            [0, 255]; another size is resized the model's way.
        class_index: the class to explain: None (each image's predicted
            class), an int, or one per image.
        batch_size: images per compiled step.

    Returns:
        A dict: `global_cam` `(batch, H, W)`; for RRA `timestep_cams`
        `(batch, T, H, W)`; all in [0, 1]; `class_index` `(batch,)`;
        `probabilities` `(batch, num_classes)`; and `outputs`, the model's
        outputs.

    Example:

    >>> maps = timestep_gradcam(model, images)
    >>> maps["timestep_cams"].shape
    (8, 10, 128, 128)
    """
    images = prepare_images(model, images)
    count = len(images)
    classes = _class_indices(model, class_index, count)
    size = images.shape[1:3]
    grad_cam = _grad_cam(model)
    parts = []
    for start in range(0, count, batch_size):
        stop = min(start + batch_size, count)
        result = grad_cam.step(
            tf.constant(images[start:stop]), tf.constant(classes[start:stop])
        )
        parts.append(tf.nest.map_structure(np.asarray, result))
    merged = {
        key: np.concatenate([part[key] for part in parts])
        for key in parts[0]
        if key != "outputs"
    }
    outputs = {
        name: np.concatenate([np.asarray(part["outputs"][name]) for part in parts])
        for name in parts[0]["outputs"]
        if name not in ("global_map", "local_map")
    }
    global_cam = np.asarray(
        tf.image.resize(merged["global_cam"][..., None], size, method="bilinear")
    )[..., 0]
    explanation = {
        "global_cam": _normalise(global_cam),
        "class_index": merged["class_index"].astype("int64"),
        "probabilities": np.asarray(tf.nn.softmax(outputs["logits"])),
        "outputs": outputs,
    }
    if "timestep_cams" in merged:
        cams = merged["timestep_cams"]  # (count * parts, T, h, w)
        boxes = np.asarray(outputs["patch_boxes"], dtype="float32")
        if boxes.ndim == 2:
            boxes = boxes[:, None]
        parts_per_image = boxes.shape[1]
        steps = cams.shape[1]
        cams = cams.reshape(count, parts_per_image, steps, *cams.shape[2:])
        placed = np.stack(
            [_paste(cams[:, :, t], boxes, size) for t in range(steps)], axis=1
        )
        explanation["timestep_cams"] = _normalise(
            placed.reshape(count * steps, *size)
        ).reshape(count, steps, *size)
    return explanation


def _class_indices(model, class_index, count):
    if class_index is None:
        return np.full((count,), -1, dtype="int32")
    indices = np.broadcast_to(np.asarray(class_index), (count,)).astype("int64")
    bad = indices[(indices < 0) | (indices >= model.num_classes)]
    if bad.size:
        raise ValueError(
            f"class_index {int(bad[0])} is out of range: the model has "
            f"{model.num_classes} classes (0 to {model.num_classes - 1})."
        )
    return indices.astype("int32")


def temporal_attention(model, images, batch_size=32):
    """RRA's attention over its refinement steps: `(batch, T)`, each row
    summing to 1."""
    if type(model).__name__ != "RRAClassifier":
        raise ValueError(
            f"Attention over refinement steps is RRA's; a {type(model).__name__} "
            "has no steps."
        )
    outputs = model.predict(
        prepare_images(model, images), batch_size=batch_size, verbose=0
    )
    return np.asarray(outputs["attention_weights"], dtype="float32")


def where_it_looked(model, images, batch_size=32):
    """The regions a model looked at, per image: a list of
    `{"box": (y1, x1, y2, x2), "score": float or None}`, best first.

    RRA: its patches (navigator parts with their scores; a centred,
    activation-peak, given or saliency-zoom box). Coarse2Fine: its part
    boxes (navigator) or its zoom box. The baseline looks at the whole
    image only: a ValueError says so.
    """
    _model_kind(model)
    if type(model).__name__ == "BaselineClassifier":
        raise ValueError(
            "The baseline looks at the whole image only: it chooses no region "
            "(its global Grad-CAM is what it saw)."
        )
    outputs = model.predict(
        prepare_images(model, images), batch_size=batch_size, verbose=0
    )
    return regions(outputs)


def regions(outputs):
    """`where_it_looked`'s lists from a model's outputs."""
    if "part_boxes" in outputs:
        boxes = outputs["part_boxes"]
    elif "patch_boxes" in outputs:
        boxes = outputs["patch_boxes"]
    else:
        boxes = outputs["zoom_box"]
    boxes = np.asarray(boxes, dtype="float32")
    if boxes.ndim == 2:
        boxes = boxes[:, None]
    scores = outputs.get("part_scores")
    result = []
    for index in range(len(boxes)):
        result.append(
            [
                {
                    "box": tuple(float(value) for value in boxes[index, part]),
                    "score": None
                    if scores is None
                    else float(np.asarray(scores)[index, part]),
                }
                for part in range(boxes.shape[1])
            ]
        )
    return result


def saliency(model, images, batch_size=32):
    """The saliency map a zooming model predicts, `(batch, H, W)` in [0, 1]:
    Coarse2Fine with `fine_input="zoom"` or `"mask"`, RRA with
    `patch="saliency"`."""
    _model_kind(model)
    if "saliency" not in model.output:
        raise ValueError(
            f"{type(model).__name__} {model.name!r} predicts no saliency map: it "
            "has one with Coarse2Fine's fine_input='zoom' or 'mask', or RRA's "
            "patch='saliency'."
        )
    outputs = model.predict(
        prepare_images(model, images), batch_size=batch_size, verbose=0
    )
    maps = np.asarray(outputs["saliency"], dtype="float32")
    return maps[..., 0] if maps.ndim == 4 else maps


def explain_images(model, images, class_index=None, batch_size=32):
    """Everything `explanation_figure` draws, per image: a list of dicts
    with `global_cam`, `timestep_cams` and `attention` (RRA), `looked`
    (the regions, none for the baseline), `class_index` and
    `probability`."""
    explanation = timestep_gradcam(model, images, class_index, batch_size)
    outputs = explanation["outputs"]
    has_regions = any(
        name in outputs for name in ("part_boxes", "patch_boxes", "zoom_box")
    )
    looked = regions(outputs) if has_regions else None
    results = []
    for index, chosen in enumerate(explanation["class_index"]):
        result = {
            "global_cam": explanation["global_cam"][index],
            "class_index": int(chosen),
            "probability": float(explanation["probabilities"][index, chosen]),
            "looked": looked[index] if looked else [],
        }
        if "timestep_cams" in explanation:
            result["timestep_cams"] = explanation["timestep_cams"][index]
            result["attention"] = np.asarray(
                outputs["attention_weights"][index], dtype="float32"
            )
        results.append(result)
    return results
