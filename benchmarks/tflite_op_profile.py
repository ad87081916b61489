"""LiteRT latency per operator of a `.tflite` file, one operator at a time.

The Python LiteRT interpreter has no per-operator profiler, so each
operator of the file's main subgraph (subgraph 0) is cut out into a model
of its own: the same operator code and options, its constant inputs as
constants (only the buffers it reads are copied), its other inputs as the
model's inputs and its outputs as the model's outputs, every tensor with
its type, shape and quantization unchanged. The whole model runs once on
the given inputs (by default random ones: int32 ids in [0, 100), ones for
masks, zeros for segment ids, standard normal floats) with every
intermediate tensor kept, and each one-operator model is fed the values
its inputs had there, so data-dependent kernels see real data.

Each model, the whole one included, runs in this process with the
`ai-edge-litert` interpreter and its default op resolver (XNNPACK where it
would apply) at `--threads`; reported is the median wall time of
`interpreter.invoke()` over `--repeats` calls after a warm-up: per
operator, per operator type (count, total, share of the sum), and the
sum of the operators against the whole model. As a check, the one-operator
models are also chained in graph order, each fed the outputs of the ones
before it instead of the recorded values; their final outputs must match
the whole model's (`check_chain`).

Caveats:
- the sum of the operators is not the whole model's time. Every invoke
  has a fixed cost, paid once by the whole model and once per operator
  here; it is measured on a one-ADD model of one float and reported
  (nothing is subtracted). XNNPACK also runs a delegated run of operators
  as one partition, with no tensors handed back between them; alone, each
  operator is its own partition. Operators with tiny inputs are mostly
  that fixed cost.
- the recorded inputs come from the builtin kernels (intermediate tensors
  cannot be read inside an XNNPACK partition), so they can differ from an
  XNNPACK run by float rounding; the timings do not depend on that.
- only subgraph 0 is split. An operator that calls other subgraphs (WHILE,
  IF, CALL_ONCE, composites) is timed as one operator with everything it
  runs, and its model carries all the other subgraphs and their buffers.
- operators whose inputs cannot be set from Python (resource or variant
  tensors) are listed with an error and no time.
- the timings are as noisy as the machine: a busy machine slows the
  operators timed while it is busy, not all alike.

    python benchmarks/tflite_op_profile.py model.tflite
    python benchmarks/tflite_op_profile.py model.tflite --threads 1 \\
        --repeats 50 --top 20 --output profile.json
    python benchmarks/tflite_op_profile.py model.tflite --inputs batch.npz

In Python: `profile(path, feeds=None, threads=2, repeats=20)` returns the
report as a dict; `check_chain(path, feeds)` the largest output difference
between the chained operators and the whole model.
"""

import argparse
import collections
import copy
import json
import pathlib
import time

import numpy as np
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter
from ai_edge_litert.interpreter import OpResolverType
from ai_edge_litert.tools import flatbuffer_utils

# The footer keras_attn's exporter appends (keras_attn/export/integrity.py):
# a tag and the SHA-256 of the bytes before it. LiteRT and the FlatBuffer
# reader ignore trailing bytes; it is cut off anyway so that nothing here
# depends on that.
FOOTER_TAG = b"KATTNSHA"
FOOTER_SIZE = len(FOOTER_TAG) + 32
ID_RANGE = 100
_BUILTIN_NAMES = {
    value: name
    for name, value in vars(schema.BuiltinOperator).items()
    if not name.startswith("_")
}


def model_bytes(path_or_bytes):
    """The `.tflite` flatbuffer's bytes, without a keras_attn footer."""
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        blob = bytes(path_or_bytes)
    else:
        blob = pathlib.Path(path_or_bytes).read_bytes()
    if len(blob) > FOOTER_SIZE and blob[-FOOTER_SIZE:-32] == FOOTER_TAG:
        blob = blob[:-FOOTER_SIZE]
    return blob


def read_model(path_or_bytes):
    """`(ModelT, bytes)` of a `.tflite` file or its bytes."""
    blob = model_bytes(path_or_bytes)
    return flatbuffer_utils.read_model_from_bytearray(blob), blob


def op_name(model, op):
    """The operator's name as the interpreter reports it (custom: its code)."""
    code = model.operatorCodes[op.opcodeIndex]
    builtin = flatbuffer_utils.get_builtin_code_from_operator_code(code)
    name = _BUILTIN_NAMES.get(builtin, str(builtin))
    if name == "CUSTOM" and code.customCode:
        custom = code.customCode
        return custom.decode() if isinstance(custom, bytes) else str(custom)
    return name


def called_subgraphs(op):
    """Indices of the subgraphs an operator runs (WHILE, IF, ...)."""
    called = set()
    for options in (op.builtinOptions, op.builtinOptions2):
        if options is None:
            continue
        for key, value in vars(options).items():
            if "subgraph" not in key.lower():
                continue
            if isinstance(value, (int, np.integer)):
                called.add(int(value))
            elif value is not None:
                called.update(int(index) for index in value)
    return called


def _has_data(model, tensor):
    buffer = model.buffers[tensor.buffer] if model.buffers else None
    return buffer is not None and (
        (buffer.data is not None and len(buffer.data) > 0) or bool(buffer.size)
    )


def _dtype_name(tensor_type):
    return flatbuffer_utils.type_to_name(tensor_type).lower()


class _AlignedBufferT(schema.BufferT):
    """A buffer whose bytes start on a 16-byte boundary.

    The schema asks for `force_align: 16`, which the generated Python
    `Pack` ignores; the converter's files have it, so the models cut out
    here have it too.
    """

    def __init__(self, data):
        super().__init__()
        self.data = data

    def Pack(self, builder):  # noqa: N802 (the flatbuffers name)
        offset = None
        if self.data is not None and len(self.data):
            payload = np.asarray(self.data, np.uint8).tobytes()
            builder.StartVector(1, len(payload), 16)
            builder.head -= len(payload)
            builder.Bytes[builder.head : builder.head + len(payload)] = payload
            builder.vectorNumElems = len(payload)
            offset = builder.EndVector()
        schema.BufferStart(builder)
        if offset is not None:
            schema.BufferAddData(builder, offset)
        return schema.BufferEnd(builder)


def single_op_model(model, index):
    """Operator `index` of subgraph 0 as a model of its own.

    Returns `(bytes, inputs, outputs)`: the new model, and the subgraph-0
    tensor indices of its inputs (the operator's inputs without data, each
    once, in order) and of its outputs.
    """
    graph = model.subgraphs[0]
    op = graph.operators[index]
    calls = called_subgraphs(op)
    used = [i for i in (op.inputs or []) + (op.intermediates or []) if i >= 0]
    inputs = []
    for i in op.inputs or []:
        if (
            i >= 0
            and i not in inputs
            and not _has_data(model, graph.tensors[i])
        ):
            inputs.append(i)
    outputs = list(op.outputs)

    new = schema.ModelT()
    new.version = model.version
    new.description = model.description
    if calls:
        # The called subgraphs keep their indices, buffers and codes.
        new.operatorCodes = model.operatorCodes
        new.buffers = [_AlignedBufferT(buffer.data) for buffer in model.buffers]
        new.subgraphs = [None] + model.subgraphs[1:]
        new.metadata = model.metadata
        opcode = op.opcodeIndex
    else:
        new.operatorCodes = [model.operatorCodes[op.opcodeIndex]]
        new.buffers = [schema.BufferT()]
        new.subgraphs = [None]
        opcode = 0
        new.metadata = []
        for entry in model.metadata or []:
            entry = copy.copy(entry)
            new.buffers.append(
                _AlignedBufferT(model.buffers[entry.buffer].data)
            )
            entry.buffer = len(new.buffers) - 1
            new.metadata.append(entry)
    new.externalBuffers = model.externalBuffers
    new.externalBufferGroups = model.externalBufferGroups

    order = inputs + [i for i in used if i not in inputs] + outputs
    remap = {}
    tensors = []
    for old in order:
        if old in remap:
            continue
        tensor = copy.copy(graph.tensors[old])
        if old in inputs or old in outputs:
            tensor.buffer = 0
            tensor.isVariable = False
        elif not calls:
            if _has_data(model, tensor):
                data = model.buffers[tensor.buffer].data
                new.buffers.append(_AlignedBufferT(data))
                tensor.buffer = len(new.buffers) - 1
            else:
                tensor.buffer = 0
        remap[old] = len(tensors)
        tensors.append(tensor)

    single = copy.copy(op)
    single.opcodeIndex = opcode
    single.inputs = [remap[i] if i >= 0 else -1 for i in op.inputs or []]
    single.outputs = [remap[i] for i in outputs]
    if op.intermediates:
        single.intermediates = [remap[i] for i in op.intermediates]
    single.debugMetadataIndex = -1

    subgraph = schema.SubGraphT()
    subgraph.name = graph.name
    subgraph.tensors = tensors
    subgraph.inputs = [remap[i] for i in inputs]
    subgraph.outputs = [remap[i] for i in outputs]
    subgraph.operators = [single]
    new.subgraphs[0] = subgraph
    blob = bytes(flatbuffer_utils.convert_object_to_bytearray(new))
    return blob, inputs, outputs


def trivial_model():
    """One ADD of two one-element float32 tensors: the cost of an invoke."""
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.ADD
    code.version = 1
    tensors = []
    for name in (b"x", b"y", b"z"):
        tensor = schema.TensorT()
        tensor.shape = [1]
        tensor.type = schema.TensorType.FLOAT32
        tensor.name = name
        tensors.append(tensor)
    op = schema.OperatorT()
    op.inputs, op.outputs = [0, 1], [2]
    op.builtinOptionsType = schema.BuiltinOptions.AddOptions
    op.builtinOptions = schema.AddOptionsT()
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs = tensors, [0, 1], [2]
    graph.operators = [op]
    model = schema.ModelT()
    model.version = 3
    model.operatorCodes = [code]
    model.subgraphs = [graph]
    model.buffers = [schema.BufferT()]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _input_names(model):
    """`{subgraph-0 input tensor index: name}`, signature names first."""
    graph = model.subgraphs[0]
    names = {}
    for index in graph.inputs:
        name = graph.tensors[index].name
        names[index] = name.decode() if isinstance(name, bytes) else name
    for signature in model.signatureDefs or []:
        if signature.subgraphIndex != 0:
            continue
        for entry in signature.inputs or []:
            name = entry.name
            names[entry.tensorIndex] = (
                name.decode() if isinstance(name, bytes) else name
            )
    return names


def random_inputs(path_or_bytes, seed=0, id_range=ID_RANGE):
    """`{input name: array}` of valid random inputs for subgraph 0.

    Integer inputs named like a mask are ones, like segment or type ids
    zeros, others ids in [0, id_range); floats are standard normal;
    booleans true. Unknown dimensions are 1.
    """
    model, _ = read_model(path_or_bytes)
    graph = model.subgraphs[0]
    rng = np.random.default_rng(seed)
    feeds = {}
    for index, name in _input_names(model).items():
        tensor = graph.tensors[index]
        shape = [max(int(size), 1) for size in tensor.shape]
        dtype = np.dtype(_dtype_name(tensor.type))
        lower = name.lower()
        if dtype == np.bool_:
            value = np.ones(shape, bool)
        elif np.issubdtype(dtype, np.floating):
            value = rng.standard_normal(shape)
        elif "mask" in lower:
            value = np.ones(shape)
        elif "segment" in lower or "type" in lower:
            value = np.zeros(shape)
        elif dtype in (np.int8, np.uint8, np.int16):
            info = np.iinfo(dtype)
            value = rng.integers(info.min, int(info.max) + 1, shape)
        else:
            value = rng.integers(0, id_range, shape)
        feeds[name] = np.asarray(value).astype(dtype)
    return feeds


def _feeds_by_index(model, feeds):
    """`{subgraph-0 input tensor index: array}` from `{name: array}`."""
    names = _input_names(model)
    tensor_names = {}
    graph = model.subgraphs[0]
    for index in names:
        name = graph.tensors[index].name
        tensor_names[name.decode() if isinstance(name, bytes) else name] = index
    by_index = {}
    for name, value in feeds.items():
        index = next((i for i, n in names.items() if n == name), None)
        if index is None:
            index = tensor_names.get(name)
        if index is None:
            raise ValueError(
                f"Unknown input {name!r}; the model's inputs are "
                f"{sorted(names.values())}."
            )
        dtype = np.dtype(_dtype_name(graph.tensors[index].type))
        by_index[index] = np.asarray(value).astype(dtype, copy=False)
    missing = sorted(names[i] for i in names if i not in by_index)
    if missing:
        raise ValueError(f"Missing inputs {missing}.")
    return by_index


def _set_inputs(interpreter, values):
    """Resizes where needed, allocates, and sets the inputs in order."""
    details = interpreter.get_input_details()
    for detail, value in zip(details, values, strict=True):
        if tuple(detail["shape"]) != value.shape:
            interpreter.resize_tensor_input(detail["index"], value.shape)
    interpreter.allocate_tensors()
    for detail, value in zip(details, values, strict=True):
        interpreter.set_tensor(detail["index"], value)


def _read(interpreter, index):
    """A tensor's value, or None where it has no data (a WHILE passes a
    loop-invariant value through without a buffer of its own when nothing
    reads it)."""
    try:
        return interpreter.get_tensor(index)
    except ValueError:
        return None


def _outputs(interpreter):
    return [
        _read(interpreter, detail["index"])
        for detail in interpreter.get_output_details()
    ]


def _median_invoke_ms(interpreter, repeats, warmup):
    for _ in range(warmup):
        interpreter.invoke()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def _whole_model(blob, model, inputs, threads):
    """The whole model, default resolver, inputs set (not yet invoked)."""
    interpreter = Interpreter(model_content=blob, num_threads=threads)
    graph = model.subgraphs[0]
    _set_inputs(interpreter, [inputs[i] for i in graph.inputs])
    return interpreter


def _capture(model, blob, inputs, threads):
    interpreter = Interpreter(
        model_content=blob,
        num_threads=threads,
        experimental_op_resolver_type=(
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
        experimental_preserve_all_tensors=True,
    )
    graph = model.subgraphs[0]
    _set_inputs(interpreter, [inputs[i] for i in graph.inputs])
    interpreter.invoke()
    values = dict(inputs)
    for op in graph.operators:
        for index in op.outputs:
            if index >= 0:
                value = _read(interpreter, index)
                if value is not None:
                    values[index] = value
    return values


def capture(path, feeds=None, threads=2):
    """`{subgraph-0 tensor index: value}` of every non-constant tensor.

    One run of the whole model with the builtin kernels (no XNNPACK, whose
    partitions do not keep their intermediate tensors) and every tensor
    preserved.
    """
    model, blob = read_model(path)
    if feeds is None:
        feeds = random_inputs(blob)
    return _capture(model, blob, _feeds_by_index(model, feeds), threads)


def _tensor_row(model, index, value=None):
    tensor = model.subgraphs[0].tensors[index]
    shape = list(value.shape) if value is not None else list(tensor.shape)
    return {
        "shape": [int(size) for size in shape],
        "dtype": _dtype_name(tensor.type),
        "constant": _has_data(model, tensor),
    }


class _SingleOp:
    """One operator's model in an interpreter, fed by subgraph-0 index."""

    def __init__(self, model, index, threads):
        self.blob, self.inputs, self.outputs = single_op_model(model, index)
        self.interpreter = Interpreter(
            model_content=self.blob, num_threads=threads
        )

    def run(self, values):
        """Sets the inputs from `values`, invokes; `{index: output}`."""
        _set_inputs(self.interpreter, [values[i] for i in self.inputs])
        self.interpreter.invoke()
        outputs = zip(self.outputs, _outputs(self.interpreter), strict=True)
        return {index: value for index, value in outputs if value is not None}


def _max_abs_diff(expected, got):
    worst = 0.0
    for index, value in expected.items():
        want = np.asarray(value)
        have = np.asarray(got[index])
        if want.shape != have.shape:
            return float("inf")
        if want.size and want.dtype.kind in "biuf":
            want, have = want.astype("float64"), have.astype("float64")
            # Equal values (NaN to NaN, inf to inf) differ by 0; a NaN
            # against a number by inf.
            same = (want == have) | (np.isnan(want) & np.isnan(have))
            with np.errstate(invalid="ignore"):
                diff = np.where(same, 0.0, np.abs(want - have)).max()
            worst = max(worst, float(np.nan_to_num(diff, nan=np.inf)))
        elif want.size and not np.array_equal(want, have):
            return float("inf")
    return worst


def check_chain(path, feeds=None, threads=2):
    """Largest |difference| between the chained one-operator models and
    the whole model, over the outputs of subgraph 0.

    Each one-operator model is fed the outputs of those before it, in
    graph order (not recorded values); both run with the default op
    resolver at `threads`. Integer outputs compare exactly (a difference
    of 1 is 1.0).
    """
    model, blob = read_model(path)
    if feeds is None:
        feeds = random_inputs(blob)
    inputs = _feeds_by_index(model, feeds)
    graph = model.subgraphs[0]
    whole = _whole_model(blob, model, inputs, threads)
    whole.invoke()
    expected = dict(zip(graph.outputs, _outputs(whole), strict=True))
    del whole
    values = dict(inputs)
    for index in range(len(graph.operators)):
        values.update(_SingleOp(model, index, threads).run(values))
    return _max_abs_diff(expected, values)


def profile(path, feeds=None, threads=2, repeats=20, warmup=3, chain=True):
    """Times every operator of subgraph 0 alone; returns the report.

    Args:
        path: a `.tflite` file, or its bytes.
        feeds: `{input name: array}` for the whole model (signature or
            tensor names); None draws `random_inputs`.
        threads: interpreter threads.
        repeats: timed invokes per model; the median is reported.
        warmup: untimed invokes before them.
        chain: also run the operators chained (see `check_chain`) and
            report the largest output difference, at one invoke each.

    Returns:
        A dict: `ops` (per operator: `index`, `op`, `inputs` and `outputs`
        with `shape`, `dtype`, `constant`, `ms`, or `error`), `by_type`
        (per operator name: `count`, `total_ms`, `share` of the sum,
        slowest first), `sum_ms`, `whole_model_ms`, `invoke_overhead_ms`
        (a one-ADD model's invoke), `subgraphs`, `note`,
        `chain_max_abs_diff`, and the settings.
    """
    model, blob = read_model(path)
    if feeds is None:
        feeds = random_inputs(blob)
    inputs = _feeds_by_index(model, feeds)
    graph = model.subgraphs[0]
    recorded = _capture(model, blob, inputs, threads)

    whole = _whole_model(blob, model, inputs, threads)
    whole_ms = _median_invoke_ms(whole, repeats, warmup)
    whole.invoke()
    expected = dict(zip(graph.outputs, _outputs(whole), strict=True))
    del whole
    trivial = Interpreter(model_content=trivial_model(), num_threads=threads)
    _set_inputs(trivial, [np.ones(1, "float32")] * 2)
    overhead_ms = _median_invoke_ms(trivial, repeats, warmup)
    del trivial

    rows = []
    chained = dict(inputs) if chain else None
    for index, op in enumerate(graph.operators):
        row = {"index": index, "op": op_name(model, op), "ms": None}
        outputs = {}
        try:
            single = _SingleOp(model, index, threads)
            row["size_bytes"] = len(single.blob)
            outputs = single.run(recorded)
            row["ms"] = _median_invoke_ms(single.interpreter, repeats, warmup)
            if chained is not None:
                chained.update(single.run(chained))
        except (ValueError, RuntimeError, KeyError) as error:
            row["error"] = f"{type(error).__name__}: {error}".strip()
            chained = None
        row["inputs"] = [
            _tensor_row(model, i, recorded.get(i)) for i in op.inputs if i >= 0
        ]
        row["outputs"] = [
            _tensor_row(model, i, outputs.get(i)) for i in op.outputs
        ]
        rows.append(row)
        single = None

    timed = [row for row in rows if row["ms"] is not None]
    total = sum(row["ms"] for row in timed)
    by_type = collections.defaultdict(lambda: {"count": 0, "total_ms": 0.0})
    for row in timed:
        by_type[row["op"]]["count"] += 1
        by_type[row["op"]]["total_ms"] += row["ms"]
    types = [
        {
            "op": name,
            "count": entry["count"],
            "total_ms": entry["total_ms"],
            "share": entry["total_ms"] / total if total else 0.0,
        }
        for name, entry in sorted(
            by_type.items(), key=lambda item: -item[1]["total_ms"]
        )
    ]
    names = [
        (g.name.decode() if isinstance(g.name, bytes) else g.name) or str(i)
        for i, g in enumerate(model.subgraphs)
    ]
    note = "1 subgraph"
    if len(names) > 1:
        callers = sorted(
            {
                op_name(model, op)
                for op in graph.operators
                if called_subgraphs(op)
            }
        )
        note = (
            f"{len(names)} subgraphs; only subgraph 0 ({names[0]}) is split. "
            f"Subgraphs {', '.join(names[1:])} are not: operators that call "
            f"them ({', '.join(callers) or 'none in subgraph 0'}) are timed "
            "as one operator with everything they run."
        )
    return {
        "path": str(path) if not isinstance(path, (bytes, bytearray)) else None,
        "threads": threads,
        "repeats": repeats,
        "warmup": warmup,
        "subgraphs": names,
        "note": note,
        "op_count": len(rows),
        "whole_model_ms": whole_ms,
        "sum_ms": total,
        "invoke_overhead_ms": overhead_ms,
        "chain_max_abs_diff": (
            _max_abs_diff(expected, chained) if chained is not None else None
        ),
        "untimed_ops": [row["index"] for row in rows if row["ms"] is None],
        "by_type": types,
        "ops": rows,
    }


def _tensor_text(tensor):
    shape = "x".join(str(size) for size in tensor["shape"]) or "scalar"
    text = f"{shape} {tensor['dtype']}"
    return f"const {text}" if tensor["constant"] else text


def format_profile(report, top=15):
    """The report as the tables the command line prints."""
    lines = [
        f"{report['path'] or 'model'}: {report['op_count']} operators in "
        f"subgraph 0; {report['note']}",
        f"{report['threads']} threads, median of {report['repeats']} invokes "
        f"after {report['warmup']} warm-up",
        "",
        "| op | count | total ms | share | ms each |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for entry in report["by_type"]:
        lines.append(
            f"| {entry['op']} | {entry['count']} | {entry['total_ms']:.4f} | "
            f"{entry['share']:.1%} | {entry['total_ms'] / entry['count']:.4f} |"
        )
    lines.append(
        f"| sum | {sum(e['count'] for e in report['by_type'])} | "
        f"{report['sum_ms']:.4f} | 100.0% | |"
    )
    count = report["op_count"] - len(report["untimed_ops"])
    overhead = report["invoke_overhead_ms"]
    lines += [
        "",
        f"whole model: {report['whole_model_ms']:.3f} ms per invoke; sum of "
        f"the {count} operators alone: {report['sum_ms']:.3f} ms "
        f"({report['sum_ms'] / report['whole_model_ms']:.2f}x).",
        f"An invoke of a one-ADD model costs {overhead:.4f} ms, so "
        f"{count} invokes carry about {count * overhead:.3f} ms of fixed "
        "cost (included above, not subtracted).",
    ]
    if report["chain_max_abs_diff"] is not None:
        lines.append(
            "chained operators vs whole model: max |diff| "
            f"{report['chain_max_abs_diff']:.3g}"
        )
    if report["untimed_ops"]:
        lines.append(f"not timed (see 'error'): {report['untimed_ops']}")
    slowest = sorted(
        (row for row in report["ops"] if row["ms"] is not None),
        key=lambda row: -row["ms"],
    )[:top]
    lines += [
        "",
        f"slowest {len(slowest)} operators:",
        "| # | op | ms | share | inputs | outputs |",
        "| ---: | --- | ---: | ---: | --- | --- |",
    ]
    for row in slowest:
        share = row["ms"] / report["sum_ms"] if report["sum_ms"] else 0.0
        lines.append(
            f"| {row['index']} | {row['op']} | {row['ms']:.4f} | "
            f"{share:.1%} | "
            + ", ".join(_tensor_text(t) for t in row["inputs"])
            + " | "
            + ", ".join(_tensor_text(t) for t in row["outputs"])
            + " |"
        )
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="the .tflite file")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument(
        "--inputs",
        help=".npz of the whole model's inputs by name (default: random)",
    )
    parser.add_argument(
        "--id-range",
        type=int,
        default=ID_RANGE,
        help="random integer ids are drawn from [0, this)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--no-chain",
        action="store_true",
        help="skip the chained run that checks the cut-out models",
    )
    parser.add_argument("--output", help="write the report as JSON here")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.inputs:
        with np.load(args.inputs) as archive:
            feeds = {name: archive[name] for name in archive.files}
    else:
        feeds = random_inputs(
            args.model, seed=args.seed, id_range=args.id_range
        )
    report = profile(
        args.model,
        feeds,
        threads=args.threads,
        repeats=args.repeats,
        warmup=args.warmup,
        chain=not args.no_chain,
    )
    print(format_profile(report, top=args.top))
    if args.output:
        pathlib.Path(args.output).write_text(
            json.dumps(report, indent=2) + "\n"
        )
    return report


if __name__ == "__main__":
    main()
