"""Exported files run wholly on a phone's GPU and NPU, with the numbers of
the CPU interpreter.

The checks ask the real runtimes (`keras_attn.export.accelerators`):

- LiteRT's GPU accelerator, alone (no CPU fallback), in its default
  float16 precision and in float32. Without a GPU, Mesa 25's software
  Vulkan driver (lavapipe) runs the same WebGPU code; `.ci/run`
  installs it. Where no Vulkan adapter exists these tests skip and say so.
- Qualcomm's ahead-of-time NPU compiler, per SoC, with the host libraries
  `accelerators.fetch_qnn_libraries()` lays out (`.ci/run` fetches them);
  without them these tests skip and say so.

Bars (issue 19): GPU float32 within 1e-4 of the CPU interpreter, GPU
float16 within 1e-2 on outputs of order 1 (relative to the output's
largest magnitude when larger), never NaN or inf, fully padded rows and
512 tokens included.
"""

import functools

import keras
import numpy as np
import pytest
import tiny_models

from keras_attn import layers
from keras_attn import models
from keras_attn.export import _specs
from keras_attn.export import accelerators
from keras_attn.export import to_tflite
from keras_attn.export.calibration import int8_options

LENGTH = 16
VOCABULARY = 64


@functools.cache
def _gpu_reason():
    """Why the GPU checks cannot run here, or None."""
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    import tempfile

    path = tempfile.mkdtemp() + "/dense.tflite"
    to_tflite(model, path, measure_latency=False)
    check = accelerators.check_gpu(path)
    return None if check.available else check.reason


def need_gpu():
    reason = _gpu_reason()
    if reason:
        pytest.skip(f"LiteRT's GPU accelerator cannot run here: {reason}")


def need_npu():
    if accelerators.qnn_folder() is None:
        pytest.skip(
            "Qualcomm's host libraries are not installed "
            "(accelerators.fetch_qnn_libraries())"
        )


def bert(length=LENGTH, layers=2):
    keras.utils.set_random_seed(5)
    return models.bert_backbone(
        num_layers=layers,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        vocabulary_size=VOCABULARY,
        max_sequence_length=length,
    )


def bert_batch(length=LENGTH, real=None, seed=0):
    """One row: `real` tokens (0 for a fully padded row), then padding."""
    rng = np.random.default_rng(seed)
    real = length // 2 if real is None else real
    ids = np.zeros((1, length), "int32")
    ids[0, :real] = rng.integers(1, VOCABULARY, size=real)
    return {
        "token_ids": ids,
        "segment_ids": (rng.random((1, length)) < 0.5).astype("int32")
        * (ids != 0),
        "padding_mask": (ids != 0).astype("int32"),
    }


def vit_classifier():
    keras.utils.set_random_seed(6)
    return models.vit_classifier(10, "vit_digits", num_layers=2)


def audio_classifier():
    keras.utils.set_random_seed(7)
    return models.audio_classifier(3, **tiny_models.AUDIO_TINY)


def audio_batches():
    """A tone over faint noise, and noise alone: waveforms at AUDIO_TINY's
    rate and length."""
    rng = np.random.default_rng(2)
    samples = tiny_models.AUDIO_TINY["clip_samples"]
    t = np.arange(samples) / tiny_models.AUDIO_TINY["sample_rate"]
    tone = 0.6 * np.sin(2 * np.pi * 440 * t) + 1e-3 * rng.standard_normal(
        samples
    )
    noise = 0.3 * rng.standard_normal(samples)
    return [{"waveforms": w[None].astype("float32")} for w in (tone, noise)]


def attention_variants():
    """Token vectors through a local (window 1: blocks, as 16 > 8 * 1)
    additive-score encoder, then hard general-score attention."""
    keras.utils.set_random_seed(8)
    ids = keras.Input((LENGTH,), dtype="int32", name="token_ids")
    mask = keras.Input((LENGTH,), dtype="int32", name="padding_mask")
    x = layers.TokenEmbedding(VOCABULARY, 16)(ids)
    x = layers.TransformerEncoder(32, 2, score="additive", window=1)(
        x, padding_mask=mask
    )
    x = layers.MultiHeadSelfAttention(2, score="general", hard="argmax")(
        x, padding_mask=mask
    )
    outputs = keras.layers.Dense(3, name="logits")(x)
    return keras.Model({"token_ids": ids, "padding_mask": mask}, outputs)


MODELS = {
    "bert backbone": lambda: bert(),
    "bert classifier": lambda: models.bert_text_classifier(bert(), 3),
    "bert sentence embedder": lambda: models.bert_sentence_embedder(bert()),
    "bert masked lm": lambda: models.bert_masked_lm(bert()),
    "vit classifier": vit_classifier,
    "vit backbone": lambda: vit_classifier().layers[1],
    "audio classifier": audio_classifier,
    "attention variants": attention_variants,
    "translator encoder": lambda: models.translator_encoder(
        models.transformer_translator("translator_tiny", vocabulary_size=64)
    ),
}


def inputs_for(name, model):
    if name.startswith("translator"):
        ids = bert_batch(real=6)["token_ids"]
        return [{"encoder_token_ids": ids}, {"encoder_token_ids": 0 * ids}]
    if name.startswith("audio"):
        return audio_batches()
    if name.startswith("vit"):
        rng = np.random.default_rng(1)
        return [{"images": rng.random((1, 8, 8, 1)).astype("float32")}]
    batches = [bert_batch(real=5), bert_batch(real=0, seed=1)]
    if "masked lm" in name:
        for batch in batches:
            batch["mask_positions"] = (np.arange(LENGTH)[None] % 5).astype(
                "int32"
            )
    specs = _specs.input_specs(model, 1, LENGTH)
    return [{k: batch[k] for k in specs} for batch in batches]


def assert_gpu_matches_cpu(check, largest):
    """`largest`: per output, its largest magnitude on the CPU."""
    assert check.available, check.reason
    assert check.fully_accelerated, check.summary()
    assert check.max_abs_diff, "the GPU's outputs were not compared"
    for name, difference in check.max_abs_diff.items():
        scale = max(1.0, float(largest[name]))
        bar = 1e-4 if check.target == "float32" else 1e-2 * scale
        assert np.isfinite(difference), (name, check.summary())
        assert difference <= bar, (name, difference, bar)


def export(model, path, quantization=None, length=LENGTH):
    return to_tflite(
        model,
        path,
        quantization=quantization,
        sequence_length=length,
        measure_latency=False,
        num_samples=1,
    )


@pytest.mark.parametrize(
    "name, quantization",
    [
        (name, quantization)
        for name in MODELS
        for quantization in (None, "float16")
        # The variants' float32 file runs in both GPU precisions; its
        # float16-weights file adds nothing of the variants'.
        if (name, quantization) != ("attention variants", "float16")
    ],
)
def test_every_model_runs_wholly_on_the_gpu(name, quantization, tmp_path):
    need_gpu()
    model = MODELS[name]()
    path = tmp_path / "model.tflite"
    export(model, path, quantization)
    batches = inputs_for(name, model)
    want = [accelerators.cpu_outputs(path, batch) for batch in batches]
    scale = {k: max(np.max(np.abs(w[k])) for w in want) for k in want[0]}
    for precision in accelerators.GPU_PRECISIONS:
        check = accelerators.check_gpu(path, batches, precision)
        assert_gpu_matches_cpu(check, scale)


def test_512_tokens_stay_finite_in_float16_on_the_gpu(tmp_path):
    need_gpu()
    model = models.bert_text_classifier(bert(length=512, layers=1), 2)
    path = tmp_path / "long.tflite"
    export(model, path, length=512)
    batches = [bert_batch(length=512, real=n, seed=n) for n in (512, 3, 0)]
    want = [accelerators.cpu_outputs(path, batch) for batch in batches]
    scale = {k: max(np.max(np.abs(w[k])) for w in want) for k in want[0]}
    check = accelerators.check_gpu(path, batches, "float16")
    assert_gpu_matches_cpu(check, scale)


def test_export_report_says_where_the_file_runs(tmp_path):
    need_gpu()
    model = models.bert_text_classifier(bert(), 2)
    report = to_tflite(
        model,
        tmp_path / "model.tflite",
        sequence_length=LENGTH,
        measure_latency=False,
        num_samples=1,
        accelerators="gpu",
    )
    targets = [(c["accelerator"], c["target"]) for c in report.accelerators]
    assert targets == [("gpu", "float16"), ("gpu", "float32")]
    assert all(c["fully_accelerated"] for c in report.accelerators)
    assert "GPU float32: fully accelerated" in str(report)


def test_a_refused_op_is_named_with_the_runtimes_reason(tmp_path):
    # A 2-D GATHER, as Keras's own embedding traces it: the GPU refuses
    # it, and the check says which op and why, instead of "compatible".
    need_gpu()
    import tensorflow as tf

    table = tf.constant(np.arange(12, dtype="float32").reshape(6, 2))

    @tf.function(input_signature=[tf.TensorSpec((1, 3), tf.int32)])
    def lookup(ids):
        return {"vectors": tf.gather(table, ids)}

    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [lookup.get_concrete_function()], lookup
    )
    path = tmp_path / "gather.tflite"
    path.write_bytes(converter.convert())
    check = accelerators.check_gpu(path, {"ids": np.array([[1, 2, 3]])})
    assert check.available and check.fully_accelerated is False
    assert {"op": "GATHER", "reason": "Only support 1D indices"} in (
        check.refused
    ), check.refused


@pytest.fixture(scope="module")
def npu_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("npu")
    classifier = models.bert_text_classifier(bert(), 2)
    # Wide channels as a fine-tuned MiniLM has them, so the int8 file holds
    # the divided-down residual sums and attention norm outputs and the
    # split feed-forward layers.
    tiny_models.plant_wide_channels(classifier, residual=5, hidden=7, norm=3)
    specs = _specs.input_specs(classifier, 1, LENGTH)
    calibration = _specs.sample_inputs(classifier, specs, count=8)
    options = int8_options(classifier, calibration)
    assert all(options.values()), options
    files = {}
    for quantization in (None, "int8"):
        path = folder / f"bert_{quantization}.tflite"
        to_tflite(
            classifier,
            path,
            quantization=quantization,
            representative_data=calibration,
            sequence_length=LENGTH,
            measure_latency=False,
            num_samples=1,
        )
        files[f"bert {quantization or 'float32'}"] = path
    vit = vit_classifier()
    images = [
        {"images": np.random.default_rng(i).random((1, 8, 8, 1), "float32")}
        for i in range(8)
    ]
    for quantization in (None, "int8"):
        path = folder / f"vit_{quantization}.tflite"
        to_tflite(
            vit,
            path,
            quantization=quantization,
            representative_data=images,
            measure_latency=False,
            num_samples=1,
        )
        files[f"vit {quantization or 'float32'}"] = path
    path = folder / "audio_float32.tflite"
    to_tflite(
        audio_classifier(),
        path,
        sample_data=audio_batches(),
        measure_latency=False,
        num_samples=1,
    )
    files["audio float32"] = path
    path = folder / "variants_float32.tflite"
    export(attention_variants(), path)
    files["variants float32"] = path
    return files


# Hexagon v68's HTP (SM8350) has no float kernels for GATHER and GELU (nor
# builds the log-mel front end's per-frame scaling for 98 frames); float
# files are for the SoCs that have them (int8 runs on every one).
NO_FLOAT = {"SM8350"}


@pytest.mark.parametrize(
    "name",
    [
        "bert int8",
        "vit int8",
        "bert float32",
        "audio float32",
        "variants float32",
    ],
)
def test_compiles_for_qualcomm_npus_in_one_partition(name, npu_files):
    need_npu()
    socs = accelerators.QUALCOMM_SOCS
    if "float" in name:
        socs = [soc for soc in socs if soc not in NO_FLOAT]
    for check in accelerators.check_npu(npu_files[name], socs):
        assert check.fully_accelerated, check.summary()
        assert check.partitions == 1 and not check.refused


def test_npu_check_names_the_ops_a_soc_cannot_build(npu_files):
    need_npu()
    (check,) = accelerators.check_npu(npu_files["bert float32"], ["SM8350"])
    assert check.fully_accelerated is False
    assert "could not create op" in check.reason


def test_accelerator_arguments_are_checked():
    with pytest.raises(ValueError, match="`precision` must be one of"):
        accelerators.check_gpu("x.tflite", precision="int8")
    with pytest.raises(ValueError, match="Unknown Qualcomm SoC"):
        accelerators.check_npu("x.tflite", ["SM9999"])
    with pytest.raises(ValueError, match="may hold 'gpu' and 'npu'"):
        accelerators.check_accelerators("x.tflite", accelerators=("tpu",))


def test_to_tflite_refuses_an_unknown_accelerator_before_any_work(tmp_path):
    path = tmp_path / "model.tflite"
    with pytest.raises(ValueError, match=r"may hold 'gpu' and 'npu'.*cpu"):
        to_tflite(bert(), path, sequence_length=LENGTH, accelerators="cpu")
    assert not path.exists()


@pytest.mark.parametrize("name", ["vit classifier", "bert classifier"])
def test_gpu_delegate_files_run_wholly_on_the_gpu_and_the_npu(name, tmp_path):
    """`gpu_delegate=True` (MediaPipe's GPU delegate's forms,
    tests/web/test_mediapipe_gpu.py) keeps a file on LiteRT's GPU
    accelerator in both precisions and in one NPU partition."""
    need_gpu()
    need_npu()
    model = MODELS[name]()
    path = tmp_path / "model.tflite"
    to_tflite(
        model, path, sequence_length=LENGTH, measure_latency=False,
        num_samples=1, gpu_delegate=True,
    )  # fmt: skip
    batches = inputs_for(name, model)
    want = [accelerators.cpu_outputs(path, batch) for batch in batches]
    scale = {k: max(np.max(np.abs(w[k])) for w in want) for k in want[0]}
    for precision in accelerators.GPU_PRECISIONS:
        assert_gpu_matches_cpu(
            accelerators.check_gpu(path, batches, precision), scale
        )
    (check,) = accelerators.check_npu(path, ["SM8650"])
    assert check.fully_accelerated, check.summary()
    assert check.partitions == 1 and not check.refused
