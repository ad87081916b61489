"""An audio classifier's file for MediaPipe, run by MediaPipe 1.2's own
`AudioClassifier` (clips mode) as an app runs it.

The file comes from `keras-attn export RUN/model.keras --mediapipe
audio_classifier` on a run folder laid out as `keras-attn train
audio-classifier` writes it (the functional network, classes.json,
task.json), so the command takes the class names and the sample rate
from the run. MediaPipe is given synthetic clips (a chirp, tones, noise)
of the model's window, longer, shorter, in stereo and at other rates, and
must give Keras's softmax of the same samples within 1e-4 for every
window. "The same samples" are what MediaPipe's source says it feeds
(`mediapipe_runs.mediapipe_windows`, `mediapipe_runs.qresample`, written
from MediaPipe's and audio_dsp's C++, not from our exporter); the
resampler reference is also checked against the tones it should give.
"""

import json

import numpy as np
import pytest
from mediapipe_runs import audio_scores
from mediapipe_runs import mediapipe_windows
from mediapipe_runs import qresample
from tiny_models import AUDIO_TINY
from tiny_models import spread

from keras_attn import cli
from keras_attn import models
from keras_attn.export import metadata as md
from keras_attn.export import to_mediapipe
from keras_attn.export.mediapipe import audio_sample_rate
from keras_attn.models.tasks import write_task_file

LABELS = ["kick", "snare", "hat"]
RATE = AUDIO_TINY["sample_rate"]  # 8 kHz
WINDOW = AUDIO_TINY["clip_samples"]  # 2000 samples, 250 ms
BAR = 1e-4


def clip(samples, rate=RATE, seed=0, amplitude=0.5):
    """A chirp (100 Hz up to 0.4 of the rate), a tone and faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / rate
    seconds = max(samples / rate, 1e-3)
    sweep = 100 + (0.4 * rate - 100) * t / seconds
    wave = amplitude * np.sin(2 * np.pi * np.cumsum(sweep) / rate)
    wave += 0.2 * np.sin(2 * np.pi * rng.uniform(150, 900) * t)
    wave += 0.05 * rng.normal(size=samples)
    return wave.astype("float32")


def softmax(logits):
    logits = np.asarray(logits, "float64")
    exp = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


@pytest.fixture(scope="module")
def network():
    """The functional network of `audio_classifier` at `AUDIO_TINY`, with
    spread weights so that every window moves the scores."""
    import keras

    keras.utils.set_random_seed(5)
    model = models.audio_classifier(len(LABELS), "audio_tiny", **AUDIO_TINY)
    return spread(model, seed=6)


@pytest.fixture(scope="module")
def run(network, tmp_path_factory):
    """A run folder as the audio job writes it."""
    folder = tmp_path_factory.mktemp("audio_run")
    network.save(folder / "model.keras")
    (folder / "classes.json").write_text(json.dumps(LABELS) + "\n")
    write_task_file(
        folder, "audio_classifier", sample_rate=RATE, clip_samples=WINDOW
    )
    return folder


@pytest.fixture(scope="module")
def phone_file(run, tmp_path_factory):
    """`keras-attn export RUN/model.keras --to tflite --mediapipe
    audio_classifier --probabilities`: no labels, no rate given."""
    path = tmp_path_factory.mktemp("audio_file") / "sounds.tflite"
    command = ["export", str(run / "model.keras"), "--to", "tflite"]
    command += ["--mediapipe", "audio_classifier", "--probabilities"]
    assert cli.main([*command, "--output", str(path)]) == 0
    return path


def keras_scores(network, windows):
    return softmax(network.predict_on_batch(np.asarray(windows, "float32")))


def mediapipe_and_keras(network, path, samples, rate, fed):
    """MediaPipe's scores of `samples` at `rate`, and Keras's of the
    windows of `fed` (what MediaPipe should feed the model)."""
    times, got = audio_scores(path, samples, rate, LABELS)
    windows = mediapipe_windows(fed, WINDOW)
    assert got.shape == (len(windows), len(LABELS))
    # Each result is stamped at its window's start.
    assert times == [round(i * 1000 * WINDOW / RATE) for i in range(len(got))]
    return got, keras_scores(network, windows)


def gap(a, b):
    return float(np.max(np.abs(a - b)))


# -- The file -----------------------------------------------------------------


def test_the_command_takes_labels_and_rate_from_the_run_and_inspect_shows_them(
    phone_file, capsys
):
    capsys.readouterr()
    assert cli.main(["inspect", str(phone_file)]) == 0
    printed = capsys.readouterr().out
    assert f"input  waveforms: float32[1x{WINDOW}]" in printed
    assert "metadata: MediaPipe audio_classifier (min parser 1.3.0)" in printed
    assert "labels         kick, snare, hat" in printed
    assert "audio          8000 Hz, 1 channel, windows of 2000 samples " \
        "(0.25 s)" in printed  # fmt: skip


def test_metadata_round_trip_reads_the_audio_properties(phone_file):
    blob = phone_file.read_bytes()
    meta, files = md.read(blob)
    (audio,) = meta.inputs
    assert audio.content == md.AudioProperties(sample_rate=RATE, channels=1)
    assert meta.min_parser_version == "1.3.0"  # AudioProperties' version
    assert files == {"labels.txt": ("\n".join(LABELS) + "\n").encode()}
    summary = md.summary(blob)
    assert summary["task"] == "audio_classifier"
    assert summary["audio"] == {"sample_rate": RATE, "channels": 1}
    assert summary["labels"] == LABELS
    # MediaPipe's own generated schema reads the same content.
    from mediapipe.tasks.metadata import metadata_schema_py_generated as mp

    buffer = _metadata_buffers(blob)[md.METADATA_NAME]
    root = mp.ModelMetadata.GetRootAsModelMetadata(buffer, 0)
    content = root.SubgraphMetadata(0).InputTensorMetadata(0).Content()
    kind = content.ContentPropertiesType()
    assert kind == mp.ContentProperties.AudioProperties
    table = content.ContentProperties()
    properties = mp.AudioProperties()
    properties.Init(table.Bytes, table.Pos)
    assert (properties.SampleRate(), properties.Channels()) == (RATE, 1)


def _metadata_buffers(blob):
    """`{name: bytes}` of the model's metadata entries."""
    from keras_attn import _compat

    model = _compat.tflite_schema().Model.GetRootAs(blob, 0)
    found = {}
    for index in range(model.MetadataLength()):
        entry = model.Metadata(index)
        data = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
        found[entry.Name().decode()] = bytearray(data)
    return found


# -- MediaPipe runs it --------------------------------------------------------


def test_a_clip_of_the_window_gives_keras_scores(network, phone_file):
    samples = clip(WINDOW)
    got, expected = mediapipe_and_keras(
        network, phone_file, samples, RATE, samples
    )
    assert gap(got, expected) <= BAR, gap(got, expected)
    assert got.sum() == pytest.approx(1.0, abs=1e-5)  # the file's softmax
    # The bar can fail: noise scores far from the chirp.
    noise = np.random.default_rng(1).normal(0, 0.3, (1, WINDOW))
    assert gap(got, keras_scores(network, noise)) > 10 * BAR


def test_a_longer_clip_is_cut_into_back_to_back_windows(network, phone_file):
    # 2.65 windows: two whole ones, then 1300 samples padded with zeros.
    samples = clip(2 * WINDOW + 1300, seed=2)
    got, expected = mediapipe_and_keras(
        network, phone_file, samples, RATE, samples
    )
    assert gap(got, expected) <= BAR, gap(got, expected)
    # Windows that started 20 samples later (or overlapped, or were
    # not padded) would be beyond the bar.
    later = keras_scores(network, mediapipe_windows(samples[20:], WINDOW))
    assert gap(got[:2], later[:2]) > BAR


def test_a_shorter_clip_is_one_window_padded_with_zeros(network, phone_file):
    samples = clip(700, seed=3)
    got, expected = mediapipe_and_keras(
        network, phone_file, samples, RATE, samples
    )
    assert gap(got, expected) <= BAR, gap(got, expected)


def test_a_stereo_clip_is_the_mean_of_its_channels(network, phone_file):
    stereo = np.stack([clip(WINDOW, seed=4), clip(WINDOW, seed=5)], axis=1)
    got, expected = mediapipe_and_keras(
        network, phone_file, stereo, RATE, stereo.mean(axis=1)
    )
    assert gap(got, expected) <= BAR, gap(got, expected)


@pytest.mark.parametrize("rate", [48000, 22050, 4000])
def test_another_rate_is_resampled_as_mediapipe_resamples(
    network, phone_file, rate
):
    # A quarter second at `rate`: after resampling, one window and the
    # filter's flushed tail (a few samples, padded into a second window).
    samples = clip(rate // 4, rate=rate, seed=6, amplitude=0.4)
    fed = qresample(samples, rate, RATE)
    assert len(mediapipe_windows(fed, WINDOW)) == 2
    got, expected = mediapipe_and_keras(network, phone_file, samples, rate, fed)
    assert gap(got, expected) <= BAR, gap(got, expected)
    # Another resampler (linear interpolation) would be beyond the bar.
    times = np.arange(WINDOW) / RATE
    linear = np.interp(times, np.arange(len(samples)) / rate, samples)
    assert gap(got[:1], keras_scores(network, linear[None])) > BAR


@pytest.mark.parametrize("rate", [48000, 22050, 4000])
def test_the_resampling_reference_gives_the_tone_at_the_new_rate(rate):
    # A 440 Hz tone sampled at `rate` becomes the same tone at 8 kHz
    # (away from the edges, where the filter meets the zeros around the
    # clip), with ceil((n + radius) * 8000 / rate) samples.
    n = rate // 4
    tone = np.sin(2 * np.pi * 440 * np.arange(n) / rate).astype("float32")
    fed = qresample(tone, rate, RATE)
    radius = int(np.ceil(5 * max(rate / RATE, 1)))
    assert len(fed) == -(-(n + radius) * RATE // rate)
    expected = np.sin(2 * np.pi * 440 * np.arange(len(fed)) / RATE)
    inside = slice(20, WINDOW - 20)
    assert np.max(np.abs(fed[inside] - expected[inside])) < 2e-3


# -- Refusals -----------------------------------------------------------------


def _plain(samples=800):
    """Waveforms to 3 logits, with no spectrogram layer to say its rate."""
    import keras

    waveforms = keras.Input((samples,), name="waveforms")
    x = keras.layers.Reshape((-1, 1))(waveforms)  # (B, samples, 1)
    x = keras.layers.GlobalAveragePooling1D()(x)  # (B, 1)
    return keras.Model(waveforms, keras.layers.Dense(len(LABELS))(x))


def test_the_rate_comes_from_the_task_or_the_front_end_or_is_refused(network):
    task = models.AudioClassifier.from_network(network, None, LABELS)
    assert audio_sample_rate(task) == RATE
    assert audio_sample_rate(network) == RATE  # its LogMelSpectrogram
    assert audio_sample_rate(_plain(), 16000) == 16000
    with pytest.raises(ValueError, match="pass `sample_rate`"):
        audio_sample_rate(_plain())
    with pytest.raises(ValueError, match="built for 8000 Hz.*16000"):
        audio_sample_rate(network, 16000)
    with pytest.raises(ValueError, match="positive int.*8000.5"):
        audio_sample_rate(_plain(), 8000.5)


def test_bad_arguments_are_refused_before_any_export(network, tmp_path):
    import keras

    path = tmp_path / "x.tflite"
    with pytest.raises(ValueError, match="pass `sample_rate`"):
        to_mediapipe(_plain(), path, "audio_classifier", labels=LABELS)
    with pytest.raises(ValueError, match="scores 3 classes.*2 labels"):
        to_mediapipe(network, path, "audio_classifier", labels=LABELS[:2])
    with pytest.raises(ValueError, match=r"\['normalization'\] do not apply"):
        to_mediapipe(
            network, path, "audio_classifier", labels=LABELS,
            normalization=(0, 255),
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"\['sample_rate'\] do not apply"):
        to_mediapipe(network, path, "image_classifier", sample_rate=RATE)
    unknown = _plain(None)
    with pytest.raises(ValueError, match="fixed number of samples"):
        to_mediapipe(unknown, path, "audio_classifier", labels=LABELS,
                     sample_rate=RATE)  # fmt: skip
    frames = keras.Input((10, 13), name="features")
    mask = keras.Input((10,), name="padding_mask")
    pooled = keras.layers.GlobalAveragePooling1D()(frames, mask=mask)
    features = keras.Model([frames, mask], keras.layers.Dense(3)(pooled))
    with pytest.raises(ValueError, match="one \\(batch, samples\\) waveform"):
        to_mediapipe(features, path, "audio_classifier", labels=LABELS,
                     sample_rate=RATE)  # fmt: skip
    assert not path.exists()


def test_the_command_refuses_image_flags_and_a_model_without_a_rate(
    tmp_path, capsys
):
    model = tmp_path / "plain.keras"
    _plain().save(model)
    (tmp_path / "classes.json").write_text(json.dumps(LABELS))
    command = ["export", str(model), "--to", "tflite", "--mediapipe"]
    command += ["audio_classifier", "--output", str(tmp_path / "x.tflite")]
    with pytest.raises(SystemExit) as exit_:
        cli.main(command)
    assert exit_.value.code == 2
    printed = capsys.readouterr().err
    assert "MODEL" in printed and "pass `sample_rate`" in printed
    with pytest.raises(SystemExit):
        cli.main([*command, "--normalization", "0,255"])
    assert "--normalization: applies only to image tasks" in (
        capsys.readouterr().err
    )
