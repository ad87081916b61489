"""`LogMelSpectrogram` in `.tflite` files: builtin operators only, the
numbers of Keras, and wholly on LiteRT's GPU accelerator (float16 and
float32) and in one Qualcomm NPU partition, asked of the real runtimes
(`keras_attn.export.accelerators`; skipped, with the reason, where a
runtime is missing). The file holds the lowered form
`export._forms.log_mel_spectrogram`, checked here against the layer."""

import math

import keras
import numpy as np
import pytest

from keras_attn.export import _forms
from keras_attn.export import accelerators
from keras_attn.export import inspect_tflite
from keras_attn.export import lowering
from keras_attn.export import to_tflite
from keras_attn.layers import LogMelSpectrogram

SAMPLES = 2000  # 11 frames of 400 every 160 at 16 kHz
BUILTIN = {
    "CONV_2D",
    "FULLY_CONNECTED",
    "MUL",
    "ADD",
    "SUB",
    "LOG",
    "RSQRT",
    "ABS",
    "MAXIMUM",
    "RESHAPE",
    "STRIDED_SLICE",
}


def clips(samples=SAMPLES, seed=0):
    """`{name: float32 (samples,)}`: loud, quiet, silent and saturated."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000
    waves = {
        "square": np.sign(np.sin(2 * np.pi * 300 * t) + 1e-9),
        "white noise": rng.uniform(-1, 1, samples),
        "tone over a floor": 0.5 * np.sin(2 * np.pi * 1000 * t)
        + 3e-3 * rng.standard_normal(samples),
        "near-silent": 1e-4 * rng.standard_normal(samples),
        "silence": np.zeros(samples),
        "saturated": np.ones(samples),
    }
    return {name: wave.astype("float32") for name, wave in waves.items()}


def front_end(samples=SAMPLES, **options):
    inputs = keras.Input((samples,), name="waveforms")
    return keras.Model(inputs, LogMelSpectrogram(**options)(inputs))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The float32 and float16 files of one front-end model, and Keras's
    outputs on the clips."""
    folder = tmp_path_factory.mktemp("log_mel")
    model = front_end()
    waves = clips()
    paths = {}
    for quantization in (None, "float16"):
        path = folder / f"log_mel_{quantization or 'float32'}.tflite"
        to_tflite(
            model,
            path,
            quantization=quantization,
            sample_data=[{"waveforms": waves["square"][None]}],
            num_samples=1,
            measure_latency=False,
        )
        paths[quantization or "float32"] = path
    expected = {name: np.asarray(model(w[None])) for name, w in waves.items()}
    return paths, expected


def batches():
    return [{"waveforms": w[None]} for w in clips().values()]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"frame_length": 512, "fft_length": 512, "lower_edge_hertz": 0.0},
        {
            "sample_rate": 8000,
            "frame_length": 255,
            "frame_step": 100,
            "fft_length": 256,
            "num_mel_bins": 20,
            "upper_edge_hertz": 3800.0,
            "log_offset": 1e-2,
        },
        {"log_offset": 1e-10},
    ],
)
def test_lowered_form_computes_what_the_layer_computes(options):
    model = front_end(**options)
    lowered = lowering.lower(model, "float")
    assert lowered is not model
    waves = np.stack(list(clips().values()))
    np.testing.assert_allclose(lowered(waves), model(waves), atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"frame_length": 512, "fft_length": 512},
        {"frame_length": 2048, "fft_length": 2048, "num_mel_bins": 128},
        {"log_offset": 1e-12},
        {"log_offset": 1.0},
    ],
)
def test_lowered_form_stays_inside_float16s_normal_range(options):
    """The bounds the form's docstring gives, for samples in [-1, 1]:
    convolution sums at most 2^15, scaled values' squares summed over the
    bins at most 2^14, `offset * r^2` at most 2^14 and `r` at most 2^10,
    the scale's floor a normal float16 number; the gains exact powers of
    two."""
    layer = LogMelSpectrogram(**options)
    constants = _forms.log_mel_constants(layer)
    for name in ("gain", "headroom"):
        exponent = math.log2(constants[name])
        assert exponent == round(exponent), (name, constants[name])
    assert np.abs(constants["kernel"]).sum(axis=0).max() <= 2.0**15
    assert constants["window"].sum() * constants["headroom"] <= 2.0**15
    bins = layer.num_spectrogram_bins
    assert bins * constants["headroom"] ** 2 * layer.mel_matrix().max() <= (
        2.0**14
    )
    least = constants["least_scale"]
    assert (constants["root_offset"] / least) ** 2 <= 2.0**14
    assert 2.0**-14 <= least and 1.0 / least <= 2.0**10
    # The scale bounds every DFT value of a frame: a full-scale cosine at
    # a bin's centre comes within headroom of it.
    frame = np.cos(2 * np.pi * 32 * np.arange(layer.frame_length) / 512)
    dft = frame @ constants["kernel"][:, 0]
    scale = np.abs(frame) @ constants["window"][:, 0, 0]
    assert np.max(np.abs(dft)) / scale <= constants["headroom"]


def test_file_has_builtin_ops_only_and_keras_numbers(files):
    paths, expected = files
    info = inspect_tflite(paths["float32"])
    assert set(info["ops"]) <= BUILTIN, info["ops"]
    assert "CONV_2D" in info["ops"] and not info["non_builtin_ops"]
    got = accelerators.cpu_outputs(paths["float32"], batches())
    for name, outputs in zip(expected, got, strict=True):
        value = next(iter(outputs.values()))
        np.testing.assert_allclose(
            value, expected[name], atol=1e-4, rtol=0, err_msg=name
        )
    assert np.allclose(expected["silence"], math.log(1e-6))


def loud_bands(values, decibels=40.0):
    """Bands within `decibels` of their frame's loudest."""
    return values >= values.max(axis=-1, keepdims=True) - decibels / 10 * (
        math.log(10)
    )


def test_float16_file_is_close_to_keras(files):
    """Float16 weights round the DFT kernel to 11 bits, which leaks a
    loud bin into bands 50 dB down: close on the bands within 40 dB of
    their frame's loudest, finite everywhere."""
    paths, expected = files
    got = accelerators.cpu_outputs(paths["float16"], batches())
    for name, outputs in zip(expected, got, strict=True):
        value = next(iter(outputs.values()))
        want = expected[name]
        assert np.all(np.isfinite(value)), name
        error = np.abs(value - want)[loud_bands(want)]
        assert error.max() < 2e-2, (name, error.max())


def test_runs_wholly_on_the_gpu_in_float16_and_float32(files):
    paths, expected = files
    for precision in accelerators.GPU_PRECISIONS:
        check, outputs = accelerators.run_on_gpu(
            paths["float32"], batches(), precision
        )
        if not check.available:
            pytest.skip(
                f"LiteRT's GPU accelerator cannot run here: {check.reason}"
            )
        assert check.fully_accelerated, check.summary()
        for name, output in zip(expected, outputs, strict=True):
            got = next(iter(output.values())).reshape(expected[name].shape)
            want = expected[name]
            assert np.all(np.isfinite(got)), (precision, name)
            error = np.abs(got - want)
            if precision == "float32":
                assert error.max() < 1e-4, (name, error.max())
            else:
                # Float16 has 11 bits: a band 40 dB under its frame's
                # loudest keeps the convolution's float16 rounding.
                assert error[loud_bands(want)].max() < 0.05, (name, error)
        if precision == "float16":
            silence = outputs[list(expected).index("silence")]
            silence = next(iter(silence.values()))
            np.testing.assert_allclose(silence, math.log(1e-6), atol=1e-2)


def test_compiles_for_the_npu_in_one_partition(files):
    """On SM8650 (the float SoCs; `benchmarks/audio_front_end.py` asks all
    ten: SM8350's compiler cannot build the per-frame scaling's MUL for
    clips of a second, as it has no float GELU or GATHER for the other
    float files)."""
    if accelerators.qnn_folder() is None:
        pytest.skip(
            "Qualcomm's host libraries are not installed "
            "(accelerators.fetch_qnn_libraries())"
        )
    paths, _ = files
    for check in accelerators.check_npu(paths["float32"], ["SM8650"]):
        assert check.fully_accelerated, check.summary()
        assert check.partitions == 1, check.summary()
