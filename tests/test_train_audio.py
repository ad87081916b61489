"""`keras-attn train audio-classifier`: one tiny run on two tones (clips
written with Python's `wave`), what it writes, the task it loads as, and
`keras-attn predict` on clips."""

import contextlib
import csv
import io
import json
import subprocess
import sys
import wave

import keras
import numpy as np
import pytest

from keras_attn import cli
from keras_attn import models
from keras_attn.apps.jobs import audio as audio_job
from keras_attn.models.audio import AudioClassifier

RATE = 8000
SECONDS = 0.25
SAMPLES = 2000  # RATE * SECONDS
# Two classes a mel spectrogram tells apart at a glance: a low tone and
# a high one (each clip a little off its class's pitch, at its own level
# and phase, with a little noise).
TONES = {"high": 2500.0, "low": 300.0}


def write_wav(path, samples, rate=RATE, channels=1):
    """16-bit PCM with the standard library's `wave` (independent of
    `keras_attn.data.audio`)."""
    pcm = np.clip(np.round(np.asarray(samples) * 32767), -32768, 32767)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(pcm.astype("<i2").tobytes())


def read_wav(path):
    """A mono 16-bit WAV as float32 samples in [-1, 1], by `wave`."""
    with wave.open(str(path), "rb") as handle:
        assert handle.getnchannels() == 1 and handle.getsampwidth() == 2
        frames = handle.readframes(handle.getnframes())
    return np.frombuffer(frames, "<i2").astype("float32") / 32768


def tone(frequency, rng, samples=SAMPLES, rate=RATE):
    time = np.arange(samples) / rate
    pitch = frequency * rng.uniform(0.95, 1.05)
    level = rng.uniform(0.3, 0.8)
    wave_ = level * np.sin(2 * np.pi * pitch * time + rng.uniform(0, 6.3))
    return wave_ + rng.normal(0, 0.01, samples)


def tone_folder(folder, per_class, seed, tones=TONES):
    rng = np.random.default_rng(seed)
    for name, frequency in tones.items():
        for index in range(per_class):
            write_wav(
                folder / name / f"{name}{index}.wav", tone(frequency, rng)
            )
    return folder


COMMON = ["--sample-rate", str(RATE), "--clip-seconds", str(SECONDS)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run: audio_tiny at 8 kHz on 0.25 s clips, 12 of each tone,
    evaluated on 4 other clips of each."""
    folder = tmp_path_factory.mktemp("audio")
    train = tone_folder(folder / "train", 12, seed=0)
    evaluation = tone_folder(folder / "eval", 4, seed=1)
    output = folder / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(
            ["train", "audio-classifier", "--train", str(train)]
            + ["--eval", str(evaluation), "--output", str(output)]
            + COMMON
            + ["--epochs", "3", "--batch-size", "8", "--learning-rate", "2e-3"]
            + ["--strategy", "one_device", "--progress", "none"]
        )
    assert code == 0, printed.getvalue()[-2000:]
    return {
        "folder": folder,
        "train": train,
        "eval": evaluation,
        "output": output,
        "printed": printed.getvalue(),
        "metrics": json.loads((output / "metrics.json").read_text()),
    }


@pytest.fixture(scope="module")
def network(run):
    """The run's `model.keras`, as Keras loads it."""
    return keras.saving.load_model(run["output"] / "model.keras")


@pytest.fixture(scope="module")
def task(run):
    """The run folder as a task."""
    return models.load_task(run["output"])


def read_predictions(path):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["input", "reference", "prediction"]
    return rows[1:]


def test_the_run_folder_holds_what_load_task_and_export_need(run, network):
    output = run["output"]
    names = {path.name for path in output.iterdir()}
    assert {
        "model.keras",
        "classes.json",
        "task.json",
        "metrics.json",
        "history.json",
        "eval_predictions.tsv",
        "training_curves.png",
        "confusion_matrix.png",
    } <= names
    assert not (output / "backup").exists()
    # Classes are the subfolders, sorted.
    assert json.loads((output / "classes.json").read_text()) == sorted(TONES)
    settings = json.loads((output / "task.json").read_text())
    assert settings["task"] == "audio_classifier"
    assert (settings["sample_rate"], settings["clip_samples"]) == (
        RATE,
        SAMPLES,
    )
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3]
    assert all(np.isfinite(record["loss"]) for record in history)
    for picture in ("confusion_matrix.png", "training_curves.png"):
        assert (output / picture).stat().st_size > 5_000
    assert network.input_shape == (None, SAMPLES)
    assert network.output_shape == (None, 2)


def test_metrics_are_those_of_the_predictions_file(run):
    metrics = run["metrics"]
    rows = read_predictions(run["output"] / "eval_predictions.tsv")
    # Every evaluation clip once, under the name it has in --eval.
    expected = sorted(
        p.relative_to(run["eval"]).as_posix()
        for p in run["eval"].rglob("*.wav")
    )
    assert sorted(row[0] for row in rows) == expected
    assert all(row[1] == row[0].split("/")[0] for row in rows)
    right = np.mean([row[1] == row[2] for row in rows])
    assert metrics["accuracy"] == pytest.approx(right)
    assert metrics["eval_examples"] == 8 and metrics["train_examples"] == 24
    matrix = np.array(metrics["confusion_matrix"])
    assert matrix.sum() == 8 and np.trace(matrix) == round(right * 8)
    # A low and a high tone: told apart within three epochs.
    assert metrics["accuracy"] >= 0.875, run["printed"][-2000:]
    assert f"accuracy: {metrics['accuracy']}" in run["printed"]


def test_the_run_loads_as_an_audio_classifier_on_samples(run, task, network):
    assert isinstance(task, AudioClassifier)
    assert task.class_names == sorted(TONES)
    assert (task.sample_rate, task.clip_samples) == (RATE, SAMPLES)
    files = sorted(run["eval"].rglob("*.wav"))
    clips = np.stack([read_wav(path) for path in files])
    np.testing.assert_allclose(
        task.predict(clips, verbose=0),
        network.predict(clips, verbose=0),
        atol=1e-5,
    )


def predict(*arguments):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(["predict", *map(str, arguments)])
    assert code == 0
    return printed.getvalue().splitlines()


def test_predict_prints_the_best_classes_of_each_clip(run, task, tmp_path):
    rng = np.random.default_rng(7)
    high, low = tmp_path / "high.wav", tmp_path / "low.wav"
    write_wav(high, tone(TONES["high"], rng))
    # Twice the window at twice the rate, in stereo: mixed to mono,
    # resampled and cropped to the model's 0.25 s at 8 kHz.
    mono = tone(TONES["low"], rng, samples=4 * SAMPLES, rate=2 * RATE)
    write_wav(low, np.repeat(mono, 2), rate=2 * RATE, channels=2)
    expected = task.probabilities(read_wav(high)[None])
    (line,) = predict(run["output"], "--input", high)
    label, score, path = line.split()
    assert label == task.class_names[int(np.argmax(expected[0]))]
    assert float(score) == pytest.approx(expected[0].max(), abs=1e-4)
    assert path == str(high)
    records = [
        json.loads(line)
        for line in predict(run["output"], high, low, "--json", "--top", "2")
    ]
    assert [r["input"] for r in records] == [str(high), str(low)]
    for record in records:
        scores = [label["score"] for label in record["labels"]]
        assert sum(scores) == pytest.approx(1.0, abs=1e-5)
        assert scores == sorted(scores, reverse=True)
    assert records[1]["labels"][0]["label"] == "low"


def errors(arguments, capsys):
    """The one stderr line and exit status of a failing command."""
    try:
        code = cli.main(arguments)
    except SystemExit as exited:
        code = exited.code
    (line,) = capsys.readouterr().err.strip().splitlines()
    return code, line


# The usage errors, run in a fresh Python that must not load TensorFlow:
# the folders are checked before it starts.
CHECKS_ONLY = """\
import contextlib, io, json, sys
from keras_attn.cli import main
said = []
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            main(argv)
    except SystemExit as exited:
        said.append([exited.code, err.getvalue().strip().splitlines()])
assert "tensorflow" not in sys.modules, "TensorFlow was loaded"
assert "keras" not in sys.modules, "Keras was loaded"
print(json.dumps(said))
"""


def test_folders_without_two_classes_of_clips_are_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "a" / "notes.txt").write_text("no audio here")
    one = tone_folder(tmp_path / "one", 2, 0, {"high": TONES["high"]})
    two = tone_folder(tmp_path / "two", 2, 0)
    other = tone_folder(tmp_path / "other", 1, 0, {"buzz": 150.0, **TONES})
    train = ["train", "audio-classifier", "--output", str(tmp_path / "run")]
    result = subprocess.run(
        [sys.executable, "-c", CHECKS_ONLY]
        + [
            json.dumps(
                [
                    train + ["--train", str(empty)],
                    train + ["--train", str(one)],
                    train + ["--train", str(two), "--eval", str(other)],
                ]
            )
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    (code, (line,)), (code_one, (one_line,)), (code_eval, (eval_line,)) = (
        json.loads(result.stdout)
    )
    assert code == code_one == code_eval == 2
    assert "--train" in line and str(empty / "a") in line
    assert "has no .wav or .flac clips" in line
    assert "one class only (high)" in one_line and "at least 2" in one_line
    assert "--eval" in eval_line and "['buzz']" in eval_line
    assert not (tmp_path / "run").exists()


def test_a_file_that_is_not_audio_is_named(tmp_path, capsys):
    folder = tone_folder(tmp_path / "clips", 3, seed=0)
    broken = folder / "low" / "broken.wav"
    broken.write_bytes(b"not a RIFF file at all")
    code, line = errors(
        ["train", "audio-classifier", "--train", str(folder)]
        + ["--output", str(tmp_path / "run")]
        + COMMON,
        capsys,
    )
    assert code == 2
    assert "broken.wav" in line
    assert not (tmp_path / "run" / "model.keras").exists()


def test_without_eval_a_share_of_each_class_is_held_out(tmp_path):
    folder = tone_folder(tmp_path / "clips", 5, seed=0)
    clips = audio_job.audio_clips(folder, None, RATE, SAMPLES, 0.2, seed=3)
    # 0.2 of 5 clips: one of each class held out, four trained on.
    assert len(clips["y_eval"]) == 2 and len(clips["y_train"]) == 8
    assert sorted(clips["y_eval"].tolist()) == [0, 1]
    held = {reference.split("/")[0] for reference in clips["references"]}
    assert held == set(TONES)
    # The held-out clips are the files named, read as `wave` reads them.
    for reference, samples in zip(
        clips["references"], clips["x_eval"], strict=True
    ):
        np.testing.assert_allclose(
            samples, read_wav(folder / reference), atol=1e-4
        )


def test_eval_of_some_classes_keeps_the_training_labels(tmp_path):
    train = tone_folder(tmp_path / "train", 2, seed=0)
    low = tone_folder(tmp_path / "eval", 2, 1, {"low": TONES["low"]})
    clips = audio_job.audio_clips(train, low, RATE, SAMPLES)
    assert clips["names"] == ["high", "low"]
    assert clips["y_eval"].tolist() == [1, 1]  # "low" is class 1
    assert clips["references"] == ["low/low0.wav", "low/low1.wav"]


def test_skip_bad_files_leaves_them_out_with_a_warning(tmp_path):
    folder = tone_folder(tmp_path / "clips", 3, seed=0)
    (folder / "low" / "broken.wav").write_bytes(b"not a RIFF file at all")
    with pytest.warns(UserWarning, match="broken.wav"):
        clips = audio_job.audio_clips(
            folder, None, RATE, SAMPLES, 0.2, skip_bad_files=True
        )
    assert len(clips["y_train"]) + len(clips["y_eval"]) == 6
