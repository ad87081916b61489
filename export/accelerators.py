"""Where a `.tflite` file runs: LiteRT's GPU accelerator and Qualcomm's
NPU compiler, asked for real.

A format check is not enough: `tf.lite.experimental.Analyzer` called
files "GPU compatible" that the GPU accelerator refused. Here each file
is compiled by the runtime a phone app uses, in a child process (the
runtimes print their reasons from C++ to stderr, and may crash):

- `check_gpu(path, inputs, precision)`: `CompiledModel` with
  `HardwareAccelerator.GPU` alone (no CPU fallback), in the accelerator's
  default float16 precision or with `enforce_f32`; whether every op runs
  on the GPU, the refused ops with the accelerator's reasons, and with
  `inputs` the GPU's outputs against the CPU interpreter's. On a machine
  without a GPU, Mesa's software Vulkan driver (lavapipe, Mesa 25 or
  later) serves the same WebGPU code path; its timings mean nothing.
- `check_npu(path, soc_models)`: Qualcomm's ahead-of-time compiler for
  the Hexagon NPU (`ai_edge_litert.aot`), per SoC: ops on the NPU, NPU
  partitions, the ops left on the CPU and the compiler's reasons. It needs
  Qualcomm's host libraries (`fetch_qnn_libraries`).

Each check returns an `AcceleratorCheck`; `ExportReport.accelerators`
holds them and `keras-attn inspect FILE --accelerators` prints them.
"""

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

import numpy as np

from keras_attn._choices import QUALCOMM_SOCS
from keras_attn.export import _qnn
from keras_attn.export._qnn import fetch_qnn_libraries
from keras_attn.export._qnn import qnn_folder

_CHILD = pathlib.Path(__file__).resolve().parent / "_accelerator_child.py"
GPU_PRECISIONS = ("float16", "float32")


@dataclasses.dataclass
class AcceleratorCheck:
    """What one accelerator made of a file.

    Attributes:
        accelerator: `"gpu"` or `"npu"`.
        target: `"float16"` / `"float32"` (GPU precision) or a Qualcomm
            SoC name (NPU).
        available: whether the runtime could be asked at all (a GPU
            adapter, Qualcomm's libraries); `reason` says why not.
        fully_accelerated: every op on the accelerator (NPU: in one
            partition).
        accelerated_ops / total_ops / partitions: as the runtime counts
            them, where it says.
        refused: `[{"op": ..., "reason": ...}]`, the runtime's words.
        max_abs_diff: per output, |accelerator - CPU interpreter| on the
            inputs given (GPU only); NaN where the GPU gave NaN or inf.
        reason: why the check could not run or the compile failed.
    """

    accelerator: str
    target: str
    available: bool = True
    fully_accelerated: bool | None = None
    accelerated_ops: int | None = None
    total_ops: int | None = None
    partitions: int | None = None
    refused: list = dataclasses.field(default_factory=list)
    max_abs_diff: dict = dataclasses.field(default_factory=dict)
    reason: str | None = None
    detail: str | None = None

    def to_dict(self):
        return dataclasses.asdict(self)

    def summary(self):
        """One line, as `keras-attn inspect --accelerators` prints it."""
        name = f"{self.accelerator.upper()} {self.target}"
        if not self.available:
            return f"{name}: not checked ({self.reason})"
        if self.fully_accelerated:
            words = "fully accelerated"
        elif self.fully_accelerated is False:
            words = "NOT fully accelerated"
        else:
            words = "failed"
        if self.accelerated_ops is not None:
            words += f", {self.accelerated_ops}/{self.total_ops} ops"
        if self.partitions is not None:
            words += f" in {self.partitions} partition(s)"
        if self.max_abs_diff:
            worst = max(self.max_abs_diff.values())
            words += f", max |diff| vs CPU {worst:.3g}"
        line = f"{name}: {words}"
        for item in self.refused:
            line += f"\n    {item['op']}: {item['reason']}"
        if self.reason and not self.fully_accelerated:
            line += f"\n    {self.reason[:400]}"
        return line


def _run_child(spec, timeout, env=None):
    """Runs `_accelerator_child.py` on `spec`; returns `(result, log)`."""
    with tempfile.TemporaryDirectory(prefix="keras_attn_accel_") as scratch:
        spec = dict(spec, out_dir=scratch)
        spec_path = os.path.join(scratch, "spec.json")
        with open(spec_path, "w", encoding="utf-8") as handle:
            json.dump(spec, handle)
        environment = dict(os.environ, **(env or {}))
        try:
            done = subprocess.run(
                [sys.executable, "-P", str(_CHILD), spec_path],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=environment,
                timeout=timeout,
            )
            log = done.stdout.decode("utf-8", "replace")
            status = done.returncode
        except subprocess.TimeoutExpired as error:
            log = (error.stdout or b"").decode("utf-8", "replace")
            status = "timeout"
        result = None
        result_path = os.path.join(scratch, "result.json")
        if os.path.exists(result_path):
            with open(result_path, encoding="utf-8") as handle:
                result = json.load(handle)
            outputs = os.path.join(scratch, "outputs.npz")
            if os.path.exists(outputs):
                with np.load(outputs) as data:
                    result["outputs"] = {k: data[k] for k in data.files}
        if result is None:
            tail = " | ".join(log.strip().splitlines()[-3:])[-600:]
            result = {"error": f"child process ended ({status}): {tail}"}
    return result, log


# --- GPU ----------------------------------------------------------------

_REFUSALS = "Following operations are not supported by GPU delegate:"
_OP_REASON = re.compile(r"^([A-Z][A-Z0-9_]*): (.+)$")
_SPLIT = re.compile(
    r"(\d+) operations will run on the GPU, and the remaining (\d+)"
)
_ADAPTER = re.compile(r"Selected adapter: ([^,]*)")


def _parse_gpu_log(log):
    refused, shader_errors, split = [], [], None
    listing = False
    for line in log.splitlines():
        text = line.strip()
        if _REFUSALS in text:
            listing = True
            continue
        match = _SPLIT.search(text)
        if match:
            split = (int(match.group(1)), int(match.group(2)))
            listing = False
            continue
        if listing:
            match = _OP_REASON.match(text)
            if match and not text.startswith(("INFO", "WARNING", "ERROR")):
                refused.append({"op": match.group(1), "reason": match.group(2)})
            elif text and not refused:
                continue
            else:
                listing = False
        if "Error while parsing WGSL" in text:
            error = text[text.index("Error while parsing WGSL") :][:200]
            if error not in shader_errors:
                shader_errors.append(error)
    adapter = _ADAPTER.search(log)
    return {
        "refused": refused,
        "shader_errors": shader_errors,
        "split": split,
        "adapter": adapter.group(1).strip() if adapter else None,
        "no_adapter": "No adapters found" in log,
    }


def cpu_outputs(path, inputs, signature=None):
    """The file's outputs from the LiteRT CPU interpreter: for one input
    dict, a dict; for a list of them, a list."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=os.fspath(path))
    signatures = interpreter.get_signature_list()
    runner = interpreter.get_signature_runner(
        signature or next(iter(signatures))
    )
    details = runner.get_input_details()

    def run(batch):
        feed = {
            name: np.asarray(value).astype(details[name]["dtype"])
            for name, value in batch.items()
        }
        return {name: np.array(value) for name, value in runner(**feed).items()}

    if isinstance(inputs, dict):
        return run(inputs)
    return [run(batch) for batch in inputs]


def _difference(got, want):
    differences = {}
    for name, expected in want.items():
        expected = np.asarray(expected, "float64")
        actual = np.asarray(got[name], "float64").reshape(expected.shape)
        if not np.all(np.isfinite(actual[np.isfinite(expected)])):
            differences[name] = float("nan")
        else:
            differences[name] = float(np.max(np.abs(actual - expected)))
    return differences


def check_gpu(path, inputs=None, precision="float16", timeout=600):
    """Compiles `path` for LiteRT's GPU accelerator alone and, with
    `inputs` (`{input name: array}`, or a list of them), runs it and
    compares its outputs with the CPU interpreter's. `precision`: the
    accelerator's default `"float16"` or `"float32"` (`enforce_f32`)."""
    return run_on_gpu(path, inputs, precision, timeout)[0]


def run_on_gpu(path, inputs=None, precision="float16", timeout=600):
    """`check_gpu`'s check and the GPU's outputs: a list of
    `{output name: array}`, one per input batch (empty without inputs or
    when the file did not run wholly on the GPU)."""
    if precision not in GPU_PRECISIONS:
        raise ValueError(
            f"`precision` must be one of {list(GPU_PRECISIONS)}; received "
            f"{precision!r}."
        )
    batches = [] if inputs is None else inputs
    if isinstance(batches, dict):
        batches = [batches]
    check = AcceleratorCheck("gpu", precision)
    with tempfile.TemporaryDirectory(prefix="keras_attn_gpu_") as scratch:
        inputs_path = None
        if batches:
            inputs_path = os.path.join(scratch, "inputs.npz")
            np.savez(
                inputs_path,
                **{
                    name: np.stack([np.asarray(b[name]) for b in batches])
                    for name in batches[0]
                },
            )
        result, log = _run_child(
            {
                "mode": "gpu",
                "path": os.path.abspath(path),
                "enforce_f32": precision == "float32",
                "inputs": inputs_path,
            },
            timeout,
        )
    parsed = _parse_gpu_log(log)
    check.detail = parsed["adapter"]
    if parsed["no_adapter"] or (
        parsed["adapter"] is None and not result.get("compiled")
    ):
        check.available = False
        check.reason = (
            "no GPU adapter: LiteRT's GPU accelerator found no Vulkan "
            "device (on a machine without a GPU, install Mesa 25's "
            "lavapipe driver)"
        )
        return check, []
    check.refused = parsed["refused"]
    if parsed["split"]:
        check.accelerated_ops = parsed["split"][0]
        check.total_ops = sum(parsed["split"])
    # Dawn can fail to build a generated shader for an op it accepted;
    # is_fully_accelerated() still says True, and that op's output is
    # wrong. Such a file is not fully accelerated.
    for error in parsed["shader_errors"]:
        check.refused.append({"op": "(shader)", "reason": error})
    check.fully_accelerated = bool(
        result.get("fully_accelerated") and not check.refused
    )
    if result.get("error"):
        check.reason = result["error"]
    outputs = []
    if check.fully_accelerated and "outputs" in result:
        stacked = result["outputs"]
        outputs = [
            {name: values[row] for name, values in stacked.items()}
            for row in range(len(batches))
        ]
        expected = cpu_outputs(path, batches)
        for got, want in zip(outputs, expected, strict=True):
            for name, value in _difference(got, want).items():
                previous = check.max_abs_diff.get(name, 0.0)
                check.max_abs_diff[name] = (
                    value if np.isnan(value) else max(previous, value)
                )
    return check, outputs


# --- NPU ----------------------------------------------------------------

_NPU_REFUSED = re.compile(
    r"LiteRT Op #(\d+) '([^']+)' \(code=\d+\) is not supported"
)
_NPU_REASON = re.compile(r"<E> (.*)")


def _npu_refusals(log):
    refused = []
    for match in _NPU_REFUSED.finditer(log):
        before = log[: match.start()]
        reasons = _NPU_REASON.findall(before[-3000:])
        refused.append(
            {
                "op": match.group(2),
                "reason": reasons[-1].strip()
                if reasons
                else "no Qualcomm kernel for this form",
            }
        )
    return refused


def check_npu(path, soc_models=None, timeout=900):
    """Compiles `path` for Qualcomm's Hexagon NPU, one `AcceleratorCheck`
    per SoC (default: every SoC LiteRT lists)."""
    socs = list(soc_models or QUALCOMM_SOCS)
    unknown = sorted(set(socs) - set(QUALCOMM_SOCS))
    if unknown:
        raise ValueError(
            f"Unknown Qualcomm SoC(s) {unknown}; expected some of "
            f"{list(QUALCOMM_SOCS)}."
        )
    folder = _qnn.qnn_folder()
    if folder is None:
        return [
            AcceleratorCheck(
                "npu",
                soc,
                available=False,
                reason="Qualcomm's host libraries are not installed "
                "(keras_attn.export.accelerators.fetch_qnn_libraries())",
            )
            for soc in socs
        ]
    library_path = os.pathsep.join(
        p for p in (str(folder), os.environ.get("LD_LIBRARY_PATH")) if p
    )
    result, log = _run_child(
        {"mode": "npu", "path": os.path.abspath(path), "socs": socs},
        timeout,
        env={"LD_LIBRARY_PATH": library_path},
    )
    checks = []
    for soc in socs:
        found = (result.get("socs") or {}).get(soc)
        check = AcceleratorCheck("npu", soc)
        if found is None:
            check.fully_accelerated = False
            check.reason = result.get("error") or "no result from the compiler"
        elif not found["ok"]:
            check.fully_accelerated = False
            # QNN's logger does not always end its lines.
            text = re.sub(r"\s+(?=[\d.]+ms \[)", "\n", found["log"])
            errors = list(
                dict.fromkeys(
                    re.sub(r"^.*?(ERROR|<E>)\W*", "", line).strip()[:300]
                    for line in text.splitlines()
                    if "could not create op" in line
                    or "QNN_GRAPH_ERROR" in line
                )
            )
            check.reason = (
                found["error"].split(" See ")[0]
                + (": " + " | ".join(errors[:3]) if errors else "")
            )[:1500]
            check.refused = _npu_refusals(found["log"])
        else:
            check.accelerated_ops = found["accelerated_ops"]
            check.total_ops = found["total_ops"]
            check.partitions = found["partitions"]
            check.refused = _npu_refusals(found["log"])
            check.fully_accelerated = (
                found["accelerated_ops"] == found["total_ops"]
                and found["partitions"] == 1
            )
            if found["left_ops"]:
                check.detail = f"left on the CPU: {found['left_ops']}"
        checks.append(check)
    return checks


def accelerator_names(accelerators):
    """`accelerators` (None, `"gpu"`, `"npu"` or some of them in a
    sequence) as a tuple, or ValueError naming what is not one."""
    if not accelerators:
        return ()
    if isinstance(accelerators, str):
        accelerators = (accelerators,)
    unknown = sorted({str(a) for a in accelerators} - {"gpu", "npu"})
    if unknown:
        raise ValueError(
            "`accelerators` may hold 'gpu' and 'npu'; received "
            f"{accelerators!r}."
        )
    return tuple(accelerators)


def check_accelerators(
    path, inputs=None, accelerators=("gpu", "npu"), soc_models=None
):
    """Every check of `accelerators` on `path`: the GPU in both precisions
    and the NPU per SoC."""
    accelerators = accelerator_names(accelerators)
    checks = []
    if "gpu" in accelerators:
        for precision in GPU_PRECISIONS:
            checks.append(check_gpu(path, inputs, precision))
    if "npu" in accelerators:
        checks.extend(check_npu(path, soc_models))
    return checks


def format_checks(checks):
    """The lines `keras-attn inspect --accelerators` prints."""
    return "\n".join(check.summary() for check in checks)


__all__ = [
    "GPU_PRECISIONS",
    "QUALCOMM_SOCS",
    "AcceleratorCheck",
    "check_accelerators",
    "check_gpu",
    "check_npu",
    "cpu_outputs",
    "fetch_qnn_libraries",
    "format_checks",
    "qnn_folder",
    "run_on_gpu",
]
