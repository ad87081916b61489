"""SavedModels to `.tflite` files, converted in a worker process.

TensorFlow 2.21's converter keeps memory after every call, so conversions
run in a separate Python process (`_convert.py`, run by path) that is
replaced once its resident memory passes `WORKER_MAX_RSS_MB` or it has
done `WORKER_MAX_JOBS` conversions; its memory then goes back to the
system. One worker serves the process; it is closed at exit.

`convert_saved_model` restricts the file to TFLite's builtin operators
unless the caller opts in to Flex, stamps the integrity footer, and
replaces the target file only on success.
"""

import atexit
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

from keras_attn.export import _files
from keras_attn.export import _rewrite
from keras_attn.export import integrity
from keras_attn.export.report import ExportReport
from keras_attn.export.report import count_ops
from keras_attn.export.report import non_builtin_ops

SIGNATURE = "serving_default"


class UnsupportedOpsError(ValueError):
    """The model needs operators outside TFLite's builtin set.

    Attributes:
        ops: `{operator: count}` of the Flex (select TF) and custom
            operators the conversion would need.

    Example:

    >>> error = UnsupportedOpsError({"FlexMatrixDeterminant": 1})
    >>> "FlexMatrixDeterminant x1" in str(error)
    True
    """

    def __init__(self, ops, detail=None):
        self.ops = dict(ops)
        listed = ", ".join(
            f"{name} x{count}" for name, count in self.ops.items()
        )
        message = (
            "The model cannot be converted with TFLite builtin operators "
            f"only; it would need: {listed or 'operators it did not name'}. "
            "The plain LiteRT runtime cannot run Flex or custom operators. "
            "Pass allow_flex=True (--allow-flex) to export anyway, for a "
            "runtime linked with the Flex delegate."
        )
        if detail:
            message += f"\nConverter said: {detail[:2000]}"
        super().__init__(message)


def _save_batches(path, batches):
    arrays = {}
    for index, batch in enumerate(batches):
        for name, value in batch.items():
            arrays[f"{index}/{name}"] = value
    np.savez(path, **arrays)


_CONVERTER = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "_convert.py"
)
# The worker is replaced once its resident memory passes this bound or it
# has done this many conversions (TensorFlow's converter does not give
# memory back).
WORKER_MAX_RSS_MB = 3000
WORKER_MAX_JOBS = 50


def _rss_mb(pid):
    """Resident memory of process `pid` in MB, or None where unknown."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class _Worker:
    """A Python process running `_convert.py`, fed one job path per line."""

    def __init__(self):
        from keras_attn.export._convert import DONE

        self.done = DONE
        self.log = tempfile.TemporaryFile()
        environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        self.process = subprocess.Popen(
            # -P: keep this folder (saved_model.py, ...) off sys.path.
            [sys.executable, "-P", _CONVERTER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=environment,
        )
        self.jobs = 0
        self._buffer = b""

    def _log_tail(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def run(self, job_path, timeout):
        """Sends one job; waits for its DONE line or kills the worker."""
        import select

        self.process.stdin.write(job_path.encode() + b"\n")
        self.process.stdin.flush()
        marker = f"{self.done} {job_path}".encode()
        deadline = time.monotonic() + timeout
        stdout = self.process.stdout.fileno()
        while marker not in self._buffer:
            remaining = deadline - time.monotonic()
            ready = (
                remaining > 0 and select.select([stdout], [], [], remaining)[0]
            )
            if not ready:
                self.close()
                raise TimeoutError(
                    f"The TFLite converter took more than {timeout} s and "
                    "was stopped."
                )
            chunk = os.read(stdout, 65536)
            if not chunk:
                code = self.process.wait()
                tail = self._log_tail()
                self.close()
                raise RuntimeError(
                    f"The TFLite converter process ended with code {code}. "
                    f"Its last output:\n{tail}"
                )
            self._buffer += chunk
        self._buffer = self._buffer.split(marker, 1)[1]
        self.jobs += 1

    def worn_out(self):
        rss = _rss_mb(self.process.pid)
        return self.jobs >= WORKER_MAX_JOBS or (
            rss is not None and rss > WORKER_MAX_RSS_MB
        )

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        self.log.close()


_worker = None


def _shutdown_worker():
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None


atexit.register(_shutdown_worker)


def _run_job(job, timeout):
    """Runs `job` in the converter worker; returns its result dict."""
    global _worker
    with tempfile.TemporaryDirectory() as scratch:
        job_path = os.path.join(scratch, "job.json")
        job["result"] = os.path.join(scratch, "result.json")
        with open(job_path, "w", encoding="utf-8") as handle:
            json.dump(job, handle)
        if _worker is None:
            _worker = _Worker()
        worker = _worker
        try:
            worker.run(job_path, timeout)
        finally:
            if worker.process.poll() is not None or worker.worn_out():
                worker.close()
                _worker = None
        with open(job["result"], encoding="utf-8") as handle:
            return json.load(handle)


def convert_saved_model(
    saved_model,
    path,
    quantization=None,
    calibration=None,
    input_names=(),
    allow_flex=False,
    signature=SIGNATURE,
    float_ops=None,
    float_scopes=None,
    timeout=1800,
):
    """Converts a SavedModel signature to `path` in the converter worker.

    `calibration` is a list of `{input name: array}` batches (for `int8`).
    `float_ops` (operator types) and `float_scopes` (layer names: the
    operators those layers computed) stay in float32 in an `int8` file.
    Raises UnsupportedOpsError if builtin operators do not suffice and
    `allow_flex` is False. The file at `path` is replaced (by a rename)
    only on success. Returns an `ExportReport` of the file (operators and
    size; no comparison with Keras yet).
    """
    path = pathlib.Path(path)
    _files.remove_stale(path)
    candidate = _files.partial_name(path)
    with tempfile.TemporaryDirectory() as scratch:
        calibration_path = None
        if calibration is not None:
            calibration_path = os.path.join(scratch, "calibration.npz")
            _save_batches(calibration_path, calibration)
        # Absolute paths: the worker lives on from the first export and
        # keeps the working directory it started in.
        job = {
            "saved_model": os.path.abspath(saved_model),
            "signature": signature,
            "candidate": os.path.abspath(candidate),
            "quantization": quantization,
            "calibration": calibration_path,
            "input_names": list(input_names),
            "float_ops": list(float_ops or []),
            "float_scopes": list(float_scopes or []),
        }
        try:
            result = _run_job(job, timeout)
            if not result["ok"]:
                raise RuntimeError(
                    "TFLite conversion failed.\nWith builtin operators: "
                    f"{result['error'][:3000]}\nWith Flex operators too: "
                    f"{result.get('error_with_select_ops', '')[:3000]}"
                )
            blob = candidate.read_bytes()
            if quantization == "float16":
                # GPU-runnable: lookup tables back in float32 (_rewrite).
                blob, _ = _rewrite.float32_lookup_tables(blob)
                candidate.write_bytes(blob)
            extra = non_builtin_ops(blob)
            if extra and not allow_flex:
                raise UnsupportedOpsError(extra, result.get("error"))
            integrity.stamp(candidate)
            os.replace(candidate, path)
        finally:
            if candidate.exists():
                candidate.unlink()
    return ExportReport(
        path=str(path),
        format="tflite",
        quantization=quantization,
        size_bytes=path.stat().st_size,  # with the checksum footer
        ops=count_ops(blob),
        non_builtin_ops=extra,
    )
