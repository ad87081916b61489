"""The demo's web page: its attention file's model, `write_page`'s checks,
and `keras-attn serve`.

The page itself runs in Chromium in tests/test_demo.py
(`test_demo_page_reads_a_drawn_digit_as_keras_does`), on the page the
demo run there writes: exporting the page's two files again here would
cost the suite about 15 s more.
"""

import signal
import subprocess
import sys
import urllib.request

import keras
import numpy as np
import pytest

from keras_attn import cli
from keras_attn import data
from keras_attn import models
from keras_attn import viz
from keras_attn.apps import web_page


def test_rollout_model_gives_the_attention_pictures_rollout():
    """The attention file's model is the class token's attention rollout
    of `viz.attention_rollout` (what attention_maps.png draws) over the
    patches, as shares, on held-out digits; it shares the weights."""
    keras.utils.set_random_seed(0)
    vit = models.vit_classifier(10, "vit_digits", num_layers=3)
    _, x_test, _, _ = data.digits_split(0)
    images = x_test[:4]
    rollout = web_page.attention_rollout_model(vit)
    shares = keras.ops.convert_to_numpy(rollout(images))
    matrix = viz.attention_rollout(models.attention_maps(vit, images))
    expected = matrix[:, 0, 1:] / matrix[:, 0, 1:].sum(-1, keepdims=True)
    assert shares.shape == (4, 16)
    np.testing.assert_allclose(shares, expected, atol=1e-6)
    # It calls the classifier's own layers (all but the head).
    shared = {id(weight) for weight in vit.weights}
    assert rollout.weights
    assert all(id(weight) in shared for weight in rollout.weights)
    # Not uniform: the numbers depend on the image.
    assert np.ptp(shares, axis=0).max() > 1e-4


def test_write_page_refuses_a_model_it_cannot_draw_for(tmp_path):
    images = keras.Input((8, 8, 3))
    model = keras.Model(images, keras.layers.Flatten()(images))
    with pytest.raises(ValueError, match=r"\(size, size, 1\).*\(8, 8, 3\)"):
        web_page.write_page(model, tmp_path / "web")
    assert not (tmp_path / "web").exists()


def test_serve_says_what_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit):
        cli.main(["serve", str(tmp_path)])
    error = capsys.readouterr().err
    assert "argument FOLDER: expected a web page folder" in error
    assert f"{tmp_path} has none" in error
    (tmp_path / "index.html").write_text("<p>page</p>")
    with pytest.raises(SystemExit):
        cli.main(["serve", str(tmp_path)])
    error = capsys.readouterr().err
    assert "argument --node-modules" in error
    assert f"npm install --prefix {tmp_path}`" in error


def test_serve_serves_the_page_and_its_packages_until_ctrl_c(tmp_path):
    """`keras-attn serve FOLDER` prints the URL, serves FOLDER and
    FOLDER/node_modules under /node_modules/ (modules as JavaScript), and
    stops cleanly on Ctrl-C."""
    folder = tmp_path / "web"
    package = folder / "node_modules" / "@scope" / "tasks"
    package.mkdir(parents=True)
    (folder / "index.html").write_text("<p>draw</p>")
    (package / "bundle.mjs").write_text("export const answer = 42;\n")
    server = subprocess.Popen(
        [sys.executable, "-m", "keras_attn.cli", "serve", str(folder)]
        + ["--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline()
        assert line.startswith(f"Serving {folder} at http://127.0.0.1:")
        base = line.split(" at ")[1].split("/ ")[0]
        with urllib.request.urlopen(base + "/") as reply:
            assert reply.read() == b"<p>draw</p>"
        module = base + "/node_modules/@scope/tasks/bundle.mjs"
        with urllib.request.urlopen(module) as reply:
            assert reply.headers["Content-Type"] == "text/javascript"
            assert b"answer = 42" in reply.read()
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0, err
    assert out == "Stopped.\n"
