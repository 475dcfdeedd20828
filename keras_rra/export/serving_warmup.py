"""TF Serving's warm-up file, written without the tensorflow-serving-api
package (each release requires a TensorFlow at least as new as itself, and
only two messages are needed). The tests parse these records with that
package's `PredictionLog`.

TF Serving replays `assets.extra/tf_serving_warmup_requests` (a TFRecord
file of `PredictionLog` protos) when it loads a model, so the first real
request does not pay for tracing and memory allocation. The protos are
encoded here field by field; their numbers are those of
`tensorflow_serving/apis/{prediction_log,predict,model}.proto`.
"""

import os

import tensorflow as tf

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited field (strings, bytes and messages)."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def predict_log(model_name, signature_name, inputs):
    """One serialised `PredictionLog` holding a `PredictRequest`.

    Args:
        model_name: the servable's name (`--model_name` of TF Serving).
        signature_name: the signature the request calls.
        inputs: dict of input name -> value (anything `tf.make_tensor_proto`
            takes).
    """
    model_spec = _field(1, model_name) + _field(3, signature_name)
    request = _field(1, model_spec)
    for name, value in inputs.items():
        tensor = tf.make_tensor_proto(value).SerializeToString()
        request += _field(2, _field(1, name) + _field(2, tensor))
    return _field(6, _field(1, request))  # PredictionLog.predict_log.request


def write_warmup(saved_model_dir, records):
    """Writes serialised `PredictionLog`s as the SavedModel's warm-up file."""
    path = os.path.join(saved_model_dir, WARMUP_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    return path
