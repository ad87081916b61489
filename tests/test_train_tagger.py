"""`keras-attn train token-classifier`: one tiny run on hand-tagged
Brown files, scored on a hand-tagged CoNLL-U file, and what it writes."""

import collections
import contextlib
import io
import json
import pathlib

import keras
import numpy as np
import pytest

from keras_attn import cli
from keras_attn import data
from keras_attn import models
from keras_attn.apps.jobs import tagger

# Brown files (word/tag tokens, a sentence a line), tagged by hand.
BROWN = {
    "ca01": [
        "The/at cat/nn sat/vbd on/in the/at mat/nn ./.",
        "A/at dog/nn ran/vbd to/in the/at park/nn ./.",
        "The/at old/jj man/nn saw/vbd a/at big/jj dog/nn ./.",
        "She/pps found/vbd the/at red/jj ball/nn ./.",
    ],
    "ca02": [
        "A/at small/jj cat/nn saw/vbd the/at man/nn ./.",
        "The/at dog/nn sat/vbd in/in the/at park/nn ./.",
        "He/pps found/vbd a/at ball/nn on/in the/at mat/nn ./.",
        "The/at big/jj man/nn ran/vbd ./.",
    ],
    "ca03": [
        "The/at red/jj dog/nn found/vbd the/at cat/nn ./.",
        "She/pps sat/vbd on/in a/at big/jj mat/nn ./.",
        "A/at man/nn saw/vbd the/at old/jj park/nn ./.",
        "The/at old/jj man/nn and/cc the/at small/jj dog/nn ran/vbd to/in "
        "the/at big/jj park/nn and/cc the/at red/jj cat/nn sat/vbd ./.",
    ],
}
TRAIN_WORDS = sum(len(line.split()) for f in BROWN.values() for line in f)

# The evaluation file, CoNLL-U with UPOS; `didn't` is a multiword token
# whose words are `did` and `n't`.
CONLLU = """\
# text = The dog saw a cat.
1\tThe\tthe\tDET\t_\t_\t_\t_\t_\t_
2\tdog\tdog\tNOUN\t_\t_\t_\t_\t_\t_
3\tsaw\tsee\tVERB\t_\t_\t_\t_\t_\t_
4\ta\ta\tDET\t_\t_\t_\t_\t_\t_
5\tcat\tcat\tNOUN\t_\t_\t_\t_\t_\tSpaceAfter=No
6\t.\t.\tPUNCT\t_\t_\t_\t_\t_\t_

# text = She didn't see the ball.
1\tShe\tshe\tPRON\t_\t_\t_\t_\t_\t_
2-3\tdidn't\t_\t_\t_\t_\t_\t_\t_\t_
2\tdid\tdo\tAUX\t_\t_\t_\t_\t_\t_
3\tn't\tnot\tPART\t_\t_\t_\t_\t_\t_
4\tsee\tsee\tVERB\t_\t_\t_\t_\t_\t_
5\tthe\tthe\tDET\t_\t_\t_\t_\t_\t_
6\tball\tball\tNOUN\t_\t_\t_\t_\t_\t_
7\t.\t.\tPUNCT\t_\t_\t_\t_\t_\t_

"""
LONG = (
    "The old man and the small dog ran to the big park and the red cat "
    "sat on the old mat ."
).split()
LONG_UPOS = (
    "DET ADJ NOUN CCONJ DET ADJ NOUN VERB ADP DET ADJ NOUN CCONJ DET ADJ "
    "NOUN VERB ADP DET ADJ NOUN PUNCT"
).split()
# The evaluation's words and, by hand, their universal tags (PUNCT is
# ".", AUX is VERB, PART is PRT, CCONJ is CONJ).
EVAL_WORDS = [
    ["The", "dog", "saw", "a", "cat", "."],
    ["She", "did", "n't", "see", "the", "ball", "."],
    LONG,
]
EVAL_TAGS = [
    ["DET", "NOUN", "VERB", "DET", "NOUN", "."],
    ["PRON", "VERB", "PRT", "VERB", "DET", "NOUN", "."],
    (
        "DET ADJ NOUN CONJ DET ADJ NOUN VERB ADP DET ADJ NOUN CONJ DET ADJ "
        "NOUN VERB ADP DET ADJ NOUN ."
    ).split(),
]
LENGTH = 16  # pieces: the long sentences do not fit


def write_corpora(folder):
    brown = folder / "brown"
    brown.mkdir()
    for name, lines in BROWN.items():
        text = "".join(f"\t{line}\n\n" for line in lines)  # as NLTK ships
        (brown / name).write_text(text, encoding="latin-1")
    rows = "".join(
        f"{i}\t{word}\t_\t{tag}\t_\t_\t_\t_\t_\t_\n"
        for i, (word, tag) in enumerate(zip(LONG, LONG_UPOS, strict=True), 1)
    )
    conllu = folder / "eval.conllu"
    conllu.write_text(CONLLU + rows + "\n", encoding="utf-8")
    return brown, conllu


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run: bert_tiny from scratch on the Brown files, evaluated on
    the CoNLL-U file across tag sets (universal)."""
    folder = tmp_path_factory.mktemp("tagger")
    brown, conllu = write_corpora(folder)
    output = folder / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main(
            ["train", "token-classifier", "--train", str(brown)]
            + ["--eval", str(conllu), "--tagset", "universal"]
            + ["--output", str(output), "--preset", "bert_tiny"]
            + ["--sequence-length", str(LENGTH), "--vocabulary-size", "100"]
            + ["--epochs", "4", "--batch-size", "4", "--learning-rate", "3e-3"]
            + ["--strategy", "one_device", "--progress", "epoch"]
        )
    assert code == 0
    return {
        "output": output,
        "brown": brown,
        "conllu": conllu,
        "printed": printed.getvalue().splitlines(),
        "metrics": json.loads((output / "metrics.json").read_text()),
        "rows": read_predictions(output / "eval_predictions.tsv"),
        "task": models.load_task(output),
    }


def read_predictions(path):
    """The predictions file as sentences of `(word, gold, predicted)`."""
    lines = path.read_text(encoding="utf-8").split("\n")
    assert lines[0] == "word\tgold\tpredicted"
    sentences, current = [], []
    for line in lines[1:]:
        if line:
            current.append(tuple(line.split("\t")))
        elif current:
            sentences.append(current)
            current = []
    assert not current  # every sentence ends in a blank line
    return sentences


@pytest.mark.slow
def test_the_run_folder_holds_what_load_task_and_export_need(run):
    output = run["output"]
    names = {path.name for path in output.iterdir()}
    assert {
        "model.keras",
        "vocab.txt",
        "classes.json",
        "task.json",
        "metrics.json",
        "eval_predictions.tsv",
        "confusion_matrix.png",
        "training_curves.png",
        "history.json",
    } <= names
    assert not (output / "backup").exists()
    tags = json.loads((output / "classes.json").read_text())
    assert tags == list(data.UNIVERSAL_TAGS)  # the 12, in their order
    settings = json.loads((output / "task.json").read_text())
    assert settings["task"] == "token_classifier"
    assert settings["sequence_length"] == LENGTH
    vocabulary = (output / "vocab.txt").read_text().split("\n")
    assert vocabulary[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    history = json.loads((output / "history.json").read_text())
    assert [record["epoch"] for record in history] == [1, 2, 3, 4]
    assert all("val_accuracy" in record for record in history)
    for picture in ("confusion_matrix.png", "training_curves.png"):
        assert (output / picture).stat().st_size > 5_000
    # The functional network, not a task, as the text job saves.
    network = keras.saving.load_model(output / "model.keras")
    assert not isinstance(network, models.TokenClassifier)
    assert "word_starts" in [tensor.name for tensor in network.inputs]
    assert network.output_shape == (None, None, 12)


@pytest.mark.slow
def test_predictions_list_every_eval_word_in_order(run):
    rows = run["rows"]
    assert [[r[0] for r in s] for s in rows] == EVAL_WORDS
    assert [[r[1] for r in s] for s in rows] == EVAL_TAGS
    assert {r[2] for s in rows for r in s} <= set(data.UNIVERSAL_TAGS)


@pytest.mark.slow
def test_metrics_are_those_of_the_predictions_file(run):
    metrics = run["metrics"]
    pairs = [(r[1], r[2]) for s in run["rows"] for r in s]
    assert metrics["eval_words"] == len(pairs) == 6 + 7 + 22
    assert metrics["eval_sentences"] == 3
    assert metrics["train_sentences"] == 12
    assert metrics["train_words"] == TRAIN_WORDS
    assert metrics["accuracy"] == pytest.approx(
        sum(g == p for g, p in pairs) / len(pairs)
    )
    # Precision, recall and F1 of every tag seen or predicted, by count.
    hits = collections.Counter(g for g, p in pairs if g == p)
    gold = collections.Counter(g for g, _ in pairs)
    guessed = collections.Counter(p for _, p in pairs)
    assert set(metrics["per_tag"]) == set(gold) | set(guessed)
    for tag, row in metrics["per_tag"].items():
        precision = hits[tag] / guessed[tag] if guessed[tag] else 0.0
        recall = hits[tag] / gold[tag] if gold[tag] else 0.0
        f1 = 2 * precision * recall / (precision + recall or 1)
        assert row["support"] == gold[tag]
        assert row["precision"] == pytest.approx(precision)
        assert row["recall"] == pytest.approx(recall)
        assert row["f1"] == pytest.approx(f1)
    for name in ("precision", "recall", "f1"):
        values = [row[name] for row in metrics["per_tag"].values()]
        assert metrics[f"macro_{name}"] == pytest.approx(np.mean(values))
    assert metrics["tagset"] == "universal"
    assert metrics["evaluated_on"].startswith(f"--eval {run['conllu']}")
    # A tiny BERT learns which of its few words is which: twice the
    # most frequent tags' share (NOUN and DET, 8 of 35 words each).
    assert metrics["accuracy"] >= 0.5, metrics


@pytest.mark.slow
def test_the_run_folder_loads_as_the_tagger_that_wrote_it(run):
    task = run["task"]
    assert isinstance(task, models.TokenClassifier)
    assert task.class_names == list(data.UNIVERSAL_TAGS)
    assert task.sequence_length == LENGTH
    predicted = [[r[2] for r in s] for s in run["rows"]]
    assert task.tag(EVAL_WORDS) == predicted
    scores = task.evaluate(EVAL_WORDS, EVAL_TAGS, return_dict=True)
    assert scores["accuracy"] == pytest.approx(run["metrics"]["accuracy"])
    assert scores["loss"] == pytest.approx(run["metrics"]["loss"], rel=1e-5)


@pytest.mark.slow
def test_the_cut_training_words_are_counted_and_said_once(run):
    sentences = data.read_tagged(run["brown"], tagset="universal")
    *_, cut = run["task"].encode_words([list(s.words) for s in sentences])
    assert cut > 0  # the 20-word sentence does not fit in 14 pieces
    assert run["metrics"]["cut_train_words"] == cut
    said = [line for line in run["printed"] if " training words " in line]
    assert len(said) == 1
    assert f"cut {cut} of {TRAIN_WORDS} training words" in said[0]
    printed = "\n".join(run["printed"])
    assert "read --train" in printed and "epoch 4/4" in printed
    assert f"accuracy: {run['metrics']['accuracy']}" in printed


@pytest.mark.slow
def test_predict_tags_a_file_of_sentences(run, tmp_path, capsys):
    texts = ["The cat saw a dog .", "She sat on the big mat ."]
    given = tmp_path / "sentences.txt"
    given.write_text(texts[0] + "\n\n" + texts[1] + "\n", encoding="utf-8")
    assert cli.main(["predict", str(run["output"]), "--input", str(given)]) == 0
    words = [text.split() for text in texts]
    expected = [
        " ".join(f"{w}/{t}" for w, t in zip(ws, ts, strict=True))
        for ws, ts in zip(words, run["task"].tag(words), strict=True)
    ]
    assert capsys.readouterr().out.splitlines() == expected


def test_without_eval_a_folder_holds_out_whole_files(tmp_path, capsys):
    brown, _ = write_corpora(tmp_path)
    corpora = tagger.tagged_corpora(brown, held_out=0.3, seed=0)
    held = {s.file for s in corpora.eval}
    assert len(held) == 1 and corpora.eval_files == sorted(held)
    assert not held & {s.file for s in corpora.train}
    (name,) = held
    assert len(corpora.eval) == len(BROWN[pathlib.Path(name).name])
    assert "held out 1 of the 3 files" in corpora.evaluated_on
    assert corpora.evaluated_on in capsys.readouterr().out
    assert corpora.tags == [".", "at", "cc", "in", "jj", "nn", "pps", "vbd"]


def test_without_eval_one_file_holds_out_sentences(tmp_path):
    brown, _ = write_corpora(tmp_path)
    corpora = tagger.tagged_corpora(
        brown / "ca01", tagset="universal", held_out=0.5, max_sentences=1
    )
    assert len(corpora.eval) == 2  # half of 4 sentences
    assert len(corpora.train) == 1  # of the other 2, the first
    assert not {s.line for s in corpora.eval} & {s.line for s in corpora.train}
    assert "held out 2 of the 4 sentences" in corpora.evaluated_on
    assert corpora.tags == list(data.UNIVERSAL_TAGS)


def test_eval_tags_the_training_data_lacks_are_named(tmp_path):
    brown, conllu = write_corpora(tmp_path)
    with pytest.raises(ValueError) as raised:
        tagger.tagged_corpora(brown, conllu)  # raw Brown tags vs UPOS
    message = str(raised.value)
    assert f"'DET' ({conllu}:1)" in message
    assert f"'AUX' ({conllu}:9)" in message
    assert "the 8 tags of the training data: ., at, cc," in message


def test_tag_scores_agree_with_scikit_learn():
    from sklearn.metrics import precision_recall_fscore_support

    rng = np.random.default_rng(0)
    gold = rng.integers(0, 5, 200)
    predicted = np.where(rng.random(200) < 0.6, gold, rng.integers(0, 6, 200))
    names = list("ABCDEFG")  # G is neither gold nor predicted
    scores = tagger.tag_scores(gold, predicted, names)
    labels = sorted(set(gold) | set(predicted))
    p, r, f, support = precision_recall_fscore_support(
        gold, predicted, labels=labels, zero_division=0
    )
    assert list(scores["per_tag"]) == [names[i] for i in labels]
    for i, row in enumerate(scores["per_tag"].values()):
        assert (row["precision"], row["recall"]) == pytest.approx((p[i], r[i]))
        assert (row["f1"], row["support"]) == pytest.approx((f[i], support[i]))
    assert scores["macro_f1"] == pytest.approx(np.mean(f))
    assert scores["accuracy"] == pytest.approx(np.mean(gold == predicted))


def test_the_confusion_picture_is_normalised_per_gold_row(tmp_path):
    gold = [0, 0, 0, 2, 2, 2, 2]
    predicted = [0, 0, 1, 0, 2, 2, 2]
    matrix = tagger.confusion_counts(gold, predicted, 3)
    np.testing.assert_array_equal(matrix, [[2, 1, 0], [0, 0, 0], [1, 0, 3]])
    path = tmp_path / "confusion.png"
    figure, drawn = tagger.plot_confusion(matrix, ["A", "B", "C"], path)
    assert path.stat().st_size > 0 and drawn == ["A", "B", "C"]
    ax = figure.axes[0]
    np.testing.assert_allclose(
        ax.images[0].get_array(),
        [[2 / 3, 1 / 3, 0], [0, 0, 0], [0.25, 0, 0.75]],
    )
    assert [t.get_text() for t in ax.get_yticklabels()] == drawn
    assert [t.get_text() for t in ax.get_xticklabels()] == drawn
    assert (ax.get_ylabel(), ax.get_xlabel()) == ("gold tag", "predicted tag")
    # Of many tags, the most frequent gold tags are drawn, in tag order.
    many = np.diag(np.arange(1, 51))
    names = [f"t{i}" for i in range(50)]
    figure, drawn = tagger.plot_confusion(many, names, path)
    assert drawn == names[10:]
    assert "40 most frequent of 50" in figure.axes[0].get_title()
