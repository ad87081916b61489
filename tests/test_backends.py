"""The layer tests under the other Keras backend, in child processes.

CI runs the whole suite on the TensorFlow backend; this runs
`tests/layers` again with `KERAS_BACKEND=jax` (or TensorFlow, if the suite
itself runs on JAX), and the translators' decoders (the Transformer's
and the RNN's) under `jax.jit`, so
both backends are covered by one test command. On the TensorFlow suite
one JAX child does both, the layer tests and then the decoders.

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
_RUNNING = {}  # child key -> (process, its output file)
_DONE = {}  # child key -> (exit code, output)

LAYER_TESTS = [
    "-q",
    "-p",
    "no:cacheprovider",
    "-n",
    "0",  # one process: it already runs beside the suite's workers
    str(TESTS / "layers"),
]


def _children():
    """Each test's child: {test name: (key, command, backend)}.

    On the TensorFlow suite both checks run on JAX, so one child does
    both (one JAX, Keras and TensorFlow start, not two): the layer tests,
    then the decoding. Its exit status is the layer tests'; the decoding
    prints its lines, or its traceback and "decoding failed".
    """
    layers = "test_layer_tests_pass_on_the_other_backend"
    decoding = "test_translator_decoding_compiles_under_jax"
    if OTHER == "jax":
        both = [sys.executable, "-c", LAYERS_THEN_DECODING, *LAYER_TESTS]
        return {name: ("jax", both, "jax") for name in (layers, decoding)}
    return {
        layers: (
            "layers",
            [sys.executable, "-m", "pytest", *LAYER_TESTS],
            OTHER,
        ),
        decoding: ("decoding", [sys.executable, "-c", JAX_DECODING], "jax"),
    }


def start_in_background(test_name):
    """Starts the child process `test_name` checks, once."""
    child = _children().get(test_name)
    if child is None:
        return
    key, command, backend = child
    if key in _RUNNING or key in _DONE:
        return
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
    _RUNNING[key] = (process, output)


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
    key = _children()[test_name][0]
    if key not in _DONE:
        start_in_background(test_name)
        process, output = _RUNNING.pop(key)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            output.close()
            raise
        output.seek(0)
        text = output.read().decode(errors="replace")
        output.close()
        _DONE[key] = (code, text)
    return _DONE[key]


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
translators = {
    "transformer": models.transformer_translator(
        "translator_tiny", vocabulary_size=12, dropout=0.0
    ),
    "rnn": models.rnn_translator(
        "rnn_translator_tiny", vocabulary_size=12, dropout=0.0
    ),
}
source = np.array([[4, 5, 6, 0], [7, 8, 9, 10]], "int32")
for kind, model in translators.items():
    for name, decode, extra in [
        ("greedy", models.greedy_decode, {}),
        ("beam", models.beam_search, {"beam_size": 3}),
    ]:
        run = lambda **kw: np.asarray(
            decode(model, source, 6, 1, 2, **kw, **extra)
        )
        eager, jitted = run(), run(jit_compile=True)
        full = run(use_cache=False)
        assert (eager == jitted).all() and (eager == full).all(), (eager, full)
        print(kind, name, "ok", eager.tolist())
"""


# The layer tests, then JAX_DECODING, in one child (`_children`): the
# arguments are pytest's.
LAYERS_THEN_DECODING = f"""
import sys, traceback
import pytest

code = pytest.main(sys.argv[1:])
sys.stdout.flush()
try:
    exec({JAX_DECODING!r})
except Exception:
    traceback.print_exc()
    print("decoding failed")
sys.exit(code)
"""


def test_translator_decoding_compiles_under_jax():
    code, output = _result("test_translator_decoding_compiles_under_jax", 1500)
    tail = "\n".join(output.splitlines()[-30:])
    if _children()["test_translator_decoding_compiles_under_jax"][0] != "jax":
        assert code == 0, tail
    assert "decoding failed" not in output, tail
    for kind in ("transformer", "rnn"):
        assert f"{kind} greedy ok" in output, tail
        assert f"{kind} beam ok" in output, tail
