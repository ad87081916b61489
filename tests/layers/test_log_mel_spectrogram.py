"""`LogMelSpectrogram` against references nobody here wrote:
`tf.signal` (stft, hann_window, linear_to_mel_weight_matrix) and
`keras.ops.stft` with the mel matrix of `keras.layers.MelSpectrogram`,
on short synthetic clips."""

import math

import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import run_layer_test

from keras_attn.layers import LogMelSpectrogram

RATE = 16000
SAMPLES = 4000  # 0.25 s: 23 frames of 400 every 160


def clips(samples=SAMPLES, seed=0):
    """Float32 clips in [-1, 1]: `(broadband, pure)` dicts. The pure
    tones and chirps have no noise floor at all, so their quietest bands
    lie 100 dB below the loudest: there float32 itself differs from the
    exact result by more than 1e-4 (tf.signal's float32 too)."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / RATE
    floor = 3e-3 * rng.standard_normal(samples)  # -50 dB, a quiet room
    sweep = 2 * np.pi * (200 + 3000 * t / (2 * t[-1])) * t
    broadband = {
        "square": np.sign(np.sin(2 * np.pi * 300 * t) + 1e-9),
        "white noise": rng.uniform(-1, 1, samples),
        "near-silent": 1e-4 * rng.standard_normal(samples),
        "silence": np.zeros(samples),
        "tone over a floor": 0.5 * np.sin(2 * np.pi * 1000 * t) + floor,
        "chirp over a floor": 0.5 * np.sin(sweep) + floor,
    }
    pure = {
        "tone": np.sin(2 * np.pi * 440 * t),
        "chirp": 0.8 * np.sin(sweep),
    }

    def as_float32(waves):
        return {k: v.astype("float32") for k, v in waves.items()}

    return as_float32(broadband), as_float32(pure)


def need_tensorflow():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.signal reference runs on the TensorFlow backend")
    import tensorflow as tf

    return tf


def tf_signal_log_mel(tf, waves, dtype, layer):
    """tf.signal's log-mel of `waves` (N, samples), computed in `dtype`."""
    x = tf.constant(np.asarray(waves), dtype)
    stft = tf.signal.stft(
        x,
        frame_length=layer.frame_length,
        frame_step=layer.frame_step,
        fft_length=layer.fft_length,
        window_fn=tf.signal.hann_window,
    )
    power = tf.math.real(stft * tf.math.conj(stft))
    mel = tf.signal.linear_to_mel_weight_matrix(
        layer.num_mel_bins,
        layer.fft_length // 2 + 1,
        layer.sample_rate,
        layer.lower_edge_hertz,
        layer.upper_edge_hertz or layer.sample_rate / 2,
        dtype=dtype,
    )
    return np.log(np.asarray(tf.tensordot(power, mel, 1)) + layer.log_offset)


def test_layer_behaviour():
    run_layer_test(
        LogMelSpectrogram,
        {
            "sample_rate": 8000,
            "frame_length": 64,
            "frame_step": 32,
            "fft_length": 64,
            "num_mel_bins": 8,
        },
        {"inputs": ((2, 256), "float32")},
        expected_output_shape=(2, 7, 8),
        expected_num_trainable_weights=0,
    )


def test_equals_tf_signal_within_1e_4():
    """Within 1e-4 of tf.signal computed in float64 on every clip with a
    noise floor, and of tf.signal's float32 on the broadband ones. Next
    to a tone, bands 50 dB down carry float32's rounding of the loud
    bins: there tf.signal's own float32 is further from its float64 than
    we are, which is what the pure clips check."""
    tf = need_tensorflow()
    layer = LogMelSpectrogram()
    broadband, pure = clips()
    waves = {**broadband, **pure}
    stacked = np.stack(list(waves.values()))
    got = np.asarray(layer(stacked), "float64")
    exact = tf_signal_log_mel(tf, stacked, tf.float64, layer)
    float32 = tf_signal_log_mel(tf, stacked, tf.float32, layer)
    for i, name in enumerate(waves):
        ours = np.max(np.abs(got[i] - exact[i]))
        theirs = np.max(np.abs(float32[i] - exact[i]))
        if name in broadband:
            assert ours < 1e-4, (name, ours)
        if "tone" in name or "chirp" in name:
            assert ours <= max(theirs, 1e-4), (name, ours, theirs)
        else:
            assert np.max(np.abs(got[i] - float32[i])) < 1e-4, name
    assert np.allclose(got[list(waves).index("silence")], math.log(1e-6))


@pytest.mark.parametrize(
    "options",
    [
        {"frame_length": 512, "fft_length": 512, "num_mel_bins": 64},
        {
            "sample_rate": 8000,
            "frame_length": 240,
            "frame_step": 100,
            "fft_length": 256,
            "num_mel_bins": 20,
            "lower_edge_hertz": 125.0,
            "upper_edge_hertz": 3800.0,
            "log_offset": 1e-3,
        },
    ],
)
def test_other_settings_equal_tf_signal(options):
    tf = need_tensorflow()
    layer = LogMelSpectrogram(**options)
    broadband, _ = clips(seed=1)
    waves = np.stack([broadband["white noise"], broadband["square"]])
    exact = tf_signal_log_mel(tf, waves, tf.float64, layer)
    np.testing.assert_allclose(layer(waves), exact, atol=1e-4, rtol=0)


def test_mel_matrix_is_tf_signals():
    tf = need_tensorflow()
    for rate, bins, mels, low, high in [
        (16000, 257, 40, 20.0, 8000.0),
        (8000, 129, 20, 125.0, 3800.0),
        (22050, 1025, 128, 0.0, 11025.0),
    ]:
        layer = LogMelSpectrogram(
            sample_rate=rate,
            frame_length=2 * (bins - 1),
            fft_length=2 * (bins - 1),
            num_mel_bins=mels,
            lower_edge_hertz=low,
            upper_edge_hertz=high,
        )
        want = tf.signal.linear_to_mel_weight_matrix(
            mels, bins, rate, low, high, dtype=tf.float64
        )
        np.testing.assert_allclose(layer.mel_matrix(), want, atol=1e-9)


def test_equals_keras_stft_and_keras_mel_matrix():
    """`keras.ops.stft` (any backend) frames `fft_length` samples with the
    window in their middle: 56 zeros on each side line its frames up with
    ours."""
    layer = LogMelSpectrogram()
    broadband, _ = clips(seed=2)
    waves = np.stack([broadband["white noise"], broadband["tone over a floor"]])
    pad = (layer.fft_length - layer.frame_length) // 2
    padded = np.pad(waves, [(0, 0), (pad, pad)])
    real, imag = ops.stft(
        padded.astype("float64"), 400, 160, 512, window="hann", center=False
    )
    power = ops.convert_to_numpy(real) ** 2 + ops.convert_to_numpy(imag) ** 2
    mel = keras.layers.MelSpectrogram().linear_to_mel_weight_matrix(
        num_mel_bins=40,
        num_spectrogram_bins=257,
        sampling_rate=RATE,
        lower_edge_hertz=20.0,
        upper_edge_hertz=8000.0,
        dtype="float64",
    )
    want = np.log(power @ ops.convert_to_numpy(mel) + 1e-6)
    np.testing.assert_allclose(layer(waves), want, atol=1e-4, rtol=0)


def test_odd_frame_length_takes_the_periodic_hann_window():
    """For odd lengths `tf.signal.hann_window(periodic=True)` gives the
    symmetric window (cos(2 pi n / (N - 1))); the layer takes the periodic
    one, cos(2 pi n / N), as scipy, librosa, torch and Keras's JAX `stft`
    do: checked against `scipy.signal.get_window("hann", N)` and
    `keras.ops.stft`."""
    import scipy.signal

    layer = LogMelSpectrogram(
        sample_rate=8000, frame_length=255, frame_step=100, fft_length=256
    )
    wave = clips(2000, seed=3)[0]["white noise"][None]
    window = scipy.signal.get_window("hann", 255)
    real, imag = ops.stft(
        np.pad(wave, [(0, 0), (0, 1)]).astype("float64"),
        256,
        100,
        256,
        window=np.append(window, 0.0),
        center=False,
    )
    power = ops.convert_to_numpy(real) ** 2 + ops.convert_to_numpy(imag) ** 2
    mel = keras.layers.MelSpectrogram().linear_to_mel_weight_matrix(
        num_mel_bins=40,
        num_spectrogram_bins=129,
        sampling_rate=8000,
        lower_edge_hertz=20.0,
        upper_edge_hertz=4000.0,
        dtype="float64",
    )
    want = np.log(power @ ops.convert_to_numpy(mel) + 1e-6)
    np.testing.assert_allclose(layer(wave), want, atol=1e-4, rtol=0)


@pytest.mark.parametrize("samples", [400, 401, 559, 560, 561, 4000])
def test_frames_as_tf_signal_frames_them(samples):
    layer = LogMelSpectrogram(num_mel_bins=8)
    starts = [s for s in range(samples) if s % 160 == 0 and s + 400 <= samples]
    out = layer(np.zeros((1, samples), "float32"))
    assert tuple(out.shape) == (1, len(starts), 8)
    assert layer.num_frames(samples) == len(starts)
    assert layer.compute_output_shape((1, samples)) == (1, len(starts), 8)
    assert layer.compute_output_shape((None, None)) == (None, None, 8)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"frame_length": 600}, r"frame_length.*at most.*fft_length.*600"),
        ({"upper_edge_hertz": 9000.0}, r"upper_edge_hertz.*Nyquist.*8000"),
        ({"lower_edge_hertz": 8000.0}, r"lower_edge_hertz.*\[0, 8000\)"),
        ({"lower_edge_hertz": -1.0}, r"lower_edge_hertz.*received.*-1"),
        (
            {"lower_edge_hertz": 300.0, "upper_edge_hertz": 200.0},
            r"upper_edge_hertz.*above lower_edge_hertz=300.*200",
        ),
        ({"log_offset": 0.0}, r"log_offset.*positive"),
        ({"num_mel_bins": 0}, r"num_mel_bins.*positive integer"),
        ({"frame_step": 1.5}, r"frame_step.*positive integer"),
        ({"sample_rate": True}, r"sample_rate.*positive integer"),
        ({"upper_edge_hertz": "8k"}, r"upper_edge_hertz.*number.*'8k'"),
    ],
)
def test_bad_arguments_say_what_was_expected(options, message):
    with pytest.raises(ValueError, match=message):
        LogMelSpectrogram(**options)


def test_too_short_or_badly_shaped_input_is_refused():
    layer = LogMelSpectrogram()
    with pytest.raises(ValueError, match=r"at least frame_length=400.*399"):
        layer(np.zeros((1, 399), "float32"))
    with pytest.raises(ValueError, match=r"at least frame_length=400.*100"):
        LogMelSpectrogram()(keras.Input((100,)))
    with pytest.raises(ValueError, match=r"rank 2.*\(batch, samples\)"):
        LogMelSpectrogram()(np.zeros((1, 800, 1), "float32"))
    with pytest.raises(TypeError, match=r"float waveforms.*int16.*32768"):
        LogMelSpectrogram()(np.zeros((1, 800), "int16"))


def test_full_scale_under_mixed_float16_stays_finite_and_close():
    """The layer computes in float32: a full-scale 512-sample frame's
    power (65,536 at 0 Hz) would be inf in float16."""
    options = {"frame_length": 512, "fft_length": 512, "lower_edge_hertz": 0}
    wave = np.ones((1, 1024), "float32")
    want = np.asarray(LogMelSpectrogram(**options)(wave))
    mixed = LogMelSpectrogram(**options, dtype="mixed_float16")(wave)
    assert keras.backend.standardize_dtype(mixed.dtype) == "float16"
    got = ops.convert_to_numpy(ops.cast(mixed, "float32"))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, atol=1e-2, rtol=0)


def test_saves_and_loads_as_a_keras_file(tmp_path):
    inputs = keras.Input((1000,), name="waveforms")
    features = LogMelSpectrogram(num_mel_bins=16, upper_edge_hertz=7600.0)(
        inputs
    )
    model = keras.Model(inputs, keras.layers.Dense(2)(features))
    wave = clips(1000)[0]["white noise"][None]
    path = tmp_path / "front_end.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    np.testing.assert_array_equal(restored(wave), model(wave))
    config = restored.layers[1].get_config()
    assert config["upper_edge_hertz"] == 7600.0
    assert config["num_mel_bins"] == 16
