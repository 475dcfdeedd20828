"""Every export format gives Keras' answers on a trained tiny model."""

import io
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_rra.export import export_saved_model
from keras_rra.export.onnx_export import export_onnx
from keras_rra.export.predictors import load_predictor
from keras_rra.export.tflite_export import export_tflite
from keras_rra.export.tflite_export import int8_float_layers
from keras_rra.export.tflite_export import tflite_operators
from keras_rra.models import BaselineClassifier
from keras_rra.models import Coarse2FineClassifier
from keras_rra.models import RRAClassifier
from keras_rra.training import TwoStageTraining
from tests.helpers import tiny_synthetic

# 64 px: at 32 px the synthetic parts are too small for a tiny backbone to
# generalise (test top-1 stays near chance), and a model that predicts one
# class agrees with any export.
SIZE = 64
MODELS = {
    "baseline": lambda names: BaselineClassifier(
        num_classes=4, backbone="tiny", image_size=SIZE, class_names=names
    ),
    "rra": lambda names: RRAClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=SIZE,
        patch_size=SIZE // 2,
        timesteps=3,
        lstm_units=16,
        addon_channels=16,
        class_names=names,
    ),
    "coarse2fine": lambda names: Coarse2FineClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=SIZE,
        num_attention_maps=4,
        decoder_filters=8,
        class_names=names,
    ),
}
NAMES = ["red_circle", "green_square", "blue_triangle", "yellow_ring"]
# Test top-1 after 6 epochs, measured: 0.795 (baseline), 0.855 (RRA), 0.91
# (Coarse2Fine, three epochs per stage); chance is 0.25. Coarse2Fine with
# two epochs per stage gave 0.68-0.715 with the max-pooled navigator
# teacher, too near the 0.7 the test asks for.
EPOCHS = {"baseline": 6, "rra": 6, "coarse2fine": 6}


def _split(split, batch_size):
    return tiny_synthetic(
        split,
        batch_size,
        examples_per_class=300,
        test_examples_per_class=50,
        image_size=SIZE,
    )


def _trained(kind):
    model = MODELS[kind](NAMES)
    model.compile()
    epochs = EPOCHS[kind]
    callbacks = [TwoStageTraining(epochs // 2)] if kind == "coarse2fine" else []
    model.fit(_split("train", 16), epochs=epochs, callbacks=callbacks, verbose=0)
    return model


def _test_split():
    pairs = [(x.numpy(), y.numpy()) for x, y in _split("test", 50)]
    images, labels = zip(*pairs, strict=True)
    return np.concatenate(images), np.concatenate(labels)


def _softmax(logits):
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))


def _probabilities(path, images):
    predictor = load_predictor(path)
    return np.concatenate(
        [predictor.probabilities(images[i : i + 50]) for i in range(0, len(images), 50)]
    )


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_format_gives_keras_answers(kind, tmp_path):
    model = _trained(kind)
    images, labels = _test_split()
    expected = _softmax(model.predict(images, verbose=0)["logits"])
    top1 = expected.argmax(-1)
    keras_accuracy = float((top1 == labels).mean())
    assert keras_accuracy >= 0.7, keras_accuracy

    version = export_saved_model(model, str(tmp_path / kind))
    assert version == str(tmp_path / kind / "1")

    # SavedModel, both signatures.
    loaded = tf.saved_model.load(version)
    served = loaded.signatures["predict_images"](images=tf.constant(images))
    probabilities = served["probabilities"].numpy()
    np.testing.assert_array_equal(probabilities.argmax(-1), top1)
    assert np.abs(probabilities - expected).max() <= 1e-4
    names = served["top_k_class_names"].numpy()[:, 0].astype(str)
    assert list(names) == [NAMES[i] for i in top1]
    pngs = []
    for image in images[:8].astype("uint8"):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        pngs.append(buffer.getvalue())
    from_bytes = loaded.signatures["serving_default"](image_bytes=tf.constant(pngs))
    # The test images are whole pixels at the model's size: PNG is lossless.
    np.testing.assert_allclose(
        from_bytes["probabilities"].numpy(), expected[:8], atol=1e-4
    )

    # TFLite: float32, float16, int8; builtin operators only.
    calibration = [x.numpy() for x, _ in _split("train", 50).take(4)]
    # int8 measured: 99.5-100% agreement; 88.5% (RRA) and 90.5% (Coarse2Fine)
    # with the sampling geometry quantized too (no `float_layers`).
    for quantize, agreement in (("none", 1.0), ("float16", 0.99), ("int8", 0.97)):
        path = str(tmp_path / f"{kind}-{quantize}.tflite")
        export_tflite(
            version,
            path,
            quantize,
            calibration,
            class_names=NAMES,
            float_layers=int8_float_layers(model),
        )
        with open(path, "rb") as file:
            operators = tflite_operators(file.read())
        assert not [op for op in operators if op.startswith("custom:")], operators
        lite = _probabilities(path, images)
        same = float((lite.argmax(-1) == top1).mean())
        assert same >= agreement, (quantize, same)
        if quantize == "none":
            assert np.abs(lite - expected).max() <= 1e-4
        if quantize == "int8":
            accuracy = float((lite.argmax(-1) == labels).mean())
            assert abs(accuracy - keras_accuracy) <= 0.02, (accuracy, keras_accuracy)
    with open(str(tmp_path / f"{kind}-none.labels.txt")) as file:
        assert file.read().split() == NAMES

    # ONNX.
    onnx_path = export_onnx(version, str(tmp_path / f"{kind}.onnx"))
    onnx_probabilities = _probabilities(onnx_path, images)
    np.testing.assert_array_equal(onnx_probabilities.argmax(-1), top1)
    assert np.abs(onnx_probabilities - expected).max() <= 1e-4
    assert not [name for name in os.listdir(tmp_path) if ".partial" in name]


def _scaled_weights(model, seed=0):
    # A larger classifier than the initialisation's N(0, 0.01), so that a
    # change of a few pixels moves the probabilities measurably.
    rng = np.random.default_rng(seed)
    for variable in model.get_layer("classifier").trainable_variables:
        variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))


def test_a_raw_image_gets_one_answer_from_every_copy_and_format(tmp_path):
    """One model, one image of another size and aspect: the same
    probabilities from `.keras` anywhere on disk, `predict`, SavedModel
    `serving_default`, TFLite and ONNX, with nothing beside the files."""
    import shutil

    from keras_rra.export.export_run import export_model
    from keras_rra.layers.image_converter import ImageConverter
    from keras_rra.training.inference import predict_files
    from keras_rra.training.inference import prepare_image

    converter = ImageConverter(32, augmentation="standard", resize_size=40)
    model = BaselineClassifier(
        num_classes=4,
        backbone="tiny",
        image_size=32,
        class_names=NAMES,
        image_converter=converter,
    )
    _scaled_weights(model)
    rng = np.random.default_rng(1)
    raw = rng.integers(0, 256, (50, 37, 3), dtype="uint8")
    image_path = str(tmp_path / "raw.png")
    Image.fromarray(raw).save(image_path)
    expected = _softmax(
        model.predict(converter(raw).numpy()[None], verbose=0)["logits"]
    )
    # A plain resize would answer otherwise: the test can tell them apart.
    plain = prepare_image(raw, (32, 32))
    resized = _softmax(model.predict(plain[None], verbose=0)["logits"])
    assert np.abs(resized - expected).max() > 1e-3

    run = tmp_path / "run"
    run.mkdir()
    model.save(str(run / "model.keras"))
    written = export_model(str(run / "model.keras"), str(tmp_path / "exported"))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    copies = {"keras": str(elsewhere / "copy.keras")}
    shutil.copy(run / "model.keras", copies["keras"])
    for kind in ("tflite", "onnx"):
        copies[kind] = str(elsewhere / os.path.basename(written[kind]))
        shutil.copy(written[kind], copies[kind])
    copies["saved_model"] = str(elsewhere / "saved_model")
    shutil.copytree(written["saved_model"], copies["saved_model"])

    for kind, path in copies.items():
        (result,) = predict_files(load_predictor(path), [image_path], top_k=4)
        got = {item["class"]: item["probability"] for item in result["predictions"]}
        probabilities = np.array([got[name] for name in NAMES])
        np.testing.assert_allclose(probabilities, expected[0], atol=1e-5, err_msg=kind)
    served = tf.saved_model.load(copies["saved_model"]).signatures["serving_default"]
    with open(image_path, "rb") as file:
        answer = served(image_bytes=tf.constant([file.read()]))
    np.testing.assert_allclose(answer["probabilities"].numpy(), expected, atol=1e-5)
