"""The BERT tagger: words to pieces, per-word labels from first pieces,
windows for long sentences, and the task's fit / tag / evaluate.

References: rows and spans written by hand from a made-up vocabulary, NumPy
indexing and cross-entropy on the network's own logits, the per-piece
logits of the same weights, and each window run as a sentence of its own.
"""

import json
import warnings

import keras
import numpy as np
import pytest

from keras_attn import models
from keras_attn.models.tagger import heads
from keras_attn.models.tagger import words as wp
from keras_attn.models.tasks import write_task_file

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "the a cat dog mat they we sat ran run walk ##s ##ning on".split()
)
TAGS = ["DET", "NOUN", "PRON", "VERB", "ADP"]
ID = {token: i for i, token in enumerate(TOKENS)}


def made_up_sentences(count, seed):
    """Sentences whose tags need context: "run" and "walk" are nouns after
    a determiner and verbs after a pronoun."""
    rng = np.random.default_rng(seed)
    sentences, tags = [], []
    for _ in range(count):
        words, row = [], []
        for _ in range(int(rng.integers(1, 4))):
            if rng.random() < 0.5:
                words += [str(rng.choice(["the", "a"]))]
                words += [str(rng.choice(["cat", "dog", "run", "walk"]))]
                words += [str(rng.choice(["sat", "ran"]))]
                row += ["DET", "NOUN", "VERB"]
            else:
                words += [str(rng.choice(["they", "we"]))]
                words += [str(rng.choice(["run", "walk", "sat"]))]
                row += ["PRON", "VERB"]
            if rng.random() < 0.3:
                words += ["on", "the", "mat"]
                row += ["ADP", "DET", "NOUN"]
        sentences.append(words)
        tags.append(row)
    return sentences, tags


def tiny_tagger(sequence_length=12):
    keras.utils.set_random_seed(0)
    return models.TokenClassifier.from_preset(
        "bert_tiny",
        vocabulary=TOKENS,
        sequence_length=sequence_length,
        class_names=TAGS,
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
    )


@pytest.fixture(scope="module")
def trained():
    sentences, tags = made_up_sentences(160, seed=0)
    tagger = tiny_tagger(sequence_length=16)
    tagger.compile(optimizer=keras.optimizers.Adam(3e-3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tagger.fit(
            sentences, tags, batch_size=16, epochs=8, seed=0, verbose=0
        )
    tagger.fit_warnings = [str(w.message) for w in caught]
    tagger.fit_sentences = sentences
    return tagger


def test_rows_match_hand_written_alignment():
    tagger = tiny_tagger(sequence_length=10)
    inputs, labels, weights, cut = tagger.encode_words(
        [["The", "cats", "running"], ["We", "ran"]],
        [["DET", "NOUN", "VERB"], ["PRON", 3]],
    )
    # "cats" is cat + ##s, "running" is run + ##ning; lowercased.
    row = [ID[t] for t in "[CLS] the cat ##s run ##ning [SEP]".split()]
    np.testing.assert_array_equal(inputs["token_ids"][0], row + [0, 0, 0])
    np.testing.assert_array_equal(
        inputs["token_ids"][1],
        [ID["[CLS]"], ID["we"], ID["ran"], ID["[SEP]"]] + [0] * 6,
    )
    np.testing.assert_array_equal(inputs["word_starts"][0], [1, 2, 4] + [0] * 5)
    np.testing.assert_array_equal(inputs["word_starts"][1], [1, 2] + [0] * 6)
    np.testing.assert_array_equal(inputs["padding_mask"][0], [1] * 7 + [0] * 3)
    np.testing.assert_array_equal(inputs["segment_ids"], 0)
    np.testing.assert_array_equal(labels[0, :3], [0, 1, 3])
    np.testing.assert_array_equal(labels[1, :2], [2, 3])
    np.testing.assert_array_equal(weights[0], [1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(weights[1], [1, 1, 0, 0, 0, 0, 0, 0])
    assert cut == 0


def test_a_word_without_pieces_becomes_unknown_and_keeps_its_label():
    tagger = tiny_tagger(sequence_length=8)
    inputs, _, weights, _ = tagger.encode_words([["the", " ", "cat"]])
    np.testing.assert_array_equal(
        inputs["token_ids"][0, :5],
        [ID["[CLS]"], ID["the"], ID["[UNK]"], ID["cat"], ID["[SEP]"]],
    )
    assert weights[0].sum() == 3


def test_training_cuts_long_sentences_and_counts_the_cut_words():
    tagger = tiny_tagger(sequence_length=6)  # four pieces between specials
    sentences = [["the", "cats", "sat", "on", "the", "mat"], ["we", "ran"]]
    tags = [["DET", "NOUN", "VERB", "ADP", "DET", "NOUN"], ["PRON", "VERB"]]
    inputs, labels, weights, cut = tagger.encode_words(sentences, tags)
    # the + cat ##s + sat fill the four places; on, the, mat are cut.
    assert cut == 3
    np.testing.assert_array_equal(weights[0], [1, 1, 1, 0])


def test_fit_says_how_many_words_it_cut_and_nothing_else(trained):
    sentences = trained.fit_sentences
    *_, cut = trained.encode_words(sentences)
    total = sum(len(s) for s in sentences)
    assert cut > 0
    # One warning, the cut words; not Keras's on the unused pooler.
    assert trained.fit_warnings == [
        f"{cut} of {total} words were cut: their sentences are longer "
        "than sequence_length=16 pieces. They take no part in training; "
        "raise sequence_length to keep them (prediction and evaluation "
        "take every word)."
    ]


@pytest.mark.parametrize("seed", range(4))
def test_windows_cover_every_word_within_the_budget(seed):
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 4, size=int(rng.integers(1, 40))).tolist()
    budget = int(rng.integers(3, 9))
    windows, owner = wp.word_windows(counts, budget)
    assert windows[0][0] == 0 and windows[-1][1] == len(counts)
    for (a, b), (c, d) in zip(windows, windows[1:], strict=False):
        assert a < c <= b <= d  # moving forward, overlapping or touching
    for a, b in windows:
        assert sum(counts[a:b]) <= budget or b - a == 1
    for word, index in enumerate(owner):
        a, b = windows[index]
        assert a <= word < b


def test_tagger_learns_tags_that_need_context(trained):
    sentences, tags = made_up_sentences(60, seed=1)
    predicted = trained.tag(sentences)
    gold = np.concatenate(tags)
    accuracy = np.mean(np.concatenate(predicted) == gold)
    assert accuracy >= 0.95, accuracy
    # The ambiguous words are right in both readings.
    ambiguous = [
        (g, p)
        for s, t, q in zip(sentences, tags, predicted, strict=True)
        for w, g, p in zip(s, t, q, strict=True)
        if w in ("run", "walk")
    ]
    assert {g for g, _ in ambiguous} == {"NOUN", "VERB"}
    assert np.mean([g == p for g, p in ambiguous]) >= 0.9


def test_word_logits_are_the_first_pieces_logits(trained):
    sentences = [["the", "cats", "running"], ["we", "walk", "on", "a", "mat"]]
    got = trained.predict(sentences, verbose=0)
    inputs, _, _, _ = trained.encode_words(sentences)
    pieces = heads.piece_logits_model(trained).predict(
        {k: v for k, v in inputs.items() if k != "word_starts"}, verbose=0
    )  # (N, T, C)
    for row, sentence in enumerate(sentences):
        starts = inputs["word_starts"][row, : len(sentence)]
        np.testing.assert_allclose(got[row], pieces[row, starts], atol=1e-5)
    assert [g.shape for g in got] == [(3, 5), (5, 5)]


def test_mean_aggregation_averages_the_pieces_probabilities(trained):
    sentence = ["the", "cats", "running"]
    inputs, _, _, _ = trained.encode_words([sentence])
    logits = heads.piece_logits_model(trained).predict(
        {k: v for k, v in inputs.items() if k != "word_starts"}, verbose=0
    )[0].astype("float64")
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    # [CLS] the cat ##s run ##ning [SEP]: spans written by hand.
    want = np.stack([p[1], p[2:4].mean(0), p[4:6].mean(0)])
    got = trained.word_probabilities([sentence], aggregation="mean")[0]
    np.testing.assert_allclose(got, want, atol=1e-6)
    first = trained.word_probabilities([sentence])[0]
    np.testing.assert_allclose(first, p[[1, 2, 4]], atol=1e-6)


def test_long_sentences_take_each_word_from_a_window_of_its_own(trained):
    # 14 words in rows of 16 - 2 = 14 pieces (cats, running take two).
    sentence = "the cats sat on the mat they walk we run a dog ran running"
    sentence = sentence.split()
    got = trained.predict([sentence], verbose=0)[0]
    assert got.shape == (14, 5)
    counts = [2 if w in ("cats", "running") else 1 for w in sentence]
    windows, owner = wp.word_windows(counts, 14)
    assert len(windows) > 1
    for word, index in enumerate(owner):
        a, b = windows[index]
        alone = trained.predict([sentence[a:b]], verbose=0)[0]
        np.testing.assert_allclose(got[word], alone[word - a], atol=1e-5)


def test_evaluate_scores_every_word(trained):
    sentences, tags = made_up_sentences(20, seed=2)
    sentences.append(("the cat sat on the mat " * 4).split())
    tags.append("DET NOUN VERB ADP DET NOUN".split() * 4)
    result = trained.evaluate(sentences, tags, return_dict=True)
    predicted = np.concatenate(trained.tag(sentences))
    assert result["accuracy"] == pytest.approx(
        np.mean(predicted == np.concatenate(tags))
    )
    probabilities = np.concatenate(trained.word_probabilities(sentences))
    gold = [TAGS.index(t) for t in np.concatenate(tags)]
    want = -np.mean(np.log(probabilities[np.arange(len(gold)), gold]))
    assert result["loss"] == pytest.approx(want, rel=1e-6)


def test_padding_words_take_no_part_in_the_loss(trained):
    sentences, tags = made_up_sentences(8, seed=3)
    inputs, labels, weights, _ = trained.encode_words(sentences, tags)
    logits = keras.Model.predict(trained, inputs, verbose=0).astype("float64")
    log_p = logits - logits.max(-1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p, labels[..., None], -1)[..., 0]
    want = -(picked * weights).sum() / weights.sum()
    noisy = np.where(weights > 0, labels, 4)  # other labels on padding
    for y in (labels, noisy):
        got = keras.Model.evaluate(
            trained, inputs, y, sample_weight=weights, verbose=0,
            return_dict=True,
        )
        assert got["loss"] == pytest.approx(want, rel=1e-4)
        real = weights > 0
        assert got["accuracy"] == pytest.approx(
            np.mean(logits.argmax(-1)[real] == labels[real]), abs=1e-6
        )


def test_saves_in_one_file_and_loads_from_a_run_folder(trained, tmp_path):
    sentences, _ = made_up_sentences(6, seed=4)
    want = trained.predict(sentences, verbose=0)
    trained.save(tmp_path / "tagger.keras")
    loaded = keras.saving.load_model(tmp_path / "tagger.keras")
    assert isinstance(loaded, models.TokenClassifier)
    assert loaded.class_names == TAGS
    for a, b in zip(loaded.predict(sentences, verbose=0), want, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)
    # A run folder: the functional network, vocabulary, tags, task.json.
    run = tmp_path / "run"
    run.mkdir()
    network = keras.Model(trained.input, trained.output, name="tagger")
    network.save(run / "model.keras")
    (run / "vocab.txt").write_text("\n".join(TOKENS) + "\n")
    (run / "classes.json").write_text(json.dumps(TAGS))
    write_task_file(run, "token_classifier", sequence_length=16)
    task = models.load_task(run)
    assert isinstance(task, models.TokenClassifier)
    assert task.tag(sentences) == trained.tag(sentences)


@pytest.mark.parametrize(
    "sentences, tags, error, message",
    [
        ([["the", "cat"], []], None, ValueError, r"\[1\]` is an empty"),
        (["the cat sat"], None, TypeError, "Split the sentence into words"),
        ([["the", 3]], None, TypeError, "expected words as str"),
        ([["the", "cat"]], [["DET"]], ValueError, "2 words and 1 tags"),
        ([["the", "cat"]], [["DET", "NOUN"], []], ValueError, "one list"),
        ([["the", "cat"]], [["DET", "NN"]], ValueError, r"\['NN'\] are not"),
        ([["the", "cat"]], [["DET", 7]], ValueError, r"\['7'\] are not"),
    ],
)
def test_bad_input_gets_one_clear_error(
    trained, sentences, tags, error, message
):
    with pytest.raises(error, match=message):
        if tags is None:
            trained.tag(sentences)
        else:
            trained.evaluate(sentences, tags)


def test_bad_settings_are_refused(trained):
    with pytest.raises(ValueError, match="`aggregation` must be one of"):
        trained.tag([["the"]], aggregation="max")
    with pytest.raises(ValueError, match="`sequence_length` must be an int"):
        models.TokenClassifier.from_preset(
            "bert_tiny", vocabulary=TOKENS, sequence_length=2, num_classes=2
        )
    with pytest.raises(ValueError, match="`num_classes` must be an int >= 2"):
        models.bert_token_classifier(
            models.bert_backbone("bert_tiny", vocabulary_size=20), 1
        )
