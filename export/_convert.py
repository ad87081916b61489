"""SavedModel to `.tflite`, in a worker process.

TensorFlow 2.21's converter keeps memory after every call, so conversions
run in a separate Python process that the parent (`litert._Worker`)
restarts once its memory passes a bound; its memory goes back to the
system when it ends. This file is run by path, not imported as part of
`keras_attn`, so the worker starts with TensorFlow alone.

Protocol: the parent writes the path of a job (JSON) on a line of stdin;
the worker converts, writes the result (JSON) to the job's `result` path
and prints `DONE <job path>` on stdout. With a job path as argument it
converts that job once and exits.
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
    if quantization == "int8" and not job.get("float_ops"):
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


def _selective_int8(converter, float_ops):
    """int8 except `float_ops`, which stay float32 (inputs/outputs too).

    TensorFlow's public QuantizationDebugger applies the deny list (its
    "selective quantization").
    """
    import tensorflow as tf

    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_ops=list(float_ops), fully_quantize=False
    )
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter,
        debug_dataset=converter.representative_dataset,
        debug_options=options,
    )
    return debugger.get_nondebug_quantized_model()


def _convert_once(job, builtins_only):
    converter = _converter(job, builtins_only)
    if job.get("float_ops"):
        return _selective_int8(converter, job["float_ops"])
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
