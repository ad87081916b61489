"""The TFLite Metadata schema: a `ModelMetadata` flatbuffer to and from
plain Python objects (private; `metadata` is the public side).

The format is the schema `metadata_schema.fbs` of tensorflow/tflite-support
(Apache-2.0; MediaPipe 1.2 ships it at version 1.5.0), read as a
specification and written with the `flatbuffers` package's `Builder`.
Only the part MediaPipe's text, vision and audio tasks read is modelled:
tensor names and content (feature, RGB image, audio with its sample rate
and channels), normalization, the BERT tokenizer and associated files;
anything else in a file read back keeps its schema name.

A flatbuffer table's fields are numbered in schema order (a union takes
two slots: its type, then its value); the `# table` comments list each
table's fields as the schema does.
"""

import dataclasses
import struct

import flatbuffers
from flatbuffers import number_types
from flatbuffers.table import Table

IDENTIFIER = b"M001"

# enum AssociatedFileType, by value.
FILE_TYPES = (
    "UNKNOWN",
    "DESCRIPTIONS",
    "TENSOR_AXIS_LABELS",
    "TENSOR_VALUE_LABELS",
    "TENSOR_AXIS_SCORE_CALIBRATION",
    "VOCABULARY",
    "SCANN_INDEX_FILE",
)
# union ContentProperties and union ProcessUnitOptions, by type value.
_CONTENTS = (None, "feature", "image", "bounding_box", "audio")
_UNITS = (
    None,
    "NormalizationOptions",
    "ScoreCalibrationOptions",
    "ScoreThresholdingOptions",
    "BertTokenizerOptions",
    "SentencePieceTokenizerOptions",
    "RegexTokenizerOptions",
)
_COLOR_SPACES = ("UNKNOWN", "RGB", "GRAYSCALE")


@dataclasses.dataclass
class AssociatedFile:
    """A file packed in the model's zip; `type` is a `FILE_TYPES` name."""

    name: str
    type: str = "UNKNOWN"
    description: str | None = None


@dataclasses.dataclass
class Normalization:
    """The input is `(pixel - mean) / std` (one value, or one a channel)."""

    mean: list
    std: list


@dataclasses.dataclass
class BertTokenizer:
    """WordPiece tokenization with the vocabulary in `vocab_file`."""

    vocab_file: AssociatedFile


@dataclasses.dataclass
class AudioProperties:
    """The content of an audio input: `sample_rate` in Hz and `channels`
    (schema 1.3.0). MediaPipe's audio tasks resample what they are given
    to `sample_rate`, mix it to `channels` and cut it into windows of the
    input tensor's size."""

    sample_rate: int
    channels: int = 1


@dataclasses.dataclass
class TensorMetadata:
    """One input or output, in the subgraph's input/output order.

    `content`: `"feature"`, `"image"` (RGB), an `AudioProperties`, or
    when read from another file `"image GRAYSCALE"`, `"bounding_box"`.
    Units that this module does not model read back as their schema
    name.
    """

    name: str
    description: str | None = None
    content: str | None = None
    process_units: list = dataclasses.field(default_factory=list)
    associated_files: list = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ModelMetadata:
    """The root table, describing the model's (only) subgraph.

    `inputs`/`outputs` list every input/output tensor in
    `SubGraph.inputs`/`outputs` order. `input_process_units` holds
    subgraph-wide steps such as the BERT tokenizer. `min_parser_version`
    is computed when written unless given.
    """

    name: str | None = None
    description: str | None = None
    version: str | None = None
    author: str | None = None
    license: str | None = None
    inputs: list = dataclasses.field(default_factory=list)
    outputs: list = dataclasses.field(default_factory=list)
    input_process_units: list = dataclasses.field(default_factory=list)
    min_parser_version: str | None = None

    def files(self):
        """`{name: AssociatedFile}` of every file the metadata names."""
        found = {}
        for tensor in self.inputs + self.outputs:
            for item in tensor.associated_files:
                found.setdefault(item.name, item)
        for unit in self.input_process_units + [
            u for t in self.inputs for u in t.process_units
        ]:
            if isinstance(unit, BertTokenizer):
                found.setdefault(unit.vocab_file.name, unit.vocab_file)
        return found


def min_parser_version(metadata):
    """The oldest metadata parser that reads every field set: 1.3.0 for
    audio content, 1.1.0 for subgraph process units and tokenizers, 1.0.1
    for a `VOCABULARY` file, else 1.0.0 (MediaPipe 1.2 parses up to
    1.5.0)."""
    tensors = metadata.inputs + metadata.outputs
    units = metadata.input_process_units + [
        u for t in tensors for u in t.process_units
    ]
    if any(isinstance(t.content, AudioProperties) for t in tensors):
        return "1.3.0"
    if metadata.input_process_units or any(
        isinstance(u, BertTokenizer) for u in units
    ):
        return "1.1.0"
    if any(f.type == "VOCABULARY" for f in metadata.files().values()):
        return "1.0.1"
    return "1.0.0"


# -- Writing ------------------------------------------------------------------


class _Writer:
    """Writes tables bottom-up (children first) into one Builder."""

    def __init__(self):
        self.builder = flatbuffers.Builder(1024)

    def string(self, text):
        return None if text is None else self.builder.CreateString(text)

    def vector(self, offsets):
        if not offsets:
            return None
        self.builder.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            self.builder.PrependUOffsetTRelative(offset)
        return self.builder.EndVector()

    def floats(self, values):
        self.builder.StartVector(4, len(values), 4)
        for value in reversed(values):
            self.builder.PrependFloat32(float(value))
        return self.builder.EndVector()

    def table(self, slots, fields):
        """`fields`: `[(slot, kind, value)]`, kind "offset", "byte" (an
        enum), "ubyte" (a union type) or "uint" (uint32); None values are
        left out."""
        builder = self.builder
        builder.StartObject(slots)
        for slot, kind, value in fields:
            if value is None:
                continue
            if kind == "offset":
                builder.PrependUOffsetTRelativeSlot(slot, value, 0)
            elif kind == "byte":
                builder.PrependInt8Slot(slot, value, 0)
            elif kind == "uint":
                builder.PrependUint32Slot(slot, value, 0)
            else:
                builder.PrependUint8Slot(slot, value, 0)
        return builder.EndObject()

    # table AssociatedFile { name, description, type, locale, version }
    def file(self, item):
        if item.type not in FILE_TYPES:
            raise ValueError(
                f"File type must be one of {FILE_TYPES}; received "
                f"{item.type!r}."
            )
        name, description = (
            self.string(item.name),
            self.string(item.description),
        )
        kind = FILE_TYPES.index(item.type) or None
        return self.table(
            5,
            [
                (0, "offset", name),
                (1, "offset", description),
                (2, "byte", kind),
            ],
        )

    def files(self, items):
        return self.vector([self.file(item) for item in items])

    # table ImageProperties { color_space, default_size }
    # table AudioProperties { sample_rate, channels }
    # table Content { content_properties (type, value), range }
    def content(self, content):
        if isinstance(content, AudioProperties):
            for name in ("sample_rate", "channels"):
                value = getattr(content, name)
                if not (
                    isinstance(value, int)
                    and not isinstance(value, bool)
                    and 0 < value < 2**32
                ):
                    raise ValueError(
                        f"AudioProperties.{name} must be a positive int (a "
                        f"uint32); received {value!r}."
                    )
            properties = self.table(
                2,
                [
                    (0, "uint", content.sample_rate),
                    (1, "uint", content.channels),
                ],
            )
            content = "audio"
        elif content == "image":
            properties = self.table(
                2, [(0, "byte", _COLOR_SPACES.index("RGB"))]
            )
        elif content == "feature":
            properties = self.table(0, [])
        else:
            raise ValueError(
                "Content must be 'feature', 'image' or an AudioProperties; "
                f"received {content!r}."
            )
        kind = _CONTENTS.index(content)
        return self.table(3, [(0, "ubyte", kind), (1, "offset", properties)])

    # table NormalizationOptions { mean, std }
    # table BertTokenizerOptions { vocab_file }
    # table ProcessUnit { options (type, value) }
    def unit(self, unit):
        if isinstance(unit, Normalization):
            if len(unit.mean) != len(unit.std) or not unit.mean:
                raise ValueError(
                    "Normalization needs as many means as stds (at least "
                    f"one); received {unit.mean} and {unit.std}."
                )
            mean, std = self.floats(unit.mean), self.floats(unit.std)
            options = self.table(2, [(0, "offset", mean), (1, "offset", std)])
            kind = "NormalizationOptions"
        elif isinstance(unit, BertTokenizer):
            options = self.table(
                1, [(0, "offset", self.files([unit.vocab_file]))]
            )
            kind = "BertTokenizerOptions"
        else:
            raise TypeError(f"Cannot write the process unit {unit!r}.")
        return self.table(
            2, [(0, "ubyte", _UNITS.index(kind)), (1, "offset", options)]
        )

    def units(self, units):
        return self.vector([self.unit(unit) for unit in units])

    # table TensorMetadata { name, description, dimension_names, content,
    #   process_units, stats, associated_files }
    def tensor(self, tensor):
        if not tensor.name:
            # MediaPipe reads every tensor's name (an output's is the head
            # name of its results) without a null check.
            raise ValueError("Every TensorMetadata needs a name.")
        fields = [
            (0, "offset", self.string(tensor.name)),
            (1, "offset", self.string(tensor.description)),
            (3, "offset", tensor.content and self.content(tensor.content)),
            (4, "offset", self.units(tensor.process_units)),
            (6, "offset", self.files(tensor.associated_files)),
        ]
        return self.table(7, fields)

    # table SubGraphMetadata { name, description, input_tensor_metadata,
    #   output_tensor_metadata, associated_files, input_process_units, ...}
    # table ModelMetadata { name, description, version, subgraph_metadata,
    #   author, license, associated_files, min_parser_version }
    def model(self, meta):
        inputs = self.vector([self.tensor(t) for t in meta.inputs])
        outputs = self.vector([self.tensor(t) for t in meta.outputs])
        units = self.units(meta.input_process_units)
        subgraph = self.table(
            10,
            [
                (2, "offset", inputs),
                (3, "offset", outputs),
                (5, "offset", units),
            ],
        )
        strings = [
            self.string(getattr(meta, key))
            for key in ("name", "description", "version", "author", "license")
        ]
        parser = self.string(
            meta.min_parser_version or min_parser_version(meta)
        )
        slots = (0, 1, 2, 4, 5)
        return self.table(
            8,
            [
                (slot, "offset", value)
                for slot, value in zip(slots, strings, strict=True)
            ]
            + [(3, "offset", self.vector([subgraph])), (7, "offset", parser)],
        )


def serialize(metadata):
    """The ModelMetadata flatbuffer of `metadata` (bytes, "M001")."""
    writer = _Writer()
    root = writer.model(metadata)
    writer.builder.Finish(root, file_identifier=IDENTIFIER)
    return bytes(writer.builder.Output())


# -- Reading ------------------------------------------------------------------


class _Reader:
    """A table's fields by slot number."""

    def __init__(self, buf, pos):
        self.tab = Table(buf, pos)

    def _at(self, slot):
        return self.tab.Offset(4 + 2 * slot)

    def string(self, slot):
        offset = self._at(slot)
        if not offset:
            return None
        return self.tab.String(offset + self.tab.Pos).decode("utf-8")

    def uint(self, slot):
        offset = self._at(slot)
        if not offset:
            return 0
        return self.tab.Get(number_types.Uint32Flags, offset + self.tab.Pos)

    def byte(self, slot, signed=True):
        offset = self._at(slot)
        if not offset:
            return 0
        flags = number_types.Int8Flags if signed else number_types.Uint8Flags
        return self.tab.Get(flags, offset + self.tab.Pos)

    def table(self, slot):
        offset = self._at(slot)
        if not offset:
            return None
        return _Reader(self.tab.Bytes, self.tab.Indirect(offset + self.tab.Pos))

    def union(self, slot):
        offset = self._at(slot)
        if not offset:
            return None
        table = Table(bytearray(), 0)
        self.tab.Union(table, offset)
        return _Reader(table.Bytes, table.Pos)

    def tables(self, slot):
        offset = self._at(slot)
        if not offset:
            return []
        start = self.tab.Vector(offset)
        return [
            _Reader(self.tab.Bytes, self.tab.Indirect(start + 4 * index))
            for index in range(self.tab.VectorLen(offset))
        ]

    def floats(self, slot):
        offset = self._at(slot)
        if not offset:
            return []
        count, start = self.tab.VectorLen(offset), self.tab.Vector(offset)
        return list(struct.unpack_from(f"<{count}f", self.tab.Bytes, start))


def _name(table, enum, value):
    return enum[value] if 0 <= value < len(enum) else f"{table}({value})"


def _read_file(reader):
    return AssociatedFile(
        name=reader.string(0),
        description=reader.string(1),
        type=_name("type", FILE_TYPES, reader.byte(2)),
    )


def _read_unit(reader):
    kind = _name("unit", _UNITS, reader.byte(0, signed=False))
    options = reader.union(1)
    if kind == "NormalizationOptions":
        return Normalization(mean=options.floats(0), std=options.floats(1))
    if kind == "BertTokenizerOptions":
        files = [_read_file(item) for item in options.tables(0)]
        return BertTokenizer(files[0] if files else None)
    return kind


def _read_content(reader):
    if reader is None:
        return None
    kind = _name("content", _CONTENTS, reader.byte(0, signed=False))
    if kind == "image":
        space = _name("color", _COLOR_SPACES, reader.union(1).byte(0))
        return "image" if space == "RGB" else f"image {space}"
    if kind == "audio":
        properties = reader.union(1)
        return AudioProperties(properties.uint(0), properties.uint(1))
    return kind


def _read_tensor(reader):
    return TensorMetadata(
        name=reader.string(0),
        description=reader.string(1),
        content=_read_content(reader.table(3)),
        process_units=[_read_unit(item) for item in reader.tables(4)],
        associated_files=[_read_file(item) for item in reader.tables(6)],
    )


def parse(buffer):
    """A `ModelMetadata` from a ModelMetadata flatbuffer (subgraph 0)."""
    buffer = bytearray(buffer)
    if buffer[4:8] != IDENTIFIER:
        raise ValueError(
            "Not a TFLite ModelMetadata flatbuffer: identifier "
            f"{bytes(buffer[4:8])!r}, expected {IDENTIFIER!r}."
        )
    root = _Reader(buffer, struct.unpack_from("<I", buffer, 0)[0])
    meta = ModelMetadata(
        name=root.string(0),
        description=root.string(1),
        version=root.string(2),
        author=root.string(4),
        license=root.string(5),
        min_parser_version=root.string(7),
    )
    subgraphs = root.tables(3)
    if subgraphs:
        meta.inputs = [_read_tensor(t) for t in subgraphs[0].tables(2)]
        meta.outputs = [_read_tensor(t) for t in subgraphs[0].tables(3)]
        meta.input_process_units = [
            _read_unit(u) for u in subgraphs[0].tables(5)
        ]
    return meta
