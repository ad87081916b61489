"""A killed or failed export never leaves a half-written artifact where a
good one was.

A child process exports a `.tflite` file and then a SavedModel over good
ones from another model, and is killed with SIGKILL (with its converter
worker: the whole process group) at several moments. Afterwards each
target is either the old artifact, byte for byte, or a whole new one;
the next export cleans up what the killed one left beside it. (An export
that fails with an error keeps the old file too:
`tests/export/test_tflite.py::test_flex_ops_are_refused_by_name_...`.)
"""

import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import pytest

from keras_attn import models
from keras_attn.export import load_saved_model
from keras_attn.export import to_saved_model
from keras_attn.export import to_tflite
from keras_attn.export import verify_tflite

# The child kills itself (SIGKILL, no cleanup runs) at a chosen point of
# the write path, or is killed from outside while it traces and converts.
CHILD = textwrap.dedent(
    """
    import os, signal, sys, keras
    from keras_attn import models
    from keras_attn.export import _files, integrity, to_saved_model, to_tflite

    tflite, saved, point = sys.argv[1], sys.argv[2], sys.argv[3]

    def die(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    def after(function):
        def run(*args, **kwargs):
            function(*args, **kwargs)
            die()
        return run

    if point == "tflite_written_not_renamed":
        integrity.stamp = after(integrity.stamp)
    if point == "saved_model_written_not_swapped":
        _files.replace_folder = die
    if point == "folders_swapped_old_not_removed":
        _files._exchange = after(_files._exchange)
    keras.utils.set_random_seed(2)
    model = models.vit_classifier(10, "vit_digits")
    print("ready", flush=True)
    to_tflite(model, tflite, measure_latency=False, num_samples=1)
    to_saved_model(model, saved, check=False)
    print("done", flush=True)
    """
)
POINTS = [
    "converting",  # killed from outside 1 s after "ready"
    "tflite_written_not_renamed",
    "saved_model_written_not_swapped",
    "folders_swapped_old_not_removed",
]


def files_of(folder):
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def old_artifacts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("old")
    keras.utils.set_random_seed(1)
    model = models.vit_classifier(10, "vit_digits")
    to_tflite(model, folder / "vit.tflite", measure_latency=False)
    to_saved_model(model, folder / "saved", check=False)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_export_killed_at_any_moment_leaves_old_or_whole(
    old_artifacts, tmp_path, point
):
    import shutil

    tflite, saved = tmp_path / "vit.tflite", tmp_path / "saved"
    shutil.copy(old_artifacts / "vit.tflite", tflite)
    shutil.copytree(old_artifacts / "saved", saved)
    old_tflite, old_saved = tflite.read_bytes(), files_of(saved)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tflite), str(saved), point],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,  # its own process group, worker included
        cwd=tmp_path,  # not the checkout: the installed keras_attn
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        if point == "converting":
            time.sleep(1.0)
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=300)
        os.killpg(child.pid, signal.SIGKILL)  # its converter worker too
    except ProcessLookupError:
        pass
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.wait()
    assert child.returncode == -signal.SIGKILL
    # The .tflite file is the old one or a whole new one.
    assert verify_tflite(tflite) == "checksum"
    new_tflite = tflite.read_bytes() != old_tflite
    # The SavedModel folder is the old one, or a new one that loads.
    new_saved = files_of(saved) != old_saved
    signatures = load_saved_model(saved).signatures
    assert "serving_default" in signatures
    expected_new = {
        "converting": (False, False),
        "tflite_written_not_renamed": (False, False),
        "saved_model_written_not_swapped": (True, False),
        "folders_swapped_old_not_removed": (True, True),
    }
    assert (new_tflite, new_saved) == expected_new[point]
    # The next export replaces both and clears the killed one's leftovers.
    keras.utils.set_random_seed(3)
    model = models.vit_classifier(10, "vit_digits")
    to_tflite(model, tflite, measure_latency=False, num_samples=1)
    to_saved_model(model, saved, check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["saved", "vit.tflite"]
