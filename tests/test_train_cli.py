"""`keras-attn train`: each job at a tiny size, and what it writes."""

import csv
import json

import keras
import numpy as np
import pytest
import sacrebleu

from keras_attn import cli


def read_predictions(path):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0] == ["input", "reference", "prediction"]
    return rows[1:]


COMMON = ["--batch-size", "16", "--verbose", "0", "--strategy", "one_device"]


def assert_run_folder(output, epochs):
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == list(range(1, epochs + 1))
    assert all(np.isfinite(record["loss"]) for record in history)
    assert (output / "training_curves.png").stat().st_size > 5_000
    assert any((output / "logs").rglob("events.out.tfevents.*"))
    assert not (output / "backup").exists()  # removed once finished


def users_columns(path):
    """The sentiment file as a user's own: `sentiment<TAB>review` headers
    and class names `neg` / `pos` instead of 0 / 1."""
    lines = path.read_text(encoding="utf-8").splitlines()
    names = {"0": "neg", "1": "pos"}
    rows = [line.split("\t", 1) for line in lines[1:]]
    text = "sentiment\treview\n" + "".join(
        f"{names[label]}\t{sentence}\n" for label, sentence in rows
    )
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.slow
def test_text_classifier_from_scratch(tmp_path, sentiment_tsv):
    # The user's own column names and class names (issue 21).
    train = users_columns(sentiment_tsv(tmp_path / "train.tsv", 160, seed=0))
    held_out = users_columns(sentiment_tsv(tmp_path / "eval.tsv", 40, seed=1))
    output = tmp_path / "run"
    code = cli.main(
        ["train", "text-classifier", "--train", str(train)]
        + ["--eval", str(held_out), "--output", str(output)]
        + ["--text-column", "review", "--label-column", "sentiment"]
        + ["--epochs", "4", "--learning-rate", "3e-3"]
        + ["--sequence-length", "16", "--vocabulary-size", "200"]
        + COMMON
    )
    assert code == 0
    assert_run_folder(output, 4)
    classes = json.loads((output / "classes.json").read_text())
    assert classes == ["neg", "pos"]  # sorted names, index = output
    rows = read_predictions(output / "eval_predictions.tsv")
    expected = held_out.read_text(encoding="utf-8").splitlines()[1:]
    assert [f"{r[1]}\t{r[0]}" for r in rows] == expected
    metrics = json.loads((output / "metrics.json").read_text())
    correct = sum(r[1] == r[2] for r in rows)
    assert metrics["accuracy"] == pytest.approx(correct / len(rows))
    # One opinion word decides the label: a tiny BERT learns it.
    assert metrics["accuracy"] >= 0.8, metrics
    # The saved model and vocabulary reproduce the written predictions.
    import keras_attn.models as models

    model = keras.saving.load_model(output / "model.keras")
    preprocessor = models.load_bert_preprocessor(output, 16)
    logits = model.predict(preprocessor([r[0] for r in rows]), verbose=0)
    assert [classes[p] for p in np.argmax(logits, -1)] == [r[2] for r in rows]
    # The run folder is one task that takes the strings themselves.
    task = models.load_task(output)
    assert task.class_names == classes
    assert task.preprocessor.sequence_length == 16
    assert [top[0][0] for top in task.classify([r[0] for r in rows])] == [
        r[2] for r in rows
    ]


@pytest.mark.slow
def test_translator_writes_bleu_of_its_predictions(tmp_path, swap_pairs_tsv):
    pairs, train = swap_pairs_tsv(tmp_path / "pairs.tsv")
    output = tmp_path / "run"
    code = cli.main(
        ["train", "translator", "--train", str(train), "--output", str(output)]
        + ["--epochs", "2", "--vocabulary-size", "30", "--max-length", "8"]
        + COMMON
    )
    assert code == 0
    assert_run_folder(output, 2)
    rows = read_predictions(output / "eval_predictions.tsv")
    assert len(rows) == 2  # a tenth of 20 pairs held out
    assert all(tuple(r[:2]) in pairs for r in rows)
    metrics = json.loads((output / "metrics.json").read_text())
    bleu = sacrebleu.corpus_bleu([r[2] for r in rows], [[r[1] for r in rows]])
    assert metrics["bleu"] == pytest.approx(round(bleu.score, 2))
    assert {"model.keras", "translator.json", "source.spm"} <= {
        p.name for p in output.iterdir()
    }


@pytest.mark.slow
def test_vit_on_an_image_folder(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    for name, level in (("dark", 40), ("light", 215)):
        (folder / name).mkdir(parents=True)
        for index in range(12):
            noise = rng.integers(-30, 30, size=(16, 16, 3))
            pixels = np.clip(level + noise, 0, 255).astype("uint8")
            keras.utils.save_img(folder / name / f"{index}.png", pixels)
    output = tmp_path / "run"
    code = cli.main(
        ["train", "vit", "--dataset", str(folder), "--output", str(output)]
        + ["--image-size", "16", "--epochs", "2"]
        + COMMON
    )
    assert code == 0
    assert_run_folder(output, 2)
    assert json.loads((output / "classes.json").read_text()) == [
        "dark",
        "light",
    ]
    rows = read_predictions(output / "eval_predictions.tsv")
    assert len(rows) == 4  # 20% of each class of 12: 2.4, so 2 each
    assert {r[1] for r in rows} == {"dark", "light"}
    model = keras.saving.load_model(output / "model.keras")
    assert model.input_shape == (None, 16, 16, 3)
    # The run folder is one task that takes pixels 0..255 as files hold
    # them (the job read them as pixels / 255).
    from keras_attn import models

    task = models.load_task(output)
    assert task.class_names == ["dark", "light"]
    files = sorted(folder.glob("*/*.png"))
    pixels = np.stack(
        [keras.utils.img_to_array(keras.utils.load_img(f)) for f in files]
    )
    np.testing.assert_allclose(
        task.predict(pixels, verbose=0),
        model.predict(pixels / 255, verbose=0),
        atol=1e-5,
    )


def test_missing_training_file_is_a_clear_error(tmp_path, capsys):
    # A usage error: one line naming the flag and the file, exit status 2
    # (SystemExit, as argparse's own errors), and no run folder.
    missing = tmp_path / "nope.tsv"
    with pytest.raises(SystemExit) as exited:
        cli.main(
            ["train", "text-classifier", "--train", str(missing)]
            + ["--output", str(tmp_path / "run")]
        )
    assert exited.value.code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "--train" in line and str(missing) in line
    assert not (tmp_path / "run").exists()


def test_vit_on_cifar10_through_tfds(tmp_path):
    """The real tfds.load path, fed by TFDS's offline mock data."""
    import tensorflow_datasets as tfds

    output = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=24):
        code = cli.main(
            ["train", "vit", "--dataset", "cifar10", "--output", str(output)]
            + ["--epochs", "1"]
            + COMMON
        )
    assert code == 0
    assert_run_folder(output, 1)
    names = json.loads((output / "classes.json").read_text())
    assert names[:2] == ["airplane", "automobile"] and len(names) == 10
    rows = read_predictions(output / "eval_predictions.tsv")
    assert len(rows) == 24  # the mocked test split
    assert {r[1] for r in rows} <= set(names)
    model = keras.saving.load_model(output / "model.keras")
    assert model.input_shape == (None, 32, 32, 3)
