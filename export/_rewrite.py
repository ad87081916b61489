"""Edits of converted `.tflite` flatbuffers (private).

`float32_lookup_tables`: in a float16-weight file, TensorFlow's converter
stores every float constant in float16 behind a DEQUANTIZE, the
embedding tables of GATHER too. LiteRT's GPU accelerator refuses such a
GATHER ("GATHER: Input / output dtype mismatch", LiteRT 2.3), so the
tables read only by GATHER are stored back in float32 and their
DEQUANTIZE removed. The file grows by the tables' float16 size (for
all-MiniLM-L6-v2's 30,522 x 384 table, 23 MB); every other weight stays
float16.
"""

import flatbuffers
import numpy as np


def float32_lookup_tables(blob):
    """`(new blob, tables restored)`; `blob` itself when there is none."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(blob, 0))
    gather = schema.BuiltinOperator.GATHER
    dequantize = schema.BuiltinOperator.DEQUANTIZE

    def code(op):
        found = model.operatorCodes[op.opcodeIndex]
        return max(found.builtinCode, found.deprecatedBuiltinCode)

    # The converter shares one buffer between equal constants (a masked
    # LM's tied table is read by GATHER and by the output MATMUL): a
    # buffer is emptied only when no other tensor points at it.
    holders = {}
    for graph in model.subgraphs:
        for tensor in graph.tensors:
            holders[tensor.buffer] = holders.get(tensor.buffer, 0) + 1
    restored = 0
    for graph in model.subgraphs:
        readers = {}
        for index, op in enumerate(graph.operators):
            for slot, tensor in enumerate(
                op.inputs if op.inputs is not None else []
            ):
                readers.setdefault(int(tensor), []).append((index, slot))
        dropped = set()
        for index, op in enumerate(graph.operators):
            if code(op) != dequantize:
                continue
            source, target = int(op.inputs[0]), int(op.outputs[0])
            stored = graph.tensors[source]
            buffer = model.buffers[stored.buffer]
            if stored.type != schema.TensorType.FLOAT16 or buffer.data is None:
                continue
            uses = readers.get(target, [])
            if (
                not uses
                or target in list(graph.outputs)
                or any(
                    code(graph.operators[i]) != gather or slot != 0
                    for i, slot in uses
                )
            ):
                continue
            values = np.frombuffer(bytes(bytearray(buffer.data)), np.float16)
            table = schema.BufferT()
            table.data = np.frombuffer(
                values.astype(np.float32).tobytes(), np.uint8
            )
            model.buffers.append(table)
            graph.tensors[target].buffer = len(model.buffers) - 1
            graph.tensors[target].type = schema.TensorType.FLOAT32
            dropped.add(index)
            if (
                len(readers.get(source, [])) == 1
                and holders[stored.buffer] == 1
            ):
                # Only this DEQUANTIZE read the float16 copy: drop it.
                buffer.data = None
        graph.operators = [
            op for i, op in enumerate(graph.operators) if i not in dropped
        ]
        restored += len(dropped)
    if not restored:
        return blob, 0
    builder = flatbuffers.Builder(len(blob) + 1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output()), restored
