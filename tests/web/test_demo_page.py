"""The demo's web page: its attention file's model, `write_page`'s checks,
the text box, and `keras-attn serve`.

The digits page itself runs in Chromium in tests/test_demo.py
(`test_demo_page_reads_a_drawn_digit_as_keras_does`), on the page the
demo run there writes: exporting the page's two files again here would
cost the suite about 15 s more. The text box runs here, on a page with a
tiny text classifier and no digit files (the real MiniLM converts too
slowly for the suite).
"""

import json
import shutil
import signal
import subprocess
import sys
import urllib.request

import keras
import numpy as np
import pytest
from test_mediapipe_web import TEXT_LABELS
from test_mediapipe_web import reference
from test_mediapipe_web import softmax
from test_mediapipe_web import text_classifier_file

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


def test_add_text_classifier_needs_a_page(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected .*page.json"):
        web_page.add_text_classifier(tmp_path, tmp_path / "x.tflite", ["a"])


@pytest.fixture(scope="module")
def text_page(tmp_path_factory):
    """`(model, folder)`: a tiny BERT classifier and a page folder with
    its MediaPipe file added (`add_text_classifier`) and no digit
    files."""
    folder = tmp_path_factory.mktemp("text_page")
    checkpoint = tmp_path_factory.mktemp("checkpoint")
    text, _, models_file = text_classifier_file(checkpoint, 21, hidden_dim=16)
    for name in web_page.PAGE_FILES:
        shutil.copyfile(web_page.WEB / name, folder / name)
    (folder / "page.json").write_text("{}\n")
    copied = web_page.add_text_classifier(folder, models_file, TEXT_LABELS)
    assert copied == folder / web_page.TEXT_FILE
    config = json.loads((folder / "page.json").read_text())
    assert config == {
        "text_classifier": web_page.TEXT_FILE,
        "text_labels": TEXT_LABELS,
    }
    return text, folder


def test_text_box_gives_the_text_classifiers_softmax(
    browser, text_page, record_property
):
    """The page's text box: a typed sentence is classified by MediaPipe's
    TextClassifier, the bars show Keras's softmax for the pieces MediaPipe
    makes of it (within 1e-5) and the label its largest; the digits'
    sections are hidden on a page without their files, and nothing but
    the local server is asked for."""
    model, folder = text_page
    page = browser.open({"/": folder})
    page.wait_for_function("document.body.dataset.text === 'ready'")
    assert page.locator("#text").is_visible()
    assert page.locator("#pad").is_hidden()
    worst, seen = 0.0, []
    for runs, sentence in enumerate(reference.TEXTS[:3], start=1):
        page.fill("#sentence", sentence)
        page.click("#text-form button")
        page.wait_for_function(
            f"document.body.dataset.textRuns === '{runs}'"
        )
        shown = page.evaluate(
            """() => ({
                label: document.getElementById("text-label").textContent,
                bars: [...document.querySelectorAll(
                    "#text-probabilities li")].map(
                    (li) => [li.dataset.label, li.dataset.probability]),
            })"""
        )
        assert [name for name, _ in shown["bars"]] == TEXT_LABELS
        got = np.array([p for _, p in shown["bars"]], "float64")
        inputs = reference.bert_inputs(reference.mediapipe_pieces(sentence))
        expected = softmax(model(inputs))[0]
        worst = max(worst, float(np.max(np.abs(got - expected))))
        assert shown["label"] == TEXT_LABELS[int(np.argmax(expected))]
        seen.append(expected)
    record_property("max_difference", worst)
    assert worst <= 1e-5, worst
    # The bar can fail: the sentences' probabilities differ by far more.
    assert np.ptp(np.array(seen), axis=0).max() > 1e-3
    assert page.blocked == [], page.blocked


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
        # As from a terminal: pytest-xdist's workers ignore SIGINT, and a
        # child inherits that, so Python would never see the Ctrl-C.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
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
