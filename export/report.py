"""What an export produced: operators, size, parity and latency.

`ExportReport` is what `to_tflite` and `to_saved_model` return; it prints
as a short table and saves as JSON. `inspect_tflite` reads a `.tflite`
file's inputs, outputs and operators without running it.
"""

import collections
import dataclasses
import json
import os

from keras_attn.export import integrity
from keras_attn.export import metadata


def _schema():
    from keras_attn import _compat

    return _compat.tflite_schema()


def _builtin_names():
    schema = _schema()
    return {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }


def _op_name(code, names):
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    name = names.get(builtin, str(builtin))
    if name == "CUSTOM":
        custom = code.CustomCode()
        return custom.decode() if custom else "CUSTOM"
    return name


def _operators(blob):
    """(subgraph index, op name) for every operator in the flatbuffer."""
    schema = _schema()
    model = schema.Model.GetRootAs(blob, 0)
    names = _builtin_names()
    codes = [
        _op_name(model.OperatorCodes(i), names)
        for i in range(model.OperatorCodesLength())
    ]
    for index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(index)
        for op in range(graph.OperatorsLength()):
            yield index, codes[graph.Operators(op).OpcodeIndex()]


def count_ops(blob):
    """`{op name: count}` over all subgraphs of a `.tflite` flatbuffer.

    Most used first; Flex operators appear as `Flex<Name>`, custom ones by
    their custom name.

    Example:

    >>> import keras, tempfile, os
    >>> from keras_attn.export import to_tflite, count_ops
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.tflite")
    >>> _ = to_tflite(model, path, measure_latency=False)
    >>> count_ops(open(path, "rb").read())
    {'FULLY_CONNECTED': 1}
    """
    counts = collections.Counter(name for _, name in _operators(blob))
    return dict(counts.most_common())


def non_builtin_ops(blob):
    """`{op name: count}` of Flex (select TF) and custom operators."""
    names = set(_builtin_names().values())
    return {
        name: count
        for name, count in count_ops(blob).items()
        if name not in names or name == "CUSTOM"
    }


def tensor_info(details):
    """`{name: {"shape": [...], "dtype": str}}` from a signature runner's
    input or output details; -1 marks a dynamic dimension."""
    import numpy as np

    return {
        name: {
            "shape": [int(size) for size in detail["shape_signature"]],
            "dtype": np.dtype(detail["dtype"]).name,
        }
        for name, detail in details.items()
    }


def inspect_tflite(path):
    """Inputs, outputs, operators and size of a `.tflite` file.

    Returns a dict: `signatures` (`{key: {"inputs": ..., "outputs": ...}}`
    with each tensor's shape, -1 where dynamic, and dtype), `ops`
    (`{name: count}`), `non_builtin_ops`, `size_bytes` and `integrity`
    (how `verify_tflite` checked the file). Raises `CorruptModelError`
    (a ValueError) naming the file if it is damaged or not a TFLite
    model.

    Example:

    >>> import keras, tempfile, os
    >>> from keras_attn.export import to_tflite, inspect_tflite
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.tflite")
    >>> _ = to_tflite(model, path, measure_latency=False)
    >>> info = inspect_tflite(path)
    >>> info["signatures"]["serving_default"]["inputs"]["x"]["shape"]
    [1, 4]
    >>> info["ops"]
    {'FULLY_CONNECTED': 1}
    """
    from ai_edge_litert.interpreter import Interpreter

    path = os.fspath(path)
    with open(path, "rb") as handle:
        blob = handle.read()
    checked = integrity.verify_tflite(path)
    try:
        interpreter = Interpreter(model_content=blob)
    except (ValueError, RuntimeError) as error:
        raise integrity.CorruptModelError(
            path, f"could not be read as TFLite: {error}"
        ) from None
    signatures = {}
    for key in interpreter.get_signature_list():
        runner = interpreter.get_signature_runner(key)
        signatures[key] = {
            "inputs": tensor_info(runner.get_input_details()),
            "outputs": tensor_info(runner.get_output_details()),
        }
    return {
        "path": path,
        "size_bytes": len(blob),
        "integrity": checked,
        "signatures": signatures,
        "ops": count_ops(blob),
        "non_builtin_ops": non_builtin_ops(blob),
        # TFLite Metadata (what MediaPipe Tasks reads), or None.
        "metadata": metadata.summary(blob),
    }


def format_inspection(info):
    """`inspect_tflite`'s dict as the lines `keras-attn inspect` prints."""
    lines = [f"{info['path']}  ({info['size_bytes'] / 1e6:.2f} MB)"]
    how = {
        "checksum": "whole: its keras_attn checksum matches",
        "probe": "runs: loaded and run once on zeros in a child process",
        "identifier": "has the TFLite identifier (not run)",
    }
    if info.get("integrity") in how:
        lines.append(how[info["integrity"]])
    for key, signature in info["signatures"].items():
        lines.append(f"signature {key!r}")
        for kind in ("inputs", "outputs"):
            for name, tensor in signature[kind].items():
                shape = "x".join(
                    "?" if s < 0 else str(s) for s in tensor["shape"]
                )
                lines.append(
                    f"  {kind[:-1]:6} {name}: {tensor['dtype']}[{shape}]"
                )
    total = sum(info["ops"].values())
    lines.append(f"{total} operators:")
    lines.extend(f"  {name:28} {count}" for name, count in info["ops"].items())
    if info["non_builtin_ops"]:
        lines.append(
            "not builtin (the plain LiteRT runtime cannot run these): "
            + ", ".join(info["non_builtin_ops"])
        )
    lines.extend(_metadata_lines(info.get("metadata"), info["signatures"]))
    return "\n".join(lines)


def _window(signatures):
    """Samples per window: the last size of the one input, else None."""
    inputs = [
        tensor
        for signature in signatures.values()
        for tensor in signature["inputs"].values()
    ]
    if len(inputs) == 1 and inputs[0]["shape"] and inputs[0]["shape"][-1] > 0:
        return inputs[0]["shape"][-1]
    return None


def _audio_line(audio, window):
    """`  audio   16000 Hz, 1 channel, windows of 16000 samples (1 s)`."""
    rate, channels = audio["sample_rate"], audio["channels"]
    line = f"  audio          {rate} Hz, {channels} channel"
    line += "s" if channels != 1 else ""
    if window and rate:
        line += f", windows of {window} samples ({window / rate:g} s)"
    return line


def _metadata_lines(summary, signatures=None):
    """The metadata part of `format_inspection`."""
    if not summary:
        return []
    if "error" in summary:
        return [f"metadata: unreadable ({summary['error']})"]
    tagger = summary["task"] == "token_classifier"
    parser = f"min parser {summary['min_parser_version']}"
    if tagger:
        title = (
            "token_classifier (keras_attn's tagger, no MediaPipe task; "
            f"{parser})"
        )
    else:
        title = f"MediaPipe {summary['task'] or 'model'} ({parser})"
    lines = [f"metadata: {title}"]
    tokenizer = summary["tokenizer"]
    if tokenizer:
        size = tokenizer.get("vocab_size")
        count = f", {size} tokens" if size is not None else ""
        casing = _casing(tokenizer)
        lines.append(
            f"  tokenizer      {tokenizer['type']}"
            f" ({tokenizer.get('vocab_file')}{count}){casing}"
        )
    if summary["labels"] is not None:
        labels = summary["labels"]
        more = f" ... ({len(labels)})" if len(labels) > 10 else ""
        name = "tags" if tagger else "labels"
        lines.append(f"  {name:14} {', '.join(labels[:10])}{more}")
    if summary["normalization"]:
        norm = summary["normalization"]
        lines.append(
            f"  normalization  (pixel - {norm['mean']}) / {norm['std']}"
        )
    if summary.get("audio"):
        window = _window(signatures or {})
        lines.append(_audio_line(summary["audio"], window))
    return lines


def _casing(tokenizer):
    """`", lowercase, strips accents"` (or cased, keeps accents) where the
    file says; "" where it does not."""
    words = [
        (yes if tokenizer[key] else no)
        for key, yes, no in (
            ("lowercase", "lowercase", "cased"),
            ("strip_accents", "strips accents", "keeps accents"),
        )
        if key in tokenizer
    ]
    return "".join(f", {word}" for word in words)


@dataclasses.dataclass
class ExportReport:
    """What an export wrote and how closely it follows the Keras model.

    Attributes:
        path: the file or folder written.
        format: `"tflite"` or `"saved_model"`.
        quantization: None, `"float16"`, `"dynamic_int8"` or `"int8"`.
        size_bytes: size on disk (a folder's files summed).
        ops: `{operator: count}` for TFLite; empty for SavedModel.
        non_builtin_ops: Flex and custom operators (empty unless allowed).
        inputs / outputs: `{name: {"shape": [...], "dtype": ...}}`.
        max_abs_diff / max_rel_diff: per output, against the Keras model on
            `samples` input batches (relative to the largest Keras value).
        samples: how many input batches the differences cover.
        latency_ms: median time of one call, or None if not measured.
        num_threads: interpreter threads used for latency.
        accelerators: per accelerator checked (`to_tflite(...,
            accelerators=...)`), an `AcceleratorCheck` as a dict: whether
            the file runs wholly on it, the ops it refused with the
            runtime's reasons, and the GPU's difference from the CPU.
        mediapipe: for `to_mediapipe` exports, what the file's metadata
            says (task, tokenizer, labels, scores, normalization), what was
            added to the model (`in_graph`) and `warnings` (issued once
            with `warnings.warn` at export, so not printed with the
            report); else None.
        metadata: for a tagger task's file (`export.tagger`), what its
            TFLite Metadata holds: `task`, `tokenizer` (vocabulary size,
            casing, sequence length), `labels` (the tags) and `files`;
            else None.

    Example:

    >>> import keras, tempfile, os
    >>> from keras_attn.export import to_tflite
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.tflite")
    >>> report = to_tflite(model, path, quantization="float16")
    >>> report.ops, report.max_abs_diff["y"] < 1e-2
    ({'DEQUANTIZE': 1, 'FULLY_CONNECTED': 1}, True)
    >>> print(report)  # doctest: +ELLIPSIS
    TFLite export (float16) -> .../dense.tflite
      size ...
    """

    path: str
    format: str
    quantization: str | None = None
    size_bytes: int = 0
    ops: dict = dataclasses.field(default_factory=dict)
    non_builtin_ops: dict = dataclasses.field(default_factory=dict)
    inputs: dict = dataclasses.field(default_factory=dict)
    outputs: dict = dataclasses.field(default_factory=dict)
    max_abs_diff: dict = dataclasses.field(default_factory=dict)
    max_rel_diff: dict = dataclasses.field(default_factory=dict)
    samples: int = 0
    latency_ms: float | None = None
    num_threads: int | None = None
    accelerators: list = dataclasses.field(default_factory=list)
    mediapipe: dict | None = None
    metadata: dict | None = None

    @property
    def op_count(self):
        """Operators in all subgraphs."""
        return sum(self.ops.values())

    def to_dict(self):
        return dataclasses.asdict(self)

    def save(self, path):
        """Writes the report as JSON."""
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(self.to_dict(), handle, indent=2)

    def __str__(self):
        kind = "TFLite" if self.format == "tflite" else "SavedModel"
        quantization = self.quantization or "float32"
        lines = [
            f"{kind} export ({quantization}) -> {self.path}",
            f"  size           {self.size_bytes / 1e6:.2f} MB",
        ]
        if self.ops:
            top = ", ".join(
                f"{name} {count}" for name, count in list(self.ops.items())[:8]
            )
            more = " ..." if len(self.ops) > 8 else ""
            lines.append(f"  operators      {self.op_count} ({top}{more})")
            extra = ", ".join(self.non_builtin_ops) or "none"
            lines.append(f"  non-builtin    {extra}")
        for name in self.max_abs_diff:
            lines.append(
                f"  {name:14} max |diff| {self.max_abs_diff[name]:.3g}, "
                f"relative {self.max_rel_diff[name]:.3g} "
                f"(over {self.samples} batches)"
            )
        if self.latency_ms is not None:
            lines.append(
                f"  latency        {self.latency_ms:.2f} ms median "
                f"({self.num_threads} threads)"
            )
        if self.accelerators:
            from keras_attn.export.accelerators import AcceleratorCheck

            lines.append("  accelerators")
            for check in self.accelerators:
                summary = AcceleratorCheck(**check).summary()
                lines.extend(f"    {line}" for line in summary.splitlines())
        if self.mediapipe:
            lines.extend(_mediapipe_lines(self.mediapipe))
        if self.metadata:
            tokenizer = self.metadata["tokenizer"]
            lines.append(
                f"  metadata       {self.metadata['task']}: WordPiece "
                f"{tokenizer['vocab_size']} tokens{_casing(tokenizer)}, "
                f"{tokenizer['sequence_length']} per call"
            )
            tags = self.metadata["labels"]
            more = f" ... ({len(tags)})" if len(tags) > 10 else ""
            lines.append(f"  tags           {', '.join(tags[:10])}{more}")
        return "\n".join(lines)


def _mediapipe_lines(section):
    """`ExportReport.mediapipe` as lines of the printed report."""
    lines = [f"  mediapipe      {section['task']}"]
    if section.get("tokenizer"):
        tokenizer = section["tokenizer"]
        lines.append(
            f"  tokenizer      BERT WordPiece, {tokenizer['vocab_size']} "
            f"tokens, {tokenizer['sequence_length']} per call"
        )
    if section.get("labels"):
        labels = ", ".join(section["labels"][:10])
        lines.append(f"  labels         {labels} ({section['scores']})")
    if section.get("normalization"):
        norm = section["normalization"]
        lines.append(
            f"  normalization  (pixel - {norm['mean']}) / {norm['std']}"
        )
    if section.get("audio"):
        audio = section["audio"]
        lines.append(_audio_line(audio, audio["window_samples"]))
    if section.get("in_graph"):
        lines.append(f"  in the file    {'; '.join(section['in_graph'])}")
    # `warnings` are not printed: `to_mediapipe` issued each already.
    return lines
