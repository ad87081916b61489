"""`keras-attn` hides TensorFlow's C++ start-up chatter, and only that.

The filter is checked on lines copied from TensorFlow 2.21 and LiteRT's
real output, and beside them lines it must pass on untouched (a Python
warning, a traceback, a progress bar's carriage returns). Then the
installed command runs as a user runs it: an `inspect` that loads
TensorFlow prints none of its logs, and `--verbose` shows them again.
"""

import subprocess
import sys

import numpy as np
import pytest

from keras_attn.cli import _quiet

NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are "
    "written to STDERR",
    "I0000 00:00:1796150628.087030   25226 port.cc:153] oneDNN custom "
    "operations are on. You may see slightly different numerical results",
    "I0000 00:00:1796150628.087779   25226 cudart_stub.cc:31] Could not "
    "find cuda drivers on your machine, GPU will not be used.",
    "E0000 00:00:1796150653.093325   25226 cuda_platform.cc:52] failed call "
    "to cuInit: INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR "
    "(303)",
    "E0000 00:00:1796150700.000001   25226 util.cc:131] oneDNN supports "
    "DT_INT64 only on platforms with AVX-512. Falling back to the default "
    "Eigen-based implementation if present.",
    "To enable the following instructions: AVX2 AVX512F FMA, in other "
    "operations, rebuild TensorFlow with the appropriate compiler flags.",
    "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
]
KEPT = [
    "/x/keras_attn/export/tflite.py:12: UserWarning: uses non-builtin ops",
    "Traceback (most recent call last):",
    '  File "x.py", line 1, in <module>',
    "E0000 00:00:1796150653.093325   25226 kernel.cc:9] a real error",
    "ValueError: `quantization` must be one of [None, 'float16']",
    "",
]


def filtered(data):
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _quiet._FILTER],
        input=data,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_filter_drops_the_chatter_and_keeps_everything_else():
    # Interleaved: noise, kept, noise, kept, ..., the last noise, "".
    lines = []
    for index, noise in enumerate(NOISE):
        lines.append(noise)
        if index < len(KEPT) - 1:
            lines.append(KEPT[index])
    lines.append(KEPT[-1])
    out = filtered("\n".join(lines).encode() + b"\n").decode()
    assert out.splitlines() == KEPT


def test_a_progress_bar_passes_through_at_once_without_its_newline():
    # An unfinished line holding "\r" is a live display: passed on up to
    # its last "\r" (the rest when the stream ends).
    out = filtered(b"noise-free\n 1/3 \r 2/3 \r 3/3")
    assert out == b"noise-free\n 1/3 \r 2/3 \r 3/3"


@pytest.fixture(scope="module")
def tflite_file(tmp_path_factory):
    from keras_attn import models
    from keras_attn.export import to_tflite

    path = tmp_path_factory.mktemp("quiet") / "vit.tflite"
    model = models.vit_classifier(
        3, image_size=8, patch_size=4, num_layers=1, hidden_dim=16,
        num_heads=2, intermediate_dim=32,
    )  # fmt: skip
    to_tflite(model, path, measure_latency=False)
    np.testing.assert_equal(path.exists(), True)
    return path


def run_cli(folder, *arguments):
    # From another folder than the clone: `-m` puts the working directory
    # on sys.path, and the clone's keras_attn/ lacks `export` and
    # `models`, which only the installed package maps in.
    done = subprocess.run(
        [sys.executable, "-m", "keras_attn.cli", *arguments],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=folder,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_inspect_loads_tensorflow_quietly_unless_verbose(tflite_file):
    folder = tflite_file.parent
    quiet = run_cli(folder, "inspect", str(tflite_file))
    assert "operators" in quiet.stdout.lower()
    assert quiet.stderr == "", quiet.stderr
    loud = run_cli(folder, "--verbose", "inspect", str(tflite_file))
    # The same start-up, shown: at least one of TensorFlow's own lines.
    assert any(_quiet_noise(line) for line in loud.stderr.splitlines()), (
        loud.stderr
    )


def _quiet_noise(line):
    import re

    return re.search(
        r"absl::InitializeLog|^[IWE]\d{4} |rebuild TensorFlow", line
    )
