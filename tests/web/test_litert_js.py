"""Plain float32 files of `to_tflite`, run by LiteRT.js in Chromium as a
web page runs them.

The pinned npm package @litertjs/core 2.5.3 loads its WebAssembly runtime
and each file from a local server and runs it on the `wasm` accelerator
(XNNPACK on the CPU) and on `webgpu` (here SwiftShader's software WebGPU,
Chromium's `--enable-unsafe-webgpu`; where the browser has no WebGPU
adapter those tests skip, saying so). Each must give Keras's logits
within 1e-4, for a tiny ViT (a float32 image) and a tiny BERT (three
int32 inputs, fed by name), with no request beyond the local server.
"""

import browser as harness
import keras
import numpy as np
import pytest
from tiny_models import spread

from keras_attn import models
from keras_attn.export import to_tflite

LENGTH = 16
VOCABULARY = 64
LOGIT_BAR = 1e-4
SAMPLES = 3


def bert_batch(seed):
    """One row of token ids with a padded tail, as the BERT file takes."""
    rng = np.random.default_rng(seed)
    real = int(rng.integers(3, LENGTH + 1))
    ids = np.zeros((1, LENGTH), "int32")
    ids[0, :real] = rng.integers(1, VOCABULARY, real)
    return {
        "token_ids": ids,
        "segment_ids": (np.arange(LENGTH)[None] >= real // 2).astype("int32")
        * (ids != 0),
        "padding_mask": (ids != 0).astype("int32"),
    }


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """`{name: (inputs, Keras's logits)}` and the folder of the files."""
    harness.need("@litertjs/core")
    folder = tmp_path_factory.mktemp("litert_js")
    keras.utils.set_random_seed(5)
    vit = models.vit_classifier(
        4, image_size=16, patch_size=4, num_layers=1, hidden_dim=32,
        num_heads=2, intermediate_dim=64,
    )  # fmt: skip
    keras.utils.set_random_seed(3)
    backbone = models.bert_backbone(
        vocabulary_size=VOCABULARY, num_layers=1, hidden_dim=32,
        num_heads=2, intermediate_dim=64, max_sequence_length=LENGTH,
        dropout=0.0,
    )  # fmt: skip
    bert = models.bert_text_classifier(backbone, 3, dropout=0.0)
    rng = np.random.default_rng(0)
    cases = {
        "vit": (
            spread(vit, seed=6),
            [
                {"images": rng.normal(size=(1, 16, 16, 3)).astype("float32")}
                for _ in range(SAMPLES)
            ],
        ),
        "bert": (spread(bert, seed=4), [bert_batch(s) for s in range(SAMPLES)]),
    }
    made = {}
    for name, (model, inputs) in cases.items():
        length = {"sequence_length": LENGTH} if name == "bert" else {}
        to_tflite(
            model,
            folder / f"{name}.tflite",
            measure_latency=False,
            num_samples=1,
            **length,
        )
        expected = [
            np.asarray(model(x if len(x) > 1 else x["images"]), "float64")[0]
            for x in inputs
        ]
        made[name] = (inputs, expected)
    return made, folder


@pytest.fixture(scope="module")
def page(browser, made):
    _, folder = made
    page = browser.open({"/models/": folder})
    page.webgpu = page.evaluate(
        """async () => {
            const litert = await import("@litertjs/core");
            await litert.loadLiteRt("/node_modules/@litertjs/core/wasm/");
            if (!navigator.gpu) return "navigator.gpu is missing";
            const adapter = await navigator.gpu.requestAdapter();
            return adapter ? null : "requestAdapter() gave no adapter";
        }"""
    )
    return page


RUN = """async ([file, accelerator, samples]) => {
    const litert = await import("@litertjs/core");
    const model = await litert.loadAndCompile(
        `/models/${file}.tflite`, {accelerator});
    const details = model.getInputDetails();
    const results = [];
    for (const sample of samples) {
        const inputs = {};
        for (const {name, dtype, shape} of details) {
            const array = dtype === "int32" ? Int32Array : Float32Array;
            inputs[name] = new litert.Tensor(
                new array(sample[name]), shape);
        }
        const outputs = await model.run(inputs);
        const [output] = Object.values(outputs);
        const on = output.accelerator;
        const host = await output.moveTo("wasm");
        results.push({on, logits: Array.from(host.toTypedArray())});
        host.delete();
        for (const tensor of Object.values(inputs)) tensor.delete();
    }
    const whole = model.isFullyAccelerated;
    model.delete();
    return {inputs: details.map(({name}) => name), results, whole};
}"""


@pytest.mark.parametrize("accelerator", ["wasm", "webgpu"])
@pytest.mark.parametrize("name", ["vit", "bert"])
def test_litert_js_gives_the_logits_of_keras(
    page, made, name, accelerator, record_property
):
    files, _ = made
    if accelerator == "webgpu" and page.webgpu:
        pytest.skip(f"This Chromium has no WebGPU: {page.webgpu}")
    inputs, expected = files[name]
    samples = [
        {key: value.ravel().tolist() for key, value in x.items()}
        for x in inputs
    ]
    before = len(page.console)
    got = page.evaluate(RUN, [name, accelerator, samples])
    assert sorted(got["inputs"]) == sorted(inputs[0]), got["inputs"]
    worst = 0.0
    for result, want in zip(got["results"], expected, strict=True):
        assert result["on"] == accelerator, result["on"]
        worst = max(worst, np.max(np.abs(np.asarray(result["logits"]) - want)))
    record_property("max_difference", float(worst))
    assert worst <= LOGIT_BAR, (worst, page.console[before:])
    # The bar can fail: the samples' logits differ by far more.
    assert np.max(np.abs(expected[0] - expected[1])) > 1e-2
    # Wholly on the accelerator (else LiteRT.js warns "Model not fully
    # compiled for webgpu" and runs the rest, or all of it, on wasm).
    if accelerator == "webgpu":
        assert got["whole"] is True, page.console[before:]
    said = page.console[before:]
    assert not any("not fully compiled" in line for line in said), said
    # WebGPU reports a shader that fails to build only on the console and
    # runs on (full int8 files: wholly "accelerated", outputs far off).
    assert not any("WGSL" in line for line in said), said
    assert page.blocked == [], page.blocked
    record_property("blocked_requests", len(page.blocked))
