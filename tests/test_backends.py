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
