"""TFLite Model Metadata in `.tflite` files: written, and read back.

MediaPipe Tasks finds what it needs to run a model -- the tokenizer and
its vocabulary, the image normalization, the audio sample rate, the
labels of the scores -- in
TFLite Model Metadata packed inside the model file. `populate` packs it
(the schema itself is `_metadata_schema`, written with `flatbuffers`
only: no MediaPipe, no tflite-support), `write_file` writes a file with
it, `read` and `summary` read it. keras_attn's taggers carry the same
metadata (their vocabulary and tags) though MediaPipe has no tagging
task (`export.tagger`).
A file with metadata is laid out as

    [TFLite model flatbuffer, identifier "TFL3"]
        Model.metadata  += {name: "TFLITE_METADATA", buffer: i}
        Model.buffers[i] = the ModelMetadata flatbuffer ("M001")
    [zip of the associated files (vocab.txt, labels.txt), stored]
    [keras_attn's 40-byte integrity footer, stamped last]

Zip readers (minizip in MediaPipe, Python's `zipfile`) find the archive
from its end record, so the model bytes in front of it and the footer
after it are allowed; MediaPipe refuses compressed entries ("Expected
uncompressed zip archive"), so files are stored.
"""

import io
import json
import os
import struct
import zipfile

import flatbuffers
import numpy as np

from keras_attn.export import _files
from keras_attn.export import integrity
from keras_attn.export._metadata_schema import FILE_TYPES
from keras_attn.export._metadata_schema import AssociatedFile
from keras_attn.export._metadata_schema import AudioProperties
from keras_attn.export._metadata_schema import BertTokenizer
from keras_attn.export._metadata_schema import ModelMetadata
from keras_attn.export._metadata_schema import Normalization
from keras_attn.export._metadata_schema import TensorMetadata
from keras_attn.export._metadata_schema import min_parser_version
from keras_attn.export._metadata_schema import parse
from keras_attn.export._metadata_schema import serialize

METADATA_NAME = "TFLITE_METADATA"
# keras_attn's own associated file beside a BERT tokenizer's vocabulary:
# the casing the TFLite schema has no field for (JSON, `export.tagger`).
TOKENIZER_SETTINGS = "tokenizer.json"
WORD_STARTS = "word_starts"  # a tagger's input: each word's first piece


def _schema():
    from keras_attn import _compat

    return _compat.tflite_schema()


def _aligned_buffer(schema):
    """`BufferT` whose data is written 16-byte aligned, as the TFLite
    schema asks (`force_align: 16`) and the converter does; the generated
    Python object API aligns to 1."""

    class AlignedBufferT(schema.BufferT):
        def Pack(self, builder):
            data = None
            if self.data is not None:
                payload = memoryview(self.data).cast("B")  # no copy
                builder.StartVector(1, len(payload), 16)
                builder.head -= len(payload)
                builder.Bytes[builder.head : builder.head + len(payload)] = (
                    payload
                )
                data = builder.EndVector()
            schema.BufferStart(builder)
            if data is not None:
                schema.BufferAddData(builder, data)
            return schema.BufferEnd(builder)

    return AlignedBufferT


def model_io(blob):
    """`(inputs, outputs)` of subgraph 0, in `SubGraph` order: lists of
    `(name, shape, dtype name)`, named by the first signature where one
    covers the tensor (e.g. `token_ids`), else by the tensor's name."""
    schema = _schema()
    model = schema.Model.GetRootAs(blob, 0)
    graph = model.Subgraphs(0)
    types = {v: k.lower() for k, v in vars(schema.TensorType).items()}
    keys = {}
    for s in range(model.SignatureDefsLength()):
        definition = model.SignatureDefs(s)
        if definition.SubgraphIndex() != 0:
            continue
        for get, count in (
            (definition.Inputs, definition.InputsLength()),
            (definition.Outputs, definition.OutputsLength()),
        ):
            for i in range(count):
                item = get(i)
                keys.setdefault(item.TensorIndex(), item.Name().decode())
    found = []
    for get, count in (
        (graph.Inputs, graph.InputsLength()),
        (graph.Outputs, graph.OutputsLength()),
    ):
        tensors = []
        for i in range(count):
            tensor = graph.Tensors(get(i))
            name = keys.get(get(i)) or tensor.Name().decode()
            shape = (
                tensor.ShapeAsNumpy().tolist() if tensor.ShapeLength() else []
            )
            if tensor.ShapeSignatureLength():
                shape = tensor.ShapeSignatureAsNumpy().tolist()
            tensors.append((name, shape, types.get(tensor.Type(), "?")))
        found.append(tensors)
    return found[0], found[1]


def zip_files(files):
    """A stored (uncompressed) zip of `{name: bytes}`, b"" for none; fixed
    timestamps, so equal inputs give equal bytes."""
    if not files:
        return b""
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, bytes(files[name]))
    return stream.getvalue()


def populate(tflite, metadata, files):
    """The `.tflite` file `tflite` (bytes) with `metadata` and `files`.

    Only the model flatbuffer of `tflite` is kept (a footer, an earlier
    zip and an earlier `TFLITE_METADATA` entry are replaced). `files`
    (`{name: bytes}`) must be exactly those the metadata names, and the
    metadata must describe every input and output of subgraph 0. Returns
    bytes (model, then the zip): stamp the integrity footer after it.
    The model is re-packed with TensorFlow's TFLite schema; memory peaks
    near three times the model's size.
    """
    schema = _schema()
    tflite, _ = integrity.split_footer(bytes(tflite))
    if tflite[4:8] != b"TFL3":
        raise ValueError("Not a TFLite flatbuffer (no 'TFL3' identifier).")
    named = sorted(metadata.files())
    if named != sorted(files):
        raise ValueError(
            f"The metadata names the files {named}; received {sorted(files)}."
        )
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(tflite, 0))
    if len(model.subgraphs) != 1:
        raise ValueError(
            f"The model has {len(model.subgraphs)} subgraphs; metadata here "
            "describes models with one (MediaPipe runs only those)."
        )
    graph = model.subgraphs[0]
    for kind, described, tensors in (
        ("inputs", metadata.inputs, graph.inputs),
        ("outputs", metadata.outputs, graph.outputs),
    ):
        if len(described) != len(tensors):
            raise ValueError(
                f"The model has {len(tensors)} {kind}; the metadata "
                f"describes {len(described)}."
            )
    if any(buffer.offset for buffer in model.buffers or []):
        raise ValueError(
            "The model keeps its weights outside the flatbuffer (a file "
            "over 2 GB); metadata can only go into one that holds them."
        )
    Buffer = _aligned_buffer(schema)
    buffers = []
    for old in model.buffers or []:
        buffers.append(Buffer())
        buffers[-1].data = old.data
    entries = []
    for entry in model.metadata or []:
        if entry.name in (METADATA_NAME, METADATA_NAME.encode()):
            buffers[entry.buffer].data = None  # emptied, not renumbered
        else:
            entries.append(entry)
    buffers.append(Buffer())
    buffers[-1].data = serialize(metadata)
    entry = schema.MetadataT()
    entry.name, entry.buffer = METADATA_NAME, len(buffers) - 1
    model.buffers, model.metadata = buffers, entries + [entry]
    builder = flatbuffers.Builder(len(tflite) + 65536)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()) + zip_files(files)


def _same_outputs(first, second):
    """Whether two files give the same outputs on one random input."""
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(0)
    results, feed = [], None
    for blob in (first, second):
        runner = Interpreter(model_content=blob).get_signature_runner()
        if feed is None:
            feed = {
                name: (
                    rng.random(d["shape"])
                    if np.issubdtype(d["dtype"], np.floating)
                    else rng.integers(0, 2, d["shape"])
                ).astype(d["dtype"])
                for name, d in runner.get_input_details().items()
            }
        results.append(runner(**feed))
    return all(np.array_equal(results[0][k], results[1][k]) for k in results[0])


def write_file(plain, path, metadata, files):
    """Writes `plain` (a `.tflite` file) with `metadata` and `files` to
    `path`, integrity footer stamped last; `path` is replaced only once
    the new file computes what `plain` did."""
    _files.remove_stale(path)
    blob = populate(plain.read_bytes(), metadata, files)
    candidate = _files.partial_name(path)
    try:
        candidate.write_bytes(blob)
        integrity.stamp(candidate)
        if not _same_outputs(plain.read_bytes(), candidate.read_bytes()):
            raise RuntimeError(
                f"{path}: the file with metadata computes other outputs than "
                "the file without; it was not written. Please report this."
            )
        os.replace(candidate, path)
    finally:
        candidate.unlink(missing_ok=True)


def read(blob):
    """`(ModelMetadata or None, {name: bytes})` of a `.tflite` file's
    bytes (with or without keras_attn's footer)."""
    blob, _ = integrity.split_footer(bytes(blob))
    model = _schema().Model.GetRootAs(blob, 0)
    metadata = None
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        if entry.Name().decode() == METADATA_NAME:
            buffer = model.Buffers(entry.Buffer())
            if buffer.DataLength():
                metadata = parse(buffer.DataAsNumpy().tobytes())
    try:
        with zipfile.ZipFile(io.BytesIO(blob)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        files = {}
    return metadata, files


def _lines(data):
    lines = data.decode("utf-8").split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def _settings(files):
    """`{lowercase, strip_accents}` from `TOKENIZER_SETTINGS`, if any."""
    try:
        settings = json.loads(files[TOKENIZER_SETTINGS].decode("utf-8"))
    except (KeyError, ValueError, UnicodeDecodeError):
        return {}
    if not isinstance(settings, dict):
        return {}
    return {
        key: bool(settings[key])
        for key in ("lowercase", "strip_accents")
        if key in settings
    }


def summary(blob):
    """What the metadata tells MediaPipe, as a JSON-ready dict; None for a
    file without metadata.

    Keys: `task` (`text_classifier`, `text_embedder`, `image_classifier`,
    `image_embedder`, `audio_classifier`, `audio_embedder`, keras_attn's
    `token_classifier` (a tagger: no MediaPipe task), or None when it is
    none of those), `tokenizer`
    (`{"type": "bert", "vocab_file": ..., "vocab_size": ...}`, and
    `lowercase`, `strip_accents` where `TOKENIZER_SETTINGS` says),
    `labels` (a tagger's tags),
    `normalization` (`{"mean": [...], "std": [...]}`), `audio`
    (`{"sample_rate": ..., "channels": ...}` of the audio input),
    `inputs` and `outputs` (metadata names), `min_parser_version` and `files`
    (`{name: size}`). A file whose metadata cannot be read gives
    `{"task": None, "error": "..."}`.
    """
    try:
        metadata, files = read(blob)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as error:
        return {"task": None, "error": f"{type(error).__name__}: {error}"}
    if metadata is None:
        return None
    tokenizer = labels = normalization = audio = None
    for unit in metadata.input_process_units:
        if isinstance(unit, BertTokenizer) and unit.vocab_file is not None:
            name = unit.vocab_file.name
            tokenizer = {"type": "bert", "vocab_file": name}
            if name in files:
                tokenizer["vocab_size"] = len(_lines(files[name]))
            tokenizer.update(_settings(files))
        elif isinstance(unit, str):
            tokenizer = {"type": unit}
    for tensor in metadata.inputs:
        if isinstance(tensor.content, AudioProperties) and audio is None:
            audio = {
                "sample_rate": tensor.content.sample_rate,
                "channels": tensor.content.channels,
            }
        for unit in tensor.process_units:
            if isinstance(unit, Normalization):
                normalization = {"mean": unit.mean, "std": unit.std}
    for tensor in metadata.outputs:
        for item in tensor.associated_files:
            if item.type == "TENSOR_AXIS_LABELS" and labels is None:
                labels = _lines(files.get(item.name, b""))
    image = any(t.content == "image" for t in metadata.inputs)
    found = {"text_": tokenizer, "image_": image, "audio_": audio}
    kind = next((name for name, there in found.items() if there), None)
    task = kind and kind + ("classifier" if labels is not None else "embedder")
    if task == "text_classifier" and any(
        t.name == WORD_STARTS for t in metadata.inputs
    ):
        task = "token_classifier"
    return {
        "task": task,
        "name": metadata.name,
        "tokenizer": tokenizer,
        "labels": labels,
        "normalization": normalization,
        "audio": audio,
        "inputs": [t.name for t in metadata.inputs],
        "outputs": [t.name for t in metadata.outputs],
        "min_parser_version": metadata.min_parser_version,
        "files": {name: len(data) for name, data in files.items()},
    }


__all__ = [
    "FILE_TYPES",
    "AssociatedFile",
    "AudioProperties",
    "BertTokenizer",
    "ModelMetadata",
    "Normalization",
    "TensorMetadata",
    "min_parser_version",
    "model_io",
    "parse",
    "populate",
    "read",
    "serialize",
    "summary",
    "write_file",
    "zip_files",
]
