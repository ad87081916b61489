"""The TFLite Metadata writer and reader (`keras_attn.export.metadata`),
on a hand-made TFLite flatbuffer, read back by our reader and by the
schema code MediaPipe generates from the same schema (an independent
reader). MediaPipe running real files is tests/export/test_mediapipe.py.
"""

import io
import zipfile

import flatbuffers
import numpy as np
import pytest

from keras_attn import _compat
from keras_attn.export import integrity
from keras_attn.export import metadata as md

schema = _compat.tflite_schema()
WEIGHT = bytes(range(7))  # an odd size, so alignment shows


def tiny_model(names=("segment_ids", "token_ids", "padding_mask")):
    """A TFLite flatbuffer: int32 [1, 8] inputs, a float [1, 3] output,
    one 7-byte weight buffer and a `serving_default` signature."""
    model = schema.ModelT()
    model.version = 3
    model.buffers = [schema.BufferT(), schema.BufferT()]
    model.buffers[1].data = np.frombuffer(WEIGHT, np.uint8)
    graph = schema.SubGraphT()
    graph.tensors = []
    for index, name in enumerate([*names, "logits"]):
        tensor = schema.TensorT()
        tensor.name = f"serving_default_{name}:0"
        last = index == len(names)
        tensor.shape = [1, 3] if last else [1, 8]
        tensor.type = (
            schema.TensorType.FLOAT32 if last else schema.TensorType.INT32
        )
        tensor.buffer = 1 if last else 0
        graph.tensors.append(tensor)
    graph.inputs = list(range(len(names)))
    graph.outputs = [len(names)]
    graph.operators = []
    model.subgraphs = [graph]
    signature = schema.SignatureDefT()
    signature.signatureKey, signature.subgraphIndex = "serving_default", 0
    signature.inputs, signature.outputs = [], []
    for index, name in enumerate([*names, "logits"]):
        entry = schema.TensorMapT()
        entry.name, entry.tensorIndex = name, index
        side = signature.outputs if name == "logits" else signature.inputs
        side.append(entry)
    model.signatureDefs = [signature]
    builder = flatbuffers.Builder(0)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


VOCAB = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n"
LABELS = b"neg\nneu\npos\n"


def text_metadata():
    vocab = md.AssociatedFile("vocab.txt", "VOCABULARY", "WordPiece.")
    labels = md.AssociatedFile("labels.txt", "TENSOR_AXIS_LABELS")
    return md.ModelMetadata(
        name="classifier",
        description="a test",
        version="1",
        author="keras_attn",
        license="Apache-2.0",
        inputs=[
            md.TensorMetadata(name, content="feature")
            for name in ("segment_ids", "ids", "mask")
        ],
        outputs=[
            md.TensorMetadata(
                "score", "Scores.", "feature", associated_files=[labels]
            )
        ],
        input_process_units=[md.BertTokenizer(vocab)],
    )


def image_metadata(mean=127.5, std=127.5):
    return md.ModelMetadata(
        name="images",
        inputs=[
            md.TensorMetadata(
                "image",
                content="image",
                process_units=[md.Normalization([mean], [std])],
            )
        ],
        outputs=[md.TensorMetadata("embedding", content="feature")],
    )


def test_metadata_round_trips_through_our_reader():
    meta = text_metadata()
    back = md.parse(md.serialize(meta))
    meta.min_parser_version = "1.1.0"  # computed when written
    assert back == meta
    image = image_metadata(0.0, 255.0)  # a 0.0 mean is written, not lost
    back = md.parse(md.serialize(image))
    assert back.inputs[0].process_units == [md.Normalization([0.0], [255.0])]
    assert back.min_parser_version == "1.0.0"


def test_mediapipe_generated_schema_reads_what_we_write():
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mp

    buffer = md.serialize(text_metadata())
    assert mp.ModelMetadata.ModelMetadataBufferHasIdentifier(buffer, 0)
    root = mp.ModelMetadataT.InitFromObj(mp.ModelMetadata.GetRootAs(buffer))
    assert (root.name, root.author, root.minParserVersion) == (
        b"classifier",
        b"keras_attn",
        b"1.1.0",
    )
    graph = root.subgraphMetadata[0]
    names = [t.name for t in graph.inputTensorMetadata]
    assert names == [b"segment_ids", b"ids", b"mask"]
    kinds = {t.content.contentPropertiesType for t in graph.inputTensorMetadata}
    assert kinds == {mp.ContentProperties.FeatureProperties}
    (unit,) = graph.inputProcessUnits
    assert unit.optionsType == mp.ProcessUnitOptions.BertTokenizerOptions
    (vocab,) = unit.options.vocabFile
    assert (vocab.name, vocab.type) == (
        b"vocab.txt",
        mp.AssociatedFileType.VOCABULARY,
    )
    (score,) = graph.outputTensorMetadata
    (labels,) = score.associatedFiles
    assert (score.name, labels.name, labels.type) == (
        b"score",
        b"labels.txt",
        mp.AssociatedFileType.TENSOR_AXIS_LABELS,
    )

    buffer = md.serialize(image_metadata(0.5, 255.0))
    root = mp.ModelMetadataT.InitFromObj(mp.ModelMetadata.GetRootAs(buffer))
    (image,) = root.subgraphMetadata[0].inputTensorMetadata
    properties = image.content.contentProperties
    assert image.content.contentPropertiesType == (
        mp.ContentProperties.ImageProperties
    )
    assert properties.colorSpace == mp.ColorSpaceType.RGB
    (unit,) = image.processUnits
    assert unit.optionsType == mp.ProcessUnitOptions.NormalizationOptions
    assert list(unit.options.mean) == [0.5]
    assert list(unit.options.std) == [255.0]


def test_populate_packs_a_stored_zip_and_keeps_the_model():
    blob = tiny_model()
    files = {"vocab.txt": VOCAB, "labels.txt": LABELS}
    out = md.populate(blob, text_metadata(), files)
    with zipfile.ZipFile(io.BytesIO(out)) as archive:
        assert {i.compress_type for i in archive.infolist()} == {
            zipfile.ZIP_STORED
        }
    stamped = out + integrity.footer(out)
    meta, packed = md.read(stamped)
    assert packed == files
    assert [t.name for t in meta.inputs] == ["segment_ids", "ids", "mask"]
    model = schema.Model.GetRootAs(out, 0)
    weights = []
    for index in range(model.BuffersLength()):
        buffer = model.Buffers(index)
        if buffer.DataLength():
            # The TFLite schema asks for 16-byte aligned buffer data.
            assert buffer._tab.Vector(buffer._tab.Offset(4)) % 16 == 0
            weights.append(buffer.DataAsNumpy().tobytes())
    assert WEIGHT in weights
    # The model's tensors and signature are as they were.
    assert md.model_io(out) == md.model_io(blob)


def test_model_io_follows_the_subgraph_order_and_signature_names():
    inputs, outputs = md.model_io(tiny_model())
    assert inputs == [
        ("segment_ids", [1, 8], "int32"),
        ("token_ids", [1, 8], "int32"),
        ("padding_mask", [1, 8], "int32"),
    ]
    assert outputs == [("logits", [1, 3], "float32")]


def test_populating_again_replaces_the_metadata_and_files():
    files = {"vocab.txt": VOCAB, "labels.txt": LABELS}
    once = md.populate(tiny_model(), text_metadata(), files)
    once += integrity.footer(once)
    image = image_metadata()
    image.inputs = text_metadata().inputs  # the same three tensors
    twice = md.populate(once, image, {})
    model = schema.Model.GetRootAs(twice, 0)
    entries = [model.Metadata(i).Name() for i in range(model.MetadataLength())]
    assert entries.count(b"TFLITE_METADATA") == 1
    meta, packed = md.read(twice)
    assert meta.name == "images" and packed == {}


def test_summary_names_the_task_and_what_mediapipe_reads():
    files = {"vocab.txt": VOCAB, "labels.txt": LABELS}
    out = md.populate(tiny_model(), text_metadata(), files)
    summary = md.summary(out)
    assert summary["task"] == "text_classifier"
    assert summary["tokenizer"] == {
        "type": "bert",
        "vocab_file": "vocab.txt",
        "vocab_size": 5,
    }
    assert summary["labels"] == ["neg", "neu", "pos"]
    assert summary["normalization"] is None
    assert md.summary(tiny_model()) is None  # no metadata
    # Damaged metadata is reported, not raised (inspect still shows the
    # rest of the file).
    damaged = bytearray(out)
    start = bytes(out).index(b"M001") - 4
    damaged[start : start + 4] = b"\xff\xff\xff\x7f"  # root offset
    assert "error" in md.summary(bytes(damaged))


def test_refusals_say_what_was_expected():
    blob = tiny_model()
    meta = text_metadata()
    with pytest.raises(ValueError, match="names the files"):
        md.populate(blob, meta, {"vocab.txt": VOCAB})
    with pytest.raises(ValueError, match="has 3 inputs; the metadata"):
        wrong = text_metadata()
        wrong.inputs = wrong.inputs[:2]
        md.populate(blob, wrong, {"vocab.txt": VOCAB, "labels.txt": LABELS})
    with pytest.raises(ValueError, match="needs a name"):
        meta.outputs[0].name = ""
        md.serialize(meta)
    with pytest.raises(ValueError, match="as many means as stds"):
        image = image_metadata()
        image.inputs[0].process_units = [md.Normalization([0, 0], [1])]
        md.serialize(image)
    with pytest.raises(ValueError, match="TFL3"):
        md.populate(b"\0" * 64, image_metadata(), {})
    with pytest.raises(ValueError, match="M001"):
        md.parse(b"\0" * 16)
