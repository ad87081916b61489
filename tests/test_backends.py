"""The layer tests under the other Keras backend, in a child process.

CI runs the whole suite on the TensorFlow backend; this runs
`tests/layers` again with `KERAS_BACKEND=jax` (or TensorFlow, if the suite
itself runs on JAX), so both backends are covered by one test command.
"""

import os
import subprocess
import sys
from pathlib import Path

import keras

TESTS = Path(__file__).resolve().parent


def test_layer_tests_pass_on_the_other_backend():
    current = keras.backend.backend()
    other = "jax" if current != "jax" else "tensorflow"
    env = dict(os.environ, KERAS_BACKEND=other, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(TESTS / "layers"),
        ],
        cwd=TESTS,  # keeps a source checkout off sys.path
        env=env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-60:])
    assert result.returncode == 0, f"{other} backend:\n{tail}"
    assert " passed" in result.stdout, tail


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
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", JAX_DECODING],
        cwd=TESTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    assert result.returncode == 0, tail
    assert "greedy ok" in result.stdout and "beam ok" in result.stdout, tail
