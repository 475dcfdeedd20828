"""What an exported model carries besides its graph: class names and the
image converter (the evaluation resize and crop), inside each format's own
file, so that a model answers the same wherever it is copied.

- SavedModel: `assets.extra/keras_rra.json` inside the version folder;
- TFLite: a `keras_rra` entry of the flatbuffer's metadata table;
- ONNX: a `keras_rra` entry of the model's `metadata_props`.

The value is the same JSON everywhere: `{"class_names": [...],
"image_converter": {"image_size", "augmentation", "resize_size"} | null}`.
"""

import json
import os

METADATA_NAME = "keras_rra"
SAVED_MODEL_FILE = os.path.join("assets.extra", "keras_rra.json")
CONVERTER_KEYS = ("image_size", "augmentation", "resize_size")


def model_metadata(model, class_names):
    """The metadata of a keras-rra classifier."""
    converter = model.image_converter
    return {
        "class_names": list(class_names),
        "image_converter": None
        if converter is None
        else {key: converter.get_config()[key] for key in CONVERTER_KEYS},
    }


def image_converter_of(metadata):
    """The `ImageConverter` a metadata dict describes, or None."""
    from keras_rra.layers.image_converter import ImageConverter

    config = (metadata or {}).get("image_converter")
    return None if config is None else ImageConverter(**config)


def write_saved_model_metadata(saved_model_dir, metadata):
    path = os.path.join(saved_model_dir, SAVED_MODEL_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(metadata, file, indent=2)
        file.write("\n")


def read_saved_model_metadata(saved_model_dir):
    """The metadata of a SavedModel version folder, or None."""
    path = os.path.join(saved_model_dir, SAVED_MODEL_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def add_tflite_metadata(flatbuffer, metadata):
    """`flatbuffer` with `metadata` in its metadata table (replacing an
    entry of the same name), through LiteRT's published schema."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as tflite_schema

    model = tflite_schema.ModelT.InitFromPackedBuf(bytearray(flatbuffer), 0)
    buffer = tflite_schema.BufferT()
    buffer.data = list(json.dumps(metadata).encode("utf-8"))
    model.buffers = list(model.buffers or []) + [buffer]
    entry = tflite_schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(model.buffers) - 1
    kept = [
        item
        for item in (model.metadata or [])
        if (item.name.decode() if isinstance(item.name, bytes) else item.name)
        != METADATA_NAME
    ]
    model.metadata = kept + [entry]
    builder = flatbuffers.Builder(len(flatbuffer) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def read_tflite_metadata(flatbuffer):
    """The metadata of a TFLite flatbuffer, or None."""
    from ai_edge_litert import schema_py_generated as tflite_schema

    model = tflite_schema.Model.GetRootAs(flatbuffer, 0)
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name().decode() == METADATA_NAME:
            data = model.Buffers(entry.Buffer()).DataAsNumpy()
            return json.loads(bytes(data).decode("utf-8"))
    return None


def add_onnx_metadata(path, metadata):
    """Writes `metadata` into the ONNX model file `path` (in place)."""
    import onnx

    model = onnx.load(path)
    kept = [prop for prop in model.metadata_props if prop.key != METADATA_NAME]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    model.metadata_props.add(key=METADATA_NAME, value=json.dumps(metadata))
    onnx.save(model, path)


def read_onnx_metadata(session):
    """The metadata of an onnxruntime `InferenceSession`, or None."""
    value = session.get_modelmeta().custom_metadata_map.get(METADATA_NAME)
    return None if value is None else json.loads(value)
