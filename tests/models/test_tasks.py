"""Task models: backbone + preprocessor + head that fit and predict on
strings and pixels, save to one `.keras` file, and load from run folders.

The references are the functional models the tasks wrap (fed by keras-hub's
preprocessor, as the library did before tasks) and plain arithmetic on
made-up data; nothing is compared with the task's own earlier output.
"""

import json
import warnings

import keras
import numpy as np
import pytest

from keras_attn import models
from keras_attn.models._task import shuffled_batches
from keras_attn.models.tasks import write_task_file

TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + (
    "a the film movie was is fine good great dull bad awful very".split()
)
GOOD, BAD = ["fine", "good", "great"], ["dull", "bad", "awful"]


def reviews(count, seed):
    """`count` made-up reviews and their labels: one opinion word decides."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(count):
        label = int(rng.integers(2))
        word = rng.choice(GOOD if label else BAD)
        subject = rng.choice(["the film", "a movie", "the movie"])
        texts.append(f"{subject} was very {word}")
        labels.append(["neg", "pos"][label])
    return texts, labels


def tiny_text_classifier(**kwargs):
    keras.utils.set_random_seed(0)
    return models.TextClassifier.from_preset(
        "bert_tiny",
        vocabulary=TOKENS,
        sequence_length=12,
        class_names=["neg", "pos"],
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        **kwargs,
    )


def test_text_classifier_learns_from_strings_and_class_names():
    texts, labels = reviews(96, seed=0)
    held_texts, held_labels = reviews(40, seed=1)
    classifier = tiny_text_classifier()
    classifier.compile(optimizer=keras.optimizers.Adam(3e-3))
    classifier.fit(texts, labels, batch_size=16, epochs=6, seed=0, verbose=0)
    predicted = [top[0][0] for top in classifier.classify(held_texts)]
    accuracy = np.mean(np.array(predicted) == np.array(held_labels))
    assert accuracy >= 0.9, accuracy
    # evaluate takes names too, and agrees with classify's answers.
    _, metric = classifier.evaluate(held_texts, held_labels, verbose=0)
    assert metric == pytest.approx(accuracy)


def test_text_classifier_equals_its_functional_model_on_token_ids():
    classifier = tiny_text_classifier(pooling="mean")
    network = models.bert_text_classifier(
        classifier.backbone, 2, pooling="mean", name="reference"
    )
    network.get_layer("logits").set_weights(
        classifier.get_layer("logits").get_weights()
    )
    texts = ["the film was very good", "a movie", "awful awful awful film"]
    inputs = classifier.preprocessor(texts)  # keras-hub's packer
    expected = np.asarray(network.predict(inputs, verbose=0))
    np.testing.assert_allclose(
        classifier.predict(texts, verbose=0), expected, atol=1e-6
    )
    # Token ids (the functional models' inputs) pass the preprocessor.
    np.testing.assert_allclose(
        classifier.predict(inputs, verbose=0), expected, atol=1e-6
    )
    top = classifier.classify(texts, top_k=2)
    shifted = expected - expected.max(-1, keepdims=True)
    softmax = np.exp(shifted) / np.exp(shifted).sum(-1, keepdims=True)
    for row, probabilities in zip(top, softmax, strict=True):
        assert [name for name, _ in row] == [
            ["neg", "pos"][i] for i in np.argsort(-probabilities)
        ]
        assert [p for _, p in row] == pytest.approx(
            sorted(probabilities, reverse=True), abs=1e-6
        )


def test_text_classifier_saves_in_one_file(tmp_path):
    classifier = tiny_text_classifier()
    classifier.compile(optimizer=keras.optimizers.Adam(1e-3))
    texts, labels = reviews(16, seed=2)
    classifier.fit(texts, labels, batch_size=8, epochs=1, verbose=0)
    path = tmp_path / "classifier.keras"
    classifier.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Keras warned it skipped compile
        loaded = keras.saving.load_model(path)
    assert isinstance(loaded, models.TextClassifier)
    assert loaded.class_names == ["neg", "pos"]
    assert loaded.preprocessor.sequence_length == 12
    assert loaded.preprocessor.tokenizer.get_vocabulary() == TOKENS
    np.testing.assert_array_equal(
        loaded.predict(texts, verbose=0), classifier.predict(texts, verbose=0)
    )
    assert float(loaded.optimizer.learning_rate) == pytest.approx(1e-3)
    assert models.load_task(path).class_names == ["neg", "pos"]


def test_labels_outside_the_classes_are_refused_by_name():
    classifier = tiny_text_classifier()
    with pytest.raises(ValueError, match=r"\['meh'\] are not among"):
        classifier.fit(["a film", "the film"], ["pos", "meh"], verbose=0)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"num_classes": 3, "class_names": ["a", "b"]}, "holds 2 names"),
        ({"class_names": ["a", "a"]}, "repeats a name"),
        ({"class_names": "ab"}, "list of str"),
        ({}, "Give `num_classes`"),
    ],
)
def test_bad_classes_are_refused(arguments, message):
    backbone = models.bert_backbone("bert_tiny", vocabulary_size=20)
    with pytest.raises((ValueError, TypeError), match=message):
        models.TextClassifier(backbone, **arguments)


def test_from_preset_refuses_an_unknown_preset_and_a_missing_vocabulary():
    with pytest.raises(ValueError, match="needs a `vocabulary`"):
        models.TextClassifier.from_preset("bert_tiny", num_classes=2)
    with pytest.raises(ValueError, match="local Hugging Face BERT folder"):
        models.TextClassifier.from_preset("bert_giant", num_classes=2)


def test_fit_reshuffles_arrays_every_epoch():
    # keras-hub 0.32 batches lists in order; the tasks shuffle them.
    batches = shuffled_batches(np.arange(64), np.arange(64), None, 64, seed=0)
    first, second = (next(iter(batches))[0].numpy() for _ in range(2))
    assert sorted(first) == sorted(second) == list(range(64))
    assert list(first) != list(range(64))
    assert list(first) != list(second)


def test_sentence_embedder_equals_the_functional_embedder():
    keras.utils.set_random_seed(0)
    embedder = models.SentenceEmbedder.from_preset(
        "bert_tiny", vocabulary=TOKENS, sequence_length=10
    )
    reference = models.bert_sentence_embedder(embedder.backbone)
    texts = ["a good film", "the movie was awful"]
    expected = reference.predict(embedder.preprocessor(texts), verbose=0)
    vectors = embedder.predict(texts, verbose=0)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=-1), 1, atol=1e-5)


def digit_pixels(count=40):
    """Made-up 8x8 grey images, 0..255: class 1 is bright on the left."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, count)
    pixels = rng.integers(0, 80, (count, 8, 8, 1))
    pixels[labels == 1, :, :4] += 170
    return pixels.astype("uint8"), labels


def test_image_classifier_scales_pixels_as_the_functional_model_expects():
    keras.utils.set_random_seed(0)
    classifier = models.ImageClassifier.from_preset(
        "vit_digits", class_names=["dark", "left"]
    )
    network = models.vit_classifier(2, "vit_digits")
    network.set_weights(classifier.get_weights())  # same layers, same order
    pixels, _ = digit_pixels(6)
    expected = network.predict(pixels.astype("float32") / 255, verbose=0)
    np.testing.assert_allclose(
        classifier.predict(pixels, verbose=0), expected, atol=1e-5
    )


def test_image_classifier_learns_from_pixels_and_saves(tmp_path):
    keras.utils.set_random_seed(0)
    classifier = models.ImageClassifier.from_preset(
        "vit_digits", class_names=["dark", "left"], num_layers=1
    )
    classifier.compile(optimizer=keras.optimizers.Adam(3e-3))
    pixels, labels = digit_pixels(64)
    names = np.array(["dark", "left"])[labels]
    classifier.fit(pixels, names, batch_size=16, epochs=8, verbose=0)
    held, held_labels = digit_pixels(64)  # same seed: check it fits
    predicted = np.argmax(classifier.predict(held, verbose=0), -1)
    assert np.mean(predicted == held_labels) >= 0.9
    classifier.save(tmp_path / "vit.keras")
    loaded = models.load_task(tmp_path / "vit.keras")
    assert isinstance(loaded, models.ImageClassifier)
    assert loaded.preprocessor.image_converter.image_size == (8, 8)
    np.testing.assert_array_equal(
        loaded.predict(held, verbose=0), classifier.predict(held, verbose=0)
    )


def test_a_run_folder_loads_as_a_task_sharing_the_functional_weights(
    tmp_path,
):
    # What `keras-attn train text-classifier` writes, by hand.
    keras.utils.set_random_seed(1)
    network = models.bert_text_classifier(
        models.bert_backbone(
            "bert_tiny", vocabulary_size=len(TOKENS), max_sequence_length=12
        ),
        2,
        pooling="mean",
    )
    network.save(tmp_path / "model.keras")
    (tmp_path / "vocab.txt").write_text("\n".join(TOKENS) + "\n")
    (tmp_path / "classes.json").write_text(json.dumps(["neg", "pos"]))
    write_task_file(tmp_path, "text_classifier", sequence_length=12)
    task = models.load_task(tmp_path)
    assert isinstance(task, models.TextClassifier)
    assert task.pooling == "mean"
    texts = ["the film was great", "a dull movie"]
    preprocessor = models.load_bert_preprocessor(tmp_path, 12)
    np.testing.assert_allclose(
        task.predict(texts, verbose=0),
        network.predict(preprocessor(texts), verbose=0),
        atol=1e-6,
    )


def test_folders_that_are_not_runs_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a run folder"):
        models.load_task(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        models.load_task(tmp_path / "missing")
    network = models.vit_classifier(3, "vit_digits")
    network.save(tmp_path / "plain.keras")
    with pytest.raises(ValueError, match="not a task"):
        models.load_task(tmp_path / "plain.keras")
    (tmp_path / "task.json").write_text('{"format": 1, "task": "poem"}')
    with pytest.raises(ValueError, match="task 'poem'"):
        models.load_task(tmp_path)


def test_translator_fits_and_predicts_on_sentences():
    from tiny_models import translator

    model = translator(max_target_length=16)
    # The pairs tiny_models' tokenizer was trained on.
    pairs = [("one two three", "un deux trois"), ("four five", "quatre cinq")]
    sources, targets = (list(side) for side in zip(*pairs * 16, strict=True))
    history = model.fit(sources, targets, batch_size=8, epochs=25, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 4
    assert model.predict(["one two three", "four five"]) == [
        "un deux trois",
        "quatre cinq",
    ]
    with pytest.raises(ValueError, match="one translation per source"):
        model.fit(sources, targets[:-1])


def test_masked_lm_learns_from_plain_strings_with_its_head_tied(tmp_path):
    keras.utils.set_random_seed(0)
    model = models.MaskedLM.from_preset(
        "bert_tiny",
        vocabulary=TOKENS,
        sequence_length=8,
        mask_selection_rate=0.3,
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
    )
    model.compile(optimizer=keras.optimizers.Adam(5e-3))
    texts = ["the film was very good", "a movie was bad"] * 32
    history = model.fit(texts, batch_size=16, epochs=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 2
    table = model.backbone.get_layer("embeddings").token_embedding.embeddings
    assert sum(w is table for w in model.trainable_weights) == 1
    # Its network is `bert_masked_lm`'s: same weights, same logits.
    reference = models.bert_masked_lm(model.backbone)
    reference.get_layer("masked_lm_head").set_weights(
        model.get_layer("masked_lm_head").get_weights()
    )
    ids = [TOKENS.index(word) for word in "the film was very good".split()]
    inputs = {
        "token_ids": np.array([[2, *ids, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 8), "int32"),
        "padding_mask": np.array([[1] * 7 + [0]], "int32"),
        "mask_positions": np.array([[3]], "int32"),
    }
    np.testing.assert_allclose(
        model.predict(inputs, verbose=0),
        reference.predict(inputs, verbose=0),
        atol=1e-6,
    )
    model.save(tmp_path / "mlm.keras")
    loaded = models.load_task(tmp_path / "mlm.keras")
    assert isinstance(loaded, models.MaskedLM)
    np.testing.assert_array_equal(
        loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0)
    )
