import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import prediction_log_pb2

from keras_rra.export import export_saved_model
from keras_rra.export import next_version
from keras_rra.export.serving_warmup import WARMUP_FILE
from keras_rra.models import BaselineClassifier
from tests.helpers import bomb_jpeg
from tests.helpers import bomb_png
from tests.helpers import tiny_rra

NAMES = ["a", "b", "c"]


@pytest.fixture(scope="module")
def model():
    return BaselineClassifier(
        num_classes=3, backbone="tiny", image_size=32, class_names=NAMES
    )


@pytest.fixture(scope="module")
def served(model, tmp_path_factory):
    path = export_saved_model(model, str(tmp_path_factory.mktemp("sm") / "m"), top_k=2)
    return tf.saved_model.load(path), path


def _encode(array, image_format="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format)
    return buffer.getvalue()


def _pixels(height=32, width=32, channels=3):
    return np.random.randint(0, 256, (height, width, channels), dtype="uint8")


def test_signatures_inputs_and_outputs(served):
    loaded, _ = served
    assert set(loaded.signatures) == {"serving_default", "predict_images"}
    outputs = loaded.signatures["serving_default"](
        image_bytes=tf.constant([_encode(_pixels())])
    )
    assert set(outputs) == {
        "probabilities",
        "top_k_indices",
        "top_k_scores",
        "top_k_class_names",
    }
    assert outputs["probabilities"].shape == (1, 3)
    assert outputs["top_k_indices"].shape == (1, 2)
    names = outputs["top_k_class_names"].numpy()[0].astype(str)
    assert list(names) == [NAMES[i] for i in outputs["top_k_indices"].numpy()[0]]


def test_bytes_are_decoded_like_the_float_signature(served, model):
    loaded, _ = served
    pixels = _pixels()
    from_bytes = loaded.signatures["serving_default"](
        image_bytes=tf.constant([_encode(pixels)])
    )["probabilities"]
    from_floats = loaded.signatures["predict_images"](
        images=tf.constant(pixels[None].astype("float32"))
    )["probabilities"]
    np.testing.assert_allclose(from_bytes, from_floats, atol=1e-6)


def test_other_sizes_alpha_and_jpeg_are_served(served):
    loaded, _ = served
    requests = [
        _encode(_pixels(80, 50)),  # resized
        _encode(_pixels(channels=4)),  # RGBA: alpha dropped
        _encode(_pixels(), "JPEG"),
    ]
    outputs = loaded.signatures["serving_default"](image_bytes=tf.constant(requests))
    probabilities = outputs["probabilities"].numpy()
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize(
    "payload, message",
    [(b"not an image", "Unknown image file format"), (b"", "empty string")],
)
def test_a_bad_request_fails_alone_and_serving_goes_on(served, payload, message):
    loaded, _ = served
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        loaded.signatures["serving_default"](image_bytes=tf.constant([payload]))
    outputs = loaded.signatures["serving_default"](
        image_bytes=tf.constant([_encode(_pixels())])
    )
    assert outputs["probabilities"].shape == (1, 3)


@pytest.mark.parametrize("bomb", [bomb_png(20000, 20000), bomb_jpeg(60000, 50000)])
def test_an_image_over_the_pixel_limit_is_refused_before_decoding(served, bomb):
    # A 100-byte PNG that declares 20000 x 20000 took 3.7 s and ~2 GB to
    # answer: now its header is read first, the request fails alone, naming
    # the limit, and the next one is served.
    loaded, _ = served
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="64000000 pixels.*max_image_pixels"
    ):
        loaded.signatures["serving_default"](image_bytes=tf.constant([bomb]))
    outputs = loaded.signatures["serving_default"](
        image_bytes=tf.constant([_encode(_pixels())])
    )
    assert outputs["probabilities"].shape == (1, 3)


def test_the_pixel_limit_is_set_at_export(model, tmp_path):
    path = export_saved_model(model, str(tmp_path / "m"), max_image_pixels=32 * 32)
    serve = tf.saved_model.load(path).signatures["serving_default"]
    assert serve(image_bytes=tf.constant([_encode(_pixels())]))["probabilities"].shape
    with pytest.raises(tf.errors.InvalidArgumentError, match="1024 pixels"):
        serve(image_bytes=tf.constant([_encode(_pixels(33, 32))]))
    with pytest.raises(ValueError, match="max_image_pixels"):
        export_saved_model(model, str(tmp_path / "n"), max_image_pixels=0)


def test_warmup_file_holds_a_serving_request(served):
    _, path = served
    records = list(tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)))
    assert len(records) == 1
    # Parsed with TF Serving's own protos.
    log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
    assert log.WhichOneof("log_type") == "predict_log"
    request = log.predict_log.request
    assert request.model_spec.name == "m"
    assert request.model_spec.signature_name == "serving_default"
    assert list(request.inputs) == ["image_bytes"]
    image_bytes = tf.make_ndarray(request.inputs["image_bytes"])
    image = tf.io.decode_png(image_bytes[0]).numpy()
    assert image.shape == (32, 32, 3)


def test_versions_count_up_and_an_existing_one_is_kept(model, tmp_path):
    output = str(tmp_path / "m")
    assert next_version(output) == 1
    assert export_saved_model(model, output).endswith(os.sep + "1")
    assert export_saved_model(model, output).endswith(os.sep + "2")
    assert next_version(output) == 3
    stamp = os.path.getmtime(os.path.join(output, "1", "saved_model.pb"))
    with pytest.raises(FileExistsError, match="overwrite"):
        export_saved_model(model, output, version=1)
    assert os.path.getmtime(os.path.join(output, "1", "saved_model.pb")) == stamp
    export_saved_model(model, output, version=1, overwrite=True)
    assert sorted(os.listdir(output)) == ["1", "2"]


def test_a_failed_export_leaves_nothing(model, tmp_path, monkeypatch):
    from keras_rra.export import saved_model_export

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    # Fails after the SavedModel itself is written.
    monkeypatch.setattr(saved_model_export, "write_warmup", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        export_saved_model(model, str(tmp_path / "m"))
    assert os.listdir(tmp_path / "m") == []


@pytest.mark.parametrize("version", [0, -1, 1.5, True, "2"])
def test_bad_versions(model, tmp_path, version):
    with pytest.raises(ValueError, match="version"):
        export_saved_model(model, str(tmp_path / "m"), version=version)


def test_a_model_with_a_boxes_input_is_refused(tmp_path):
    model = tiny_rra(patch="boxes", num_boxes=2)
    with pytest.raises(ValueError, match="served from images alone"):
        export_saved_model(model, str(tmp_path / "m"))


def _rest_predict(signature, body):
    # TF Serving's REST "row" format: each instance maps input names to
    # values, {"b64": ...} objects are base64-decoded bytes, and the rows
    # are batched per input.
    import base64
    import json

    request = json.loads(body)
    rows = request["instances"]

    def value(item):
        return base64.b64decode(item["b64"]) if isinstance(item, dict) else item

    inputs = {name: tf.constant([value(row[name]) for row in rows]) for name in rows[0]}
    outputs = signature(**inputs)
    return {
        "predictions": [
            {name: tensor.numpy()[index].tolist() for name, tensor in outputs.items()}
            for index in range(len(rows))
        ]
    }


def test_the_export_guide_rest_request_is_answered(served):
    import base64

    loaded, _ = served
    guide = os.path.join(os.path.dirname(__file__), "..", "docs", "guides", "export.md")
    with open(guide, encoding="utf-8") as file:
        guide_text = file.read()
    # The request body the export guide sends, with a real image in it.
    assert '\\"instances\\": [{\\"image_bytes\\": {\\"b64\\": ' in guide_text
    encoded = base64.b64encode(_encode(_pixels())).decode()
    body = (
        '{"signature_name": "serving_default", '
        f'"instances": [{{"image_bytes": {{"b64": "{encoded}"}}}}]}}'
    )
    answer = _rest_predict(loaded.signatures["serving_default"], body)
    (prediction,) = answer["predictions"]
    assert len(prediction["probabilities"]) == 3
    assert prediction["top_k_class_names"][0].decode() in NAMES
