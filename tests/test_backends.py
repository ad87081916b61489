"""The layer tests under the other Keras backend, in child processes.

CI runs the whole suite on the TensorFlow backend; this runs
`tests/layers` again with `KERAS_BACKEND=jax` (or TensorFlow, if the suite
itself runs on JAX), and the translator's decoders under `jax.jit`, so
both backends are covered by one test command.

The children run beside the rest of the suite (`conftest.py`): started
at collection in a plain run; under pytest-xdist these tests are handed
out first, so one worker waits on them while the other runs the rest.
Run alone, a test starts its child itself.
"""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import keras

TESTS = Path(__file__).resolve().parent
OTHER = "jax" if keras.backend.backend() != "jax" else "tensorflow"
_RUNNING = {}


def _layer_tests_command():
    return [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",  # one process: it already runs beside the suite's workers
        str(TESTS / "layers"),
    ], OTHER


def _jax_decoding_command():
    return [sys.executable, "-c", JAX_DECODING], "jax"


def _commands():
    return {
        "test_layer_tests_pass_on_the_other_backend": _layer_tests_command,
        "test_translator_decoding_compiles_under_jax": _jax_decoding_command,
    }


def start_in_background(test_name):
    """Starts the child process `test_name` checks, once."""
    make = _commands().get(test_name)
    if make is None or test_name in _RUNNING:
        return
    command, backend = make()
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if backend == "jax":
        # The layers' shapes are tiny, and XLA's CPU compiles (every eager
        # op and `fit` step) are most of the run: LLVM's optimization
        # passes cost more than they save here (about a quarter of the
        # child's CPU time, measured). What runs is the same computation.
        flags = env.get("XLA_FLAGS", "")
        env["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0"
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(
        command,
        cwd=TESTS,  # keeps a source checkout off sys.path
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
    )
    _RUNNING[test_name] = (process, output)


def stop_all():
    """Ends children whose tests did not run (deselected, interrupted)."""
    for process, output in _RUNNING.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        output.close()
    _RUNNING.clear()


def _result(test_name, timeout):
    """(exit code, output) of the child for `test_name`."""
    start_in_background(test_name)
    process, output = _RUNNING.pop(test_name)
    try:
        code = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    output.seek(0)
    text = output.read().decode(errors="replace")
    output.close()
    return code, text


def test_layer_tests_pass_on_the_other_backend():
    code, output = _result("test_layer_tests_pass_on_the_other_backend", 1500)
    tail = "\n".join(output.splitlines()[-60:])
    assert code == 0, f"{OTHER} backend:\n{tail}"
    assert " passed" in output, tail


JAX_DECODING = """
import numpy as np
import keras
from keras_attn import models

keras.utils.set_random_seed(3)
model = models.transformer_translator(
    "translator_tiny", vocabulary_size=12, dropout=0.0
)
source = np.array([[4, 5, 6, 0], [7, 8, 9, 10]], "int32")
for name, decode, extra in [
    ("greedy", models.greedy_decode, {}),
    ("beam", models.beam_search, {"beam_size": 3}),
]:
    run = lambda **kw: np.asarray(decode(model, source, 6, 1, 2, **kw, **extra))
    eager, jitted, full = run(), run(jit_compile=True), run(use_cache=False)
    assert (eager == jitted).all() and (eager == full).all(), (eager, jitted)
    print(name, "ok", eager.tolist())
"""


def test_translator_decoding_compiles_under_jax():
    code, output = _result("test_translator_decoding_compiles_under_jax", 600)
    tail = "\n".join(output.splitlines()[-30:])
    assert code == 0, tail
    assert "greedy ok" in output and "beam ok" in output, tail
