"""MediaPipe's GPU delegate (`delegate: "GPU"`) in Chromium on our files.

On the web that delegate is ML Drift's WebGL 2 back end behind TFLite's
GPU delegate (here over SwiftShader, Chromium's software GL): not LiteRT's
GPU accelerator, which tests/export/test_accelerators.py checks. It has
no batched matrix product and computes in float16. A file exported with
`gpu_delegate=True` runs wholly on it and gives Keras's outputs to
float16's precision; the default float file is refused, with the
delegate's own message. A text task given `delegate: "GPU"` still runs
its model on the CPU (XNNPACK), so it gives the CPU's numbers.
"""


import keras
import numpy as np
import pytest
from test_mediapipe_web import reference
from test_mediapipe_web import rgba
from test_mediapipe_web import run_task
from test_mediapipe_web import scores
from test_mediapipe_web import softmax
from test_mediapipe_web import text_classifier_file
from tiny_models import spread

from keras_attn import models
from keras_attn.export import to_mediapipe

LABELS = ["cat", "dog", "bird", "fish"]
# The delegate computes in float16: a probability near 0.3 is held to
# about 1.5e-4 (float16's step there is 2.4e-4), after four layers of
# rounding; well under the gap between two classes' scores.
GPU_BAR = 2e-3
CPU_BAR = 1e-5
# What the runtimes print as they start: a GL context (the image tasks
# open one for the image whatever the delegate), and TFLite's CPU
# delegate.
WEBGL = "WebGL 2.0"
XNNPACK = "XNNPACK delegate for CPU"

CLASSIFY = """
    const bundle = await import(
        "/node_modules/@mediapipe/tasks-vision/vision_bundle.mjs");
    const fileset = await bundle.FilesetResolver.forVisionTasks(
        "/node_modules/@mediapipe/tasks-vision/wasm");
    const results = [];
    let task;
    try {
        task = await bundle.ImageClassifier.createFromOptions(fileset, {
            baseOptions: {modelAssetPath: arg.file, delegate: arg.delegate},
            maxResults: -1});
        for (const [data, size] of arg.images) {
            const image = new ImageData(
                new Uint8ClampedArray(data), size, size);
            const {classifications} = task.classify(image);
            results.push(classifications[0].categories.map(
                (c) => ({index: c.index, score: c.score})));
        }
    } catch (error) {
        return {error: String(error)};
    } finally {
        if (task) task.close();
    }
    return {results};
"""


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpu_models")
    keras.utils.set_random_seed(11)
    vit = spread(
        models.vit_classifier(
            len(LABELS), image_size=16, patch_size=4, num_layers=2,
            hidden_dim=32, num_heads=2, intermediate_dim=64,
        ),
        seed=12,
    )  # fmt: skip
    options = dict(
        labels=LABELS, normalization=(127.5, 127.5), probabilities=True,
        measure_latency=False, num_samples=1,
    )  # fmt: skip
    text, _, _ = text_classifier_file(folder, 13)
    for name, gpu_delegate in (("vit_gpu", True), ("vit_plain", False)):
        to_mediapipe(
            vit, folder / f"{name}.tflite", "image_classifier",
            gpu_delegate=gpu_delegate, **options,
        )  # fmt: skip
    return vit, text, folder


@pytest.fixture(scope="module")
def page(browser, made):
    return browser.open({"/models/": made[-1]})


def classify(page, name, delegate, images, record_property):
    arg = {
        "file": f"/models/{name}.tflite",
        "delegate": delegate,
        "images": [[rgba(image), image.shape[0]] for image in images],
    }
    console = len(page.console)
    result, _ = run_task(page, CLASSIFY, arg, record_property)
    return result, page.console[console:]


def expected(vit, images):
    x = (np.asarray(images, "float32") - 127.5) / 127.5
    return np.asarray(softmax(vit(x)), "float64")


def refusals(lines):
    return [
        line
        for line in lines
        if "not supported by GPU delegate" in line or "Doesn't" in line
    ]


def test_gpu_delegate_runs_the_gpu_delegate_file(page, made, record_property):
    vit = made[0]
    images = reference.pictures(16, seed=4)
    want = expected(vit, images)
    for delegate, bar in (("GPU", GPU_BAR), ("CPU", CPU_BAR)):
        result, lines = classify(
            page, "vit_gpu", delegate, images, record_property
        )
        assert "error" not in result, (result, lines)
        assert not refusals(lines), lines
        # The image tasks open a GL context either way (for the image);
        # the model runs on the CPU only where XNNPACK starts.
        on_cpu = any(XNNPACK in line for line in lines)
        assert on_cpu == (delegate == "CPU"), lines
        got = np.stack([scores(c, len(LABELS)) for c in result["results"]])
        worst = float(np.max(np.abs(got - want)))
        record_property(f"max_difference_{delegate}", worst)
        assert worst <= bar, (delegate, worst)
        assert (got.argmax(-1) == want.argmax(-1)).all()
    # The pictures are told apart: not one answer for every image.
    assert len({tuple(np.round(row, 3)) for row in want}) == len(images)


def test_gpu_delegate_refuses_the_plain_float_file(page, made, record_property):
    images = reference.pictures(16, seed=4)[:1]
    result, lines = classify(page, "vit_plain", "GPU", images, record_property)
    assert "batched_matmul" in result.get("error", ""), (result, lines)


TEXT = """
    const bundle = await import(
        "/node_modules/@mediapipe/tasks-text/text_bundle.mjs");
    const fileset = await bundle.FilesetResolver.forTextTasks(
        "/node_modules/@mediapipe/tasks-text/wasm");
    const task = await bundle.TextClassifier.createFromOptions(fileset, {
        baseOptions: {modelAssetPath: "/models/text.tflite",
                      delegate: arg.delegate},
        maxResults: -1});
    const results = arg.texts.map((text) => task.classify(text)
        .classifications[0].categories.map(
            (c) => ({index: c.index, score: c.score})));
    task.close();
    return results;
"""


def test_text_classifier_given_the_gpu_runs_on_the_cpu(
    page, made, record_property
):
    text = made[1]
    texts = ["a quiet film", "the best film of the year, truly"]
    got, lines = {}, {}
    for delegate in ("GPU", "CPU"):
        console = len(page.console)
        result, _ = run_task(
            page, TEXT, {"delegate": delegate, "texts": texts},
            record_property,
        )  # fmt: skip
        lines[delegate] = page.console[console:]
        got[delegate] = np.stack([scores(c, 3) for c in result])
    want = np.stack([
        np.asarray(softmax(text(reference.bert_inputs(
            reference.mediapipe_pieces(t)))))[0]
        for t in texts
    ])  # fmt: skip
    assert np.max(np.abs(got["CPU"] - want)) <= CPU_BAR
    np.testing.assert_array_equal(got["GPU"], got["CPU"])
    assert any(XNNPACK in line for line in lines["GPU"]), lines["GPU"]
    assert not any(WEBGL in line for line in lines["GPU"]), lines["GPU"]
