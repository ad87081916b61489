"""`keras-attn predict` and `export.predict.clip_scores` on a MediaPipe
audio_classifier file.

One file is exported for the module, from `models.audio_classifier` at
`AUDIO_TINY` (8 kHz, windows of 2000 samples) with spread weights and
logits out, so the softmax of each window is ours. The reference is the
Keras network on the same samples: clips are written with Python's
`wave` (16-bit, read back as int / 32768), and windows are cut here with
NumPy, back to back, the last padded with zeros, as MediaPipe's
`AudioToTensorCalculator` cuts them; a clip's scores must be the mean of
the Keras softmax of its windows within 1e-5.
"""

import json
import re
import wave

import numpy as np
import pytest
from tiny_models import AUDIO_TINY
from tiny_models import spread

from keras_attn import cli
from keras_attn import models
from keras_attn.data.audio import resample_audio
from keras_attn.export import classify_file
from keras_attn.export import to_mediapipe
from keras_attn.export.predict import clip_scores

LABELS = ["kick", "snare", "hat"]
RATE = AUDIO_TINY["sample_rate"]  # 8 kHz
WINDOW = AUDIO_TINY["clip_samples"]  # 2000 samples
BAR = 1e-5
LINE = re.compile(r"^(?P<label>\S+) (?P<score>[0-9.]+)  (?P<input>.*)$")


def sound(samples, rate=RATE, seed=0):
    """A chirp (100 Hz up to 0.4 of the rate), a tone and faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    sweep = 100 + (0.4 * rate - 100) * t / (samples / rate)
    wave_ = 0.5 * np.sin(2 * np.pi * np.cumsum(sweep) / rate)
    wave_ += 0.2 * np.sin(2 * np.pi * rng.uniform(150, 900) * t)
    return (wave_ + 0.05 * rng.normal(size=samples)).astype("float32")


def write_wav(path, samples, rate=RATE):
    """`samples` (`(n,)` or `(n, channels)`) as a 16-bit WAV file with
    Python's `wave`; returns what it holds, as float32 int / 32768."""
    samples = np.asarray(samples)
    frames = samples.reshape(len(samples), -1)
    ints = np.round(np.clip(frames, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(frames.shape[1])
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(ints.tobytes())
    return (ints / 32768.0).astype("float32")


def windows_of(samples):
    """Back-to-back windows of `WINDOW`, the last padded with zeros."""
    count = max(1, -(-len(samples) // WINDOW))
    padded = np.zeros(count * WINDOW, "float32")
    padded[: len(samples)] = samples
    return padded.reshape(count, WINDOW)


def softmax(logits):
    logits = np.asarray(logits, "float64")
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def network():
    import keras

    keras.utils.set_random_seed(5)
    model = models.audio_classifier(len(LABELS), "audio_tiny", **AUDIO_TINY)
    return spread(model, seed=6)


@pytest.fixture(scope="module")
def audio_file(network, tmp_path_factory):
    """The MediaPipe audio_classifier file (logits out; the rate from
    the network's spectrogram layer)."""
    path = tmp_path_factory.mktemp("audio") / "sounds.tflite"
    to_mediapipe(
        network, path, "audio_classifier", labels=LABELS,
        measure_latency=False, num_samples=1,
    )  # fmt: skip
    return path


def keras_windows(network, windows):
    """The Keras softmax of each window: `(windows, classes)`."""
    return softmax(network.predict_on_batch(np.asarray(windows, "float32")))


def test_a_clip_of_one_window_gives_the_keras_softmax(
    network, audio_file, tmp_path
):
    samples = write_wav(tmp_path / "chirp.wav", sound(WINDOW))[:, 0]
    found, got, windows = clip_scores(audio_file, [tmp_path / "chirp.wav"])
    assert (found.task, found.sample_rate, found.window) == (
        "audio_classifier", RATE, WINDOW,
    )  # fmt: skip
    assert found.labels == LABELS and not found.probabilities  # logits
    assert windows == [1]
    (expected,) = keras_windows(network, samples[None])
    assert np.argmax(got[0]) == np.argmax(expected)
    assert np.max(np.abs(got[0] - expected)) <= BAR
    # The bar can fail: noise scores far from the chirp.
    noise = np.random.default_rng(1).normal(0, 0.3, (1, WINDOW))
    assert np.max(np.abs(got[0] - keras_windows(network, noise)[0])) > 1e-3


def test_a_longer_clip_scores_the_mean_of_its_windows(network, audio_file):
    long = sound(5 * WINDOW // 2, seed=2)  # 2.5 windows: 3, the last padded
    short = sound(700, seed=3)  # one window, padded
    stereo = np.stack([sound(WINDOW, seed=4), sound(WINDOW, seed=5)], 1)
    found, got, windows = clip_scores(audio_file, [long, short, stereo])
    assert windows == [3, 1, 1]
    each = keras_windows(network, windows_of(long))
    assert np.max(np.abs(got[0] - each.mean(axis=0))) <= BAR
    # Neither the first window alone nor the two whole ones would pass.
    assert np.max(np.abs(got[0] - each[0])) > 1e-3
    assert np.max(np.abs(got[0] - each[:2].mean(axis=0))) > 1e-3
    expected = keras_windows(network, windows_of(short))[0]
    assert np.max(np.abs(got[1] - expected)) <= BAR
    expected = keras_windows(network, stereo.mean(axis=1)[None])[0]
    assert np.max(np.abs(got[2] - expected)) <= BAR
    # classify_file ranks the same probabilities (no second softmax).
    (ranked,) = classify_file(audio_file, [long], top_k=2, probabilities=True)
    best = np.argsort(-got[0])[:2]
    assert ranked == [(LABELS[i], pytest.approx(got[0][i])) for i in best]
    with pytest.raises(ValueError, match="audio_classifier, which takes"):
        clip_scores(audio_file, [np.zeros((4, 4, 4), "float32")])


def test_predict_prints_each_clips_label_and_windows(
    network, audio_file, tmp_path, capsys
):
    one = write_wav(tmp_path / "one.wav", sound(WINDOW, seed=7))[:, 0]
    # Stereo at twice the rate: mixed, then resampled to 8 kHz, 2 windows.
    stereo = np.stack([sound(5000, 2 * RATE, 8), sound(5000, 2 * RATE, 9)], 1)
    stereo = write_wav(tmp_path / "stereo.wav", stereo, 2 * RATE)
    mono = resample_audio(stereo.mean(axis=1, dtype="float32"), 2 * RATE, RATE)
    expected = [
        keras_windows(network, windows_of(one)).mean(axis=0),
        keras_windows(network, windows_of(mono)).mean(axis=0),
    ]
    clips = [str(tmp_path / "one.wav"), str(tmp_path / "stereo.wav")]
    capsys.readouterr()
    assert cli.main(["predict", str(audio_file), *clips]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line, given, row in zip(lines, clips, expected, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match["input"] == given
        assert match["label"] == LABELS[int(np.argmax(row))]
        assert float(match["score"]) == pytest.approx(row.max(), abs=6e-5)
    command = ["predict", str(audio_file), "--json", "--top", "2", *clips]
    assert cli.main(command) == 0
    records = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [record["windows"] for record in records] == [1, 2]
    for record, row in zip(records, expected, strict=True):
        best = np.argsort(-row)[:2]
        assert [item["label"] for item in record["labels"]] == [
            LABELS[i] for i in best
        ]
        got = [item["score"] for item in record["labels"]]
        assert np.max(np.abs(np.array(got) - row[best])) <= BAR


def test_predict_refuses_what_is_no_clip(audio_file, tmp_path, capsys):
    notes = tmp_path / "notes.wav"
    notes.write_text("not a sound")
    for given, says in (
        (notes, "expected a WAV (RIFF/WAVE) or FLAC"),
        ("a fine film", "a fine film not found"),
    ):
        with pytest.raises(SystemExit) as exited:
            cli.main(["predict", str(audio_file), str(given)])
        assert exited.value.code == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert says in captured.err and "classifies audio" in captured.err
