"""SavedModel to `.tflite`, in a worker process.

TensorFlow 2.21's converter keeps memory after every call, so conversions
run in a separate Python process that the parent (`converter._Worker`)
restarts once its memory passes a bound; its memory goes back to the
system when it ends. This file is run by path, not imported as part of
`keras_attn.export`.

Protocol: the parent writes the path of a job (JSON) on a line of stdin;
the worker converts, writes the result (JSON) to the job's `result` path
and prints `DONE <job path>` on stdout. With a job path as argument it
converts that job once and exits. The private converter entries it needs
come from `keras_attn._compat`.
"""

import json
import os
import sys

DONE = "__keras_attn_convert_done__"


def _calibration(path, signature_inputs):
    import numpy as np

    with np.load(path) as stored:
        arrays = {key: stored[key] for key in stored.files}
    count = len({key.split("/")[0] for key in arrays})

    def batches():
        for index in range(count):
            yield {name: arrays[f"{index}/{name}"] for name in signature_inputs}

    return batches


def _converter(job, builtins_only):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(
        job["saved_model"], signature_keys=[job["signature"]]
    )
    quantization = job["quantization"]
    if quantization == "int8" and not (
        job.get("float_ops") or job.get("float_scopes")
    ):
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    else:
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if not builtins_only:
        ops.append(tf.lite.OpsSet.SELECT_TF_OPS)
        converter.allow_custom_ops = True
    converter.target_spec.supported_ops = ops
    if quantization is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantization == "int8":
        converter.representative_dataset = _calibration(
            job["calibration"], job["input_names"]
        )
    return converter


def _measured_ranges(calibrated, batches, signature):
    """`calibrated` (a float `.tflite` holding the converter's calibration
    ranges) with each calibrated float tensor of its main subgraph given
    the smallest and largest value it took over `batches()` instead.

    TensorFlow 2.21's calibrator logs some tensors after a later operator
    has reused their memory, and so records that operator's values too.
    On a MiniLM classifier the attention's row maximum got the range of
    (maximum - 16), and each attention output projection got the range of
    the residual sum after it (-8.4..10.6 where its values were
    -1.4..4.3), which cost those tensors up to 7x their precision. Here
    every batch runs with all intermediate tensors kept, and the values
    are read afterwards. Tensors of other subgraphs (loop bodies) keep
    the converter's ranges.
    """
    import numpy as np
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_litert.interpreter import OpResolverType
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    tensors = model.subgraphs[0].tensors
    measured = {
        index: [np.inf, -np.inf]
        for index, tensor in enumerate(tensors)
        if tensor.type == schema.TensorType.FLOAT32
        and tensor.quantization is not None
        and tensor.quantization.min is not None
        and len(tensor.quantization.min) == 1
    }
    interpreter = Interpreter(
        model_content=bytes(calibrated),
        experimental_preserve_all_tensors=True,
        experimental_op_resolver_type=(
            OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
        ),
    )
    runner = interpreter.get_signature_runner(signature)
    for batch in batches():
        runner(**batch)
        for index, bounds in measured.items():
            values = interpreter.get_tensor(index)
            if values.size:
                bounds[0] = min(bounds[0], float(values.min()))
                bounds[1] = max(bounds[1], float(values.max()))
    for index, (low, high) in measured.items():
        if low <= high:
            tensors[index].quantization.min = [low]
            tensors[index].quantization.max = [high]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _float_nodes(calibrated, scopes):
    """The output tensor names of the operators of `calibrated`'s main
    subgraph that a layer named in `scopes` computed: a path segment of
    the name is the layer's name, perhaps with `_lowered` and a number
    (`.../log_mel_lowered_1/Log`). A fused operator's name joins its
    parts with ";": the whole name and each part are given."""
    import re

    from ai_edge_litert.tools import flatbuffer_utils

    if not scopes:
        return []
    pattern = re.compile(
        "(?:^|/)(?:"
        + "|".join(re.escape(scope) for scope in scopes)
        + r")(?:_lowered)?(?:_\d+)?/"
    )
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))
    subgraph = model.subgraphs[0]
    names = []
    for operator in subgraph.operators:
        for index in operator.outputs:
            name = subgraph.tensors[index].name
            name = name.decode() if isinstance(name, bytes) else name
            if pattern.search(name):
                names.extend([name, *name.split(";")])
    return sorted(set(names))


def _int8(converter, job):
    """Calibrates, puts in the measured ranges (`_measured_ranges`) and
    quantizes, leaving `job["float_ops"]` (operator types) and the
    operators of the layers named in `job["float_scopes"]` (if any) in
    float32.

    `mlir_quantize` is the step that `converter.convert()` and TensorFlow's
    public QuantizationDebugger (for its deny lists) run after
    calibration; it is called with the converter's defaults: per-channel
    weights, float32 inputs and outputs.
    """
    from keras_attn import _compat

    batches = converter.representative_dataset
    _compat.calibrate_only(converter)
    calibrated = _measured_ranges(
        converter.convert(), batches, job["signature"]
    )
    return _compat.mlir_quantize(
        calibrated,
        job.get("float_ops"),
        _float_nodes(calibrated, job.get("float_scopes")),
    )


def _convert_once(job, builtins_only):
    converter = _converter(job, builtins_only)
    if job["quantization"] == "int8":
        return _int8(converter, job)
    return converter.convert()


def convert(job):
    """Converts as `job` says and writes `job["candidate"]`.

    Returns `{"ok": True, "builtin_only": bool}` or `{"ok": False, ...}`
    with the converter's messages; never raises.
    """
    try:
        blob = _convert_once(job, builtins_only=True)
        builtin_only, first_error = True, None
    except Exception as error:  # the converter raises several types
        first_error = f"{type(error).__name__}: {error}"
        try:
            blob = _convert_once(job, builtins_only=False)
        except Exception as second:
            return {
                "ok": False,
                "error": first_error,
                "error_with_select_ops": f"{type(second).__name__}: {second}",
            }
        builtin_only = False
    with open(job["candidate"], "wb") as handle:
        handle.write(blob)
    return {"ok": True, "builtin_only": builtin_only, "error": first_error}


def _handle(job_path):
    with open(job_path, encoding="utf-8") as handle:
        job = json.load(handle)
    result = convert(job)
    with open(job["result"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


def main(argv):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if len(argv) > 1:
        _handle(argv[1])
        return 0
    for line in sys.stdin:
        job_path = line.strip()
        if not job_path:
            continue
        _handle(job_path)
        sys.stdout.write(f"\n{DONE} {job_path}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
