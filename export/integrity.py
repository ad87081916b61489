"""Is a `.tflite` file whole before an interpreter opens it?

The LiteRT interpreter checks a file's FlatBuffer structure, but not its
contents: in a trial here, one random byte changed in a small BERT file
gave wrong outputs without an error in 62 of 100 cases, and in one case
made the interpreter ask for so much memory that the kernel killed the
process. So:

- every file `keras_attn.export` writes ends with a 40-byte footer, the
  tag `KATTNSHA` and the SHA-256 of the bytes before it (LiteRT ignores
  bytes after the model, as it does for TensorFlow's own >2 GB files);
  `verify_tflite` recomputes it;
- a file without the footer (made elsewhere) is opened, allocated and run
  once on zeros in a child process whose address space is bounded, so a
  crash or a runaway allocation ends the child, not the caller.
"""

import hashlib
import os
import resource
import subprocess
import sys

from keras_attn.errors import CorruptModelError

FOOTER_TAG = b"KATTNSHA"
FOOTER_SIZE = len(FOOTER_TAG) + 32


def footer(blob):
    """The footer for `blob` (the file's bytes without one)."""
    return FOOTER_TAG + hashlib.sha256(blob).digest()


def split_footer(blob):
    """`(model bytes, stored digest)`, or `(blob, None)` without a footer."""
    if len(blob) > FOOTER_SIZE and blob[-FOOTER_SIZE:-32] == FOOTER_TAG:
        return blob[:-FOOTER_SIZE], blob[-32:]
    return blob, None


def stamp(path):
    """Appends the checksum footer to the `.tflite` file at `path`."""
    with open(path, "rb") as handle:
        blob = handle.read()
    blob, _ = split_footer(blob)
    with open(path, "wb") as handle:
        handle.write(blob + footer(blob))
        handle.flush()
        os.fsync(handle.fileno())


_PROBE = """
import sys
import numpy as np
from ai_edge_litert.interpreter import Interpreter

interpreter = Interpreter(model_path=sys.argv[1], num_threads=1)
interpreter.allocate_tensors()
for detail in interpreter.get_input_details():
    shape = [max(int(d), 1) for d in detail["shape"]]
    interpreter.set_tensor(detail["index"], np.zeros(shape, detail["dtype"]))
interpreter.invoke()
"""


def _bounded_memory(limit_bytes):
    def apply():
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return apply


def probe(path, size_bytes, timeout=300):
    """Runs the file once in a bounded child; raises CorruptModelError."""
    limit = 4 * 2**30 + 8 * size_bytes
    try:
        child = subprocess.run(
            [sys.executable, "-c", _PROBE, os.fspath(path)],
            capture_output=True,
            text=True,
            timeout=timeout,
            preexec_fn=_bounded_memory(limit),
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
    except subprocess.TimeoutExpired:
        raise CorruptModelError(
            path,
            f"running it once on zeros did not finish in {timeout} s.",
        ) from None
    if child.returncode == 0:
        return
    lines = [line for line in child.stderr.splitlines() if line.strip()]
    if child.returncode < 0:
        what = f"the interpreter crashed (signal {-child.returncode})"
    else:
        what = "the interpreter refused it"
    detail = lines[-1][:500] if lines else "no message"
    raise CorruptModelError(
        path,
        f"not a usable TFLite model: {what} when run once on zeros in a "
        f"child process with {limit // 2**20} MiB of address space "
        f"({detail}).",
    )


def verify_tflite(path, run_unknown=True, timeout=300):
    """Checks that the `.tflite` file at `path` is whole.

    A file written by `keras_attn.export` carries a SHA-256 footer, which
    must match. Any other file must have TFLite's identifier and, with
    `run_unknown`, load, allocate and run once on zeros in a child
    process with bounded memory (about a second).

    Args:
        path: the `.tflite` file.
        run_unknown: bool. Probe files without the footer in a child.
        timeout: seconds allowed for that probe.

    Returns:
        `"checksum"` or `"probe"` (how the file was checked), or
        `"identifier"` when only the identifier could be checked.

    Raises:
        FileNotFoundError: if there is no file.
        CorruptModelError: naming the file, if it is empty, truncated,
            altered since it was written, or not a model LiteRT can run.

    Example:

    >>> import keras, os, tempfile
    >>> from keras_attn.export import to_tflite, verify_tflite
    >>> inputs = keras.Input((4,), name="x")
    >>> model = keras.Model(inputs, keras.layers.Dense(2)(inputs))
    >>> path = os.path.join(tempfile.mkdtemp(), "dense.tflite")
    >>> _ = to_tflite(model, path, measure_latency=False)
    >>> verify_tflite(path)
    'checksum'
    >>> blob = bytearray(open(path, "rb").read())
    >>> blob[len(blob) // 2] ^= 1  # one bit flipped
    >>> _ = open(path, "wb").write(bytes(blob))
    >>> try:
    ...     verify_tflite(path)
    ... except ValueError as error:
    ...     print("changed since keras_attn wrote it" in str(error))
    True
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No TFLite file at {path}.")
    with open(path, "rb") as handle:
        blob = handle.read()
    if not blob:
        raise CorruptModelError(path, "the file is empty.")
    model, digest = split_footer(blob)
    if digest is not None:
        if hashlib.sha256(model).digest() != digest:
            raise CorruptModelError(
                path,
                "the file changed since keras_attn wrote it (its SHA-256 "
                "does not match the one stored at its end): it is damaged "
                "or was edited; export it again.",
            )
        return "checksum"
    if len(blob) < 8 or blob[4:8] != b"TFL3":
        raise CorruptModelError(
            path,
            "not a TFLite model (expected the 'TFL3' identifier at bytes "
            f"4-8, found {blob[4:8]!r}).",
        )
    if not run_unknown:
        return "identifier"
    probe(path, len(blob), timeout=timeout)
    return "probe"
