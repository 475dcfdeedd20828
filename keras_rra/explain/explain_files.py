"""Explanation figures for image files and plots for a run folder: what
`keras-rra explain` and `keras-rra plot` write."""

import os
import warnings

import numpy as np

from keras_rra.data.image_files import expand_image_paths
from keras_rra.data.image_files import read_image
from keras_rra.explain.figures import confusion_matrix
from keras_rra.explain.figures import save_explanation
from keras_rra.explain.figures import write_run_plots
from keras_rra.explain.model_explanations import explain_images
from keras_rra.settings.data_settings import MAX_IMAGE_PIXELS
from keras_rra.training.inference import class_names_of
from keras_rra.training.inference import load_classifier
from keras_rra.training.inference import prepare_image


def explain_files(
    model,
    paths,
    output_dir,
    class_index=None,
    batch_size=16,
    max_image_pixels=MAX_IMAGE_PIXELS,
):
    """Writes one figure per image file to `output_dir/<name>.png`.

    Each file is decoded as training decodes images and sized by the
    model's own converter; a file that is not an image is skipped with a
    warning, as training skips one.

    Args:
        model: a keras-rra classifier.
        paths: image files, folders and glob patterns.
        output_dir: where the PNGs go (made if missing).
        class_index: the class to explain (default: each one's prediction).
        batch_size: images explained at a time.
        max_image_pixels: a file whose header declares more pixels is
            skipped, with a warning, without being decoded.

    Returns:
        One dict per image explained: `image`, `figure`, `class`,
        `probability`, `looked` (its regions) and, for RRA, `attention`.
    """
    files = expand_image_paths(paths)
    if not files:
        raise ValueError(f"No image file in {', '.join(map(str, paths))}.")
    os.makedirs(output_dir, exist_ok=True)
    size = tuple(int(side) for side in model.inputs[0].shape[1:3])
    converter = getattr(model, "image_converter", None)
    names = class_names_of(model)
    images, readable = [], []
    for path in files:
        try:
            image = read_image(path, max_image_pixels)
            images.append(prepare_image(image, size, converter))
            readable.append(path)
        except (ValueError, OSError) as error:
            warnings.warn(f"skipped {path}: {error}", stacklevel=2)
    if not readable:
        raise ValueError(f"None of the {len(files)} files could be read as an image.")
    results = []
    used = set()
    for start in range(0, len(readable), batch_size):
        batch = np.stack(images[start : start + batch_size]).astype("float32")
        explained = explain_images(model, batch, class_index)
        for path, image, explanation in zip(
            readable[start : start + batch_size], batch, explained, strict=True
        ):
            stem = os.path.splitext(os.path.basename(path))[0]
            name, suffix = stem, 1
            while name in used:
                name, suffix = f"{stem}-{suffix}", suffix + 1
            used.add(name)
            figure = save_explanation(
                os.path.join(output_dir, f"{name}.png"), image, explanation, names
            )
            result = {
                "image": path,
                "figure": figure,
                "class": names[explanation["class_index"]],
                "probability": round(explanation["probability"], 6),
                "looked": explanation["looked"],
            }
            if "attention" in explanation:
                result["attention"] = [
                    round(float(value), 6) for value in explanation["attention"]
                ]
            results.append(result)
    return results


def plot_run(run_dir, model=None, test_data=None, class_names=None):
    """Writes a run folder's plots: `curves.png` from `history.csv` and,
    predicting the run's test split, `confusion.png` and
    `per_class_accuracy.png`.

    Args:
        run_dir: a run folder of `keras-rra train`.
        model: the trained model, when the caller has it (else read from
            the folder).
        test_data: its test split, when the caller has it.
        class_names: its class names, when the caller has them.

    Returns:
        The paths written.
    """
    from keras_rra.training.run import load_run_config
    from keras_rra.training.run import load_split

    if not os.path.isdir(run_dir):
        raise ValueError(f"Run folder {run_dir!r} does not exist.")
    model_path = os.path.join(run_dir, "model.keras")
    if model is None:
        if not os.path.isfile(model_path):
            raise ValueError(
                f"{run_dir!r} holds no model.keras: the run has not finished."
            )
        model = load_classifier(model_path)
    if test_data is None:
        config = load_run_config(model_path)
        if config is None:
            raise ValueError(f"{run_dir!r} holds no config.json.")
        test_data, class_names = load_split(config, "test", shuffle=False)
    class_names = list(class_names or class_names_of(model))
    labels, predictions = [], []
    for inputs, batch_labels in test_data:
        outputs = model(inputs, training=False)
        predictions.append(np.asarray(outputs["logits"]).argmax(-1))
        labels.append(np.asarray(batch_labels))
    confusion = confusion_matrix(
        np.concatenate(labels), np.concatenate(predictions), len(class_names)
    )
    return write_run_plots(run_dir, confusion, class_names)
