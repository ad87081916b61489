"""`keras-attn train`: each job at a tiny size, and what it writes; then
`keras-attn predict` on those run folders.

The text-classifier, translator and ViT runs are module fixtures, each
trained once for the checks of what train wrote and for predict's
(`tests/test_predict.py` checks predict on MediaPipe files).
"""

import csv
import json

import keras
import numpy as np
import pytest
import sacrebleu
from test_predict import far_apart
from test_predict import run_predict
from test_predict import smooth

from keras_attn import cli
from keras_attn.export.predict import softmax


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


@pytest.fixture(scope="module")
def text_run(tmp_path_factory, sentiment_tsv):
    """A text-classifier run on the user's own column names and class
    names (issue 21): `(run folder, held-out file)`."""
    folder = tmp_path_factory.mktemp("text")
    train = users_columns(sentiment_tsv(folder / "train.tsv", 160, seed=0))
    held_out = users_columns(sentiment_tsv(folder / "eval.tsv", 40, seed=1))
    output = folder / "run"
    code = cli.main(
        ["train", "text-classifier", "--train", str(train)]
        + ["--eval", str(held_out), "--output", str(output)]
        + ["--text-column", "review", "--label-column", "sentiment"]
        + ["--epochs", "4", "--learning-rate", "3e-3"]
        + ["--sequence-length", "16", "--vocabulary-size", "200"]
        + COMMON
    )
    assert code == 0
    return output, held_out


@pytest.mark.slow
def test_text_classifier_from_scratch(text_run):
    output, held_out = text_run
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


@pytest.fixture(scope="module")
def translator_run(tmp_path_factory, swap_pairs_tsv):
    """A translator run on 20 swapped pairs: `(pairs, run folder)`."""
    folder = tmp_path_factory.mktemp("translator")
    pairs, train = swap_pairs_tsv(folder / "pairs.tsv")
    output = folder / "run"
    code = cli.main(
        ["train", "translator", "--train", str(train), "--output", str(output)]
        + ["--epochs", "2", "--vocabulary-size", "30", "--max-length", "8"]
        + COMMON
    )
    assert code == 0
    return pairs, output


@pytest.mark.slow
def test_translator_writes_bleu_of_its_predictions(translator_run):
    pairs, output = translator_run
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


@pytest.fixture(scope="module")
def vit_run(tmp_path_factory):
    """A ViT run on a folder of 16x16 dark and light images, 12 of each:
    `(image folder, run folder)`."""
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("vit")
    folder = root / "images"
    for name, level in (("dark", 40), ("light", 215)):
        (folder / name).mkdir(parents=True)
        for index in range(12):
            noise = rng.integers(-30, 30, size=(16, 16, 3))
            pixels = np.clip(level + noise, 0, 255).astype("uint8")
            keras.utils.save_img(folder / name / f"{index}.png", pixels)
    output = root / "run"
    code = cli.main(
        ["train", "vit", "--dataset", str(folder), "--output", str(output)]
        + ["--image-size", "16", "--epochs", "2"]
        + COMMON
    )
    assert code == 0
    return folder, output


@pytest.mark.slow
def test_vit_on_an_image_folder(vit_run):
    folder, output = vit_run
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


# -- `keras-attn predict` on these run folders ---------------------------------
# (tests/test_predict.py checks predict on MediaPipe files; these use the
# runs above, so each job trains once for both.)


def predict_json(capsys, *arguments):
    assert cli.main(["predict", *map(str, arguments), "--json"]) == 0
    return [json.loads(x) for x in capsys.readouterr().out.splitlines()]


@pytest.mark.slow
def test_predict_on_a_text_classifier_run(text_run, capsys):
    """Against the run's functional model.keras and its vocabulary put
    together by hand, as before tasks (no `load_task`)."""
    import keras_attn.models as models

    run, _ = text_run
    texts = ["the film was great", "the film was dull", "awful", "Good!"]
    records = predict_json(capsys, run, *texts)
    classes = json.loads((run / "classes.json").read_text())
    model = keras.saving.load_model(run / "model.keras")
    preprocessor = models.load_bert_preprocessor(run, 16)
    expected = softmax(model.predict(preprocessor(texts), verbose=0))
    assert classes == ["neg", "pos"]
    assert [record["input"] for record in records] == texts
    for record, row in zip(records, expected, strict=True):
        scores = {item["label"]: item["score"] for item in record["labels"]}
        got = np.array([scores[name] for name in classes])
        assert np.max(np.abs(got - row)) <= 1e-5
    # It learned: the two negative texts are further from "pos" than the
    # two positive ones, by a margin (the bar can fail).
    negative, positive = expected[[1, 2], 0], expected[[0, 3], 0]
    assert negative.min() - positive.max() > 0.1, expected


@pytest.mark.slow
def test_predict_on_an_image_run(vit_run, tmp_path, capsys):
    """Against the run's functional model.keras on the pixels / 255, and
    on the image resized by TensorFlow's bilinear resize (keras-hub's
    converter is that resize)."""
    import tensorflow as tf

    _, run = vit_run
    rng = np.random.default_rng(2)
    images = [
        rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
        np.full((16, 16, 3), 30, np.uint8),
        np.full((16, 16, 3), 220, np.uint8),
        smooth(24, 20),
    ]
    paths = []
    for index, image in enumerate(images):
        paths.append(tmp_path / f"image{index}.png")
        keras.utils.save_img(paths[-1], image, scale=False)
    records = predict_json(capsys, run, *paths)
    model = keras.saving.load_model(run / "model.keras")
    pixels = [
        np.asarray(tf.image.resize(image.astype("float32"), (16, 16)))
        for image in images
    ]
    logits = model.predict(np.stack(pixels) / 255, verbose=0)
    expected = softmax(logits)
    for record, path, row in zip(records, paths, expected, strict=True):
        assert record["input"] == str(path)
        scores = {item["label"]: item["score"] for item in record["labels"]}
        got = np.array([scores["dark"], scores["light"]])
        assert np.max(np.abs(got - row)) <= 1e-5, path.name
    assert far_apart(logits) > 1e-3
    # The default line: the best label only.
    assert cli.main(["predict", str(run), str(paths[2])]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    best = ["dark", "light"][int(np.argmax(expected[2]))]
    assert line == f"{best} {expected[2].max():.4f}  {paths[2]}"


@pytest.mark.slow
def test_predict_translates_with_a_translator_run(translator_run, capsys):
    """Against the translations the training job wrote for its held-out
    sentences (greedy decoding of the model in memory)."""
    _, run = translator_run
    rows = read_predictions(run / "eval_predictions.tsv")
    sources = [row[0] for row in rows]
    assert cli.main(["predict", str(run), *sources]) == 0
    printed = capsys.readouterr().out.split("\n")[:-1]
    assert [" ".join(line.split()) for line in printed] == [
        row[2] for row in rows
    ]
    records = predict_json(capsys, run, *sources)
    assert [r["input"] for r in records] == sources
    assert [r["translation"] for r in records] == printed
    code, line = run_predict(capsys, run, sources[0], "--top", "2")
    assert code == 2 and "argument --top" in line


def test_predict_refuses_what_is_no_classifier(
    text_run, vit_run, tmp_path, capsys
):
    (text, _), (_, vit) = text_run, vit_run
    picture = tmp_path / "cat.png"
    keras.utils.save_img(picture, smooth(16, 16))
    code, line = run_predict(capsys, text, picture)
    assert code == 2 and "classifies text; received the image file" in line
    code, line = run_predict(capsys, vit, "the film was great")
    assert code == 2 and "not found; " in line and "classifies images" in line
    # A .keras file of a plain functional model is no task.
    code, line = run_predict(capsys, vit / "model.keras", picture)
    assert code == 2 and "not a task" in line
    # A folder with model.keras but no task.json (not written by train).
    folder = tmp_path / "copied"
    folder.mkdir()
    (folder / "model.keras").write_bytes((vit / "model.keras").read_bytes())
    code, line = run_predict(capsys, folder, picture)
    assert code == 2 and "is not a run folder" in line
