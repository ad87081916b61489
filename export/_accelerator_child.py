"""Runs one accelerator check in a child process (private; run by path).

LiteRT's GPU accelerator and Qualcomm's compiler print their reasons from
C++ to the process's stderr, and either may crash the process; the
parent (`accelerators.py`) reads this process's output and its result
file instead. Usage:

    python -P _accelerator_child.py SPEC.json

SPEC: {"mode": "gpu" | "npu", "path": ..., "out_dir": ..., and for "gpu"
"enforce_f32", "inputs" (an .npz of input batches stacked on a new first
axis, or null), "signature"; for "npu"
"socs" (SocModel names)}. The child writes `result.json` (and
`outputs.npz`) into out_dir, then leaves with `os._exit` so that no
teardown crash can lose them.
"""

import json
import os
import pathlib
import re
import subprocess
import sys


def _finish(out_dir, result):
    with open(os.path.join(out_dir, "result.json"), "w") as handle:
        json.dump(result, handle)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _gpu(spec):
    import numpy as np
    from ai_edge_litert.compiled_model import CompiledModel
    from ai_edge_litert.hardware_accelerator import HardwareAccelerator
    from ai_edge_litert.options import GpuOptions
    from ai_edge_litert.options import Options

    result = {"compiled": False}
    try:
        options = Options(
            hardware_accelerators=HardwareAccelerator.GPU,
            gpu_options=GpuOptions(enforce_f32=spec["enforce_f32"]),
        )
        model = CompiledModel.from_file(spec["path"], options=options)
        result["compiled"] = True
        result["fully_accelerated"] = bool(model.is_fully_accelerated())
        signatures = model.get_signature_list()
        key = spec.get("signature") or next(iter(signatures))
        if spec.get("inputs"):
            inputs = model.get_input_tensor_details(key)
            outputs = model.get_output_tensor_details(key)
            with np.load(spec["inputs"]) as data:
                feed = {name: data[name] for name in data.files}
            rows = len(next(iter(feed.values())))
            buffers = {
                name: model.create_input_buffer_by_name(key, name)
                for name in signatures[key]["inputs"]
            }
            results = {
                name: model.create_output_buffer_by_name(key, name)
                for name in signatures[key]["outputs"]
            }
            read = {name: [] for name in results}
            for row in range(rows):  # one call per input batch
                for name, buffer in buffers.items():
                    detail = inputs[name]
                    buffer.write(
                        np.ascontiguousarray(
                            np.asarray(feed[name][row])
                            .astype(detail["dtype"])
                            .reshape(detail["shape"])
                        )
                    )
                model.run_by_name(key, buffers, results)
                for name, buffer in results.items():
                    shape = outputs[name]["shape"]
                    count = int(np.prod(shape)) if len(shape) else 1
                    read[name].append(
                        buffer.read(count, outputs[name]["dtype"]).reshape(
                            shape
                        )
                    )
            np.savez(
                os.path.join(spec["out_dir"], "outputs.npz"),
                **{name: np.stack(values) for name, values in read.items()},
            )
    except Exception as error:  # reported to the parent, never raised
        result["error"] = f"{type(error).__name__}: {error}"
    return result


def _op_counts(path):
    """`({op: count} outside the NPU's DISPATCH_OPs, DISPATCH_OP count)`."""
    from ai_edge_litert import schema_py_generated as schema

    blob = pathlib.Path(path).read_bytes()
    model = schema.Model.GetRootAs(blob, 0)
    names = {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }
    counts, dispatch = {}, 0
    for index in range(model.SubgraphsLength()):
        graph = model.Subgraphs(index)
        for op in range(graph.OperatorsLength()):
            code = model.OperatorCodes(graph.Operators(op).OpcodeIndex())
            number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
            name = names.get(number, str(number))
            if name == "CUSTOM":
                custom = (code.CustomCode() or b"").decode()
                if custom == "DISPATCH_OP":
                    dispatch += 1
                    continue
                name = custom
            counts[name] = counts.get(name, 0) + 1
    return counts, dispatch


def _npu(spec):
    from ai_edge_litert.aot import aot_compile as aot
    from ai_edge_litert.aot.core import apply_plugin
    from ai_edge_litert.aot.vendors.qualcomm import target as qualcomm

    out_dir = pathlib.Path(spec["out_dir"])
    logs = {}
    real_run = subprocess.run

    def run(args, **kwargs):
        # apply_plugin merges the compiler's streams and drops them on
        # success; keep them per SoC (the refusal reasons are in them).
        soc = next(
            (a.split("=", 1)[1] for a in args if str(a).startswith("--soc_m")),
            "unknown",
        )
        kwargs.pop("stdout", None)
        kwargs.pop("stderr", None)
        done = real_run(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs
        )
        logs[soc] = (done.stderr or "") + "\n" + (done.stdout or "")
        return subprocess.CompletedProcess(
            args, done.returncode, logs[soc], None
        )

    # A child-process-only replacement: this process exits right after.
    apply_plugin.subprocess.run = run
    targets = [qualcomm.Target(qualcomm.SocModel(s)) for s in spec["socs"]]
    compiled = aot.aot_compile(
        spec["path"],
        output_dir=str(out_dir / "compiled"),
        target=targets,
        keep_going=True,
    )
    results = {}
    for backend, model in compiled.models_with_backend:
        soc = str(backend.soc_model.value)
        stats = (
            model.partition_stats.subgraph_stats
            if model.partition_stats
            else []
        )
        left, dispatch = _op_counts(model.path)
        results[soc] = {
            "ok": True,
            "accelerated_ops": sum(s.num_ops_offloaded for s in stats),
            "total_ops": sum(s.num_total_ops for s in stats),
            "partitions": sum(s.num_partitions_offloaded for s in stats),
            "left_ops": left,
            "log": logs.get(soc, ""),
        }
    for backend, error in compiled.failed_backends:
        soc = str(backend.soc_model.value)
        log = logs.get(soc, "")
        # apply_plugin leaves the compiler's output of a failure in a file.
        leftover = re.search(r"See (\S+\.error) for details", error)
        if leftover and os.path.exists(leftover.group(1)):
            with open(leftover.group(1), errors="replace") as handle:
                log += "\n" + handle.read()
            os.unlink(leftover.group(1))
        results[soc] = {"ok": False, "error": error, "log": log}
    return {"socs": results}


def main(argv):
    with open(argv[1], encoding="utf-8") as handle:
        spec = json.load(handle)
    result = _gpu(spec) if spec["mode"] == "gpu" else _npu(spec)
    _finish(spec["out_dir"], result)


if __name__ == "__main__":
    main(sys.argv)
