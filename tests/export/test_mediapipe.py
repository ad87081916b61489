"""Files of `to_mediapipe`, run by MediaPipe Tasks as an app runs them.

MediaPipe 1.2 (`mediapipe.tasks.python`) loads each file as it is, is
given strings and images, and must reproduce the Keras model: float32
scores within 1e-5, embeddings at cosine >= 0.9999. Keras is fed the
token ids of `mediapipe_pieces` below, our re-implementation of
MediaPipe's BERT tokenizer rules, so that the comparison is of the files,
not of two tokenizers; the test that the comparison can fail (different
pieces move the outputs by far more than the bar) keeps it honest.

The accent case is reported as it is: for an uncased checkpoint that
strips accents, MediaPipe on "naïve café" differs from Keras on the
checkpoint's own tokenization (keras-hub's, as `load_bert_preprocessor`
builds it), and equals it once the app passes `mediapipe_text(text)`.

Weights are random but spread (kernels N(0, 1/fan_in), embeddings
N(0, 1)) so that every token moves the outputs; BERT's 0.02 start gives
nearly constant ones.
"""

import json
import re
import unicodedata
import warnings

import keras
import numpy as np
import pytest
from tiny_models import spread

from keras_attn import models
from keras_attn.export import LiteRTRunner
from keras_attn.export import inspect_tflite
from keras_attn.export import mediapipe_text
from keras_attn.export import to_mediapipe
from keras_attn.export import verify_tflite
from keras_attn.export.metadata import model_io
from keras_attn.export.report import format_inspection

LENGTH = 16
VOCAB = (
    "[PAD] [UNK] [CLS] [SEP] [MASK] the a an cat dog mat sat on in is was "
    "it so not fun good bad movie love i this un ##believ ##able ##s ##ing "
    "play run cafe naive sao paulo hello world x ray don t . , ! ? - ' "
    "猫 我 爱 好 き す ##き が 東 京 straße ##ß stra ##sse fine"
).split()
LABELS = ["negative", "neutral", "positive"]

# Strings nobody chose to be easy: case, accents (precomposed, combining,
# upper case), CJK with kana, emoji, punctuation, a no-break space, empty
# and blank text, and text far longer than the sequence.
TEXTS = [
    "The cat sat on the mat.",
    "UNBELIEVABLE fun, so GOOD!!",
    "naïve café in São Paulo",
    "CAFÉ",
    "Cafe\u0301 is good",
    "我爱猫 猫が好き すき 東京",
    "I 😀 love this movie🐱",
    "x-ray? don't",
    "hello\u00a0world",
    "Straße fine",
    "",
    "  \t\n ",
    " ".join(["the dog is playing in the mat and it was fun"] * 6),
]
ACCENTED = ["naïve café in São Paulo", "CAFÉ", "Cafe\u0301 is good"]


# -- MediaPipe's BERT tokenizer, as a reference -------------------------------

_CJK = [
    (0x4E00, 0x9FFF),
    (0x3400, 0x4DBF),
    (0x20000, 0x2A6DF),
    (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F),
    (0x2B820, 0x2CEAF),
    (0xF900, 0xFAFF),
    (0x2F800, 0x2FA1F),
]


def _kept_alone(char):
    """ASCII punctuation, Unicode punctuation and CJK ideographs are
    words of their own (MediaPipe's keep-delimiter regex)."""
    code = ord(char)
    ascii_punctuation = char.isascii() and not char.isalnum() and code > 32
    return (
        (ascii_punctuation and code != 127)
        or unicodedata.category(char).startswith("P")
        or any(low <= code <= high for low, high in _CJK)
    )


def mediapipe_pieces(text, vocab=VOCAB, length=LENGTH):
    """The pieces MediaPipe 1.2 feeds for `text`: ASCII-only lowercase,
    split on ASCII whitespace ([ \\t\\n\\f\\r], RE2's \\s), punctuation and
    CJK; greedy longest-match WordPiece with ##, a word that fails (or
    is over 100 bytes) is one [UNK]; [CLS], the first length - 2, [SEP].
    """
    text = "".join(c.lower() if c.isascii() else c for c in text)
    words, word = [], ""
    for char in text:
        if char in " \t\n\f\r" or _kept_alone(char):
            words.append(word)
            word = ""
            if char not in " \t\n\f\r":
                words.append(char)
        else:
            word += char
    words.append(word)
    ids = set(vocab)
    pieces = []
    for word in filter(None, words):
        found, start = [], 0
        while start < len(word) and len(word.encode()) <= 100:
            for end in range(len(word), start, -1):
                piece = (
                    word[start:end] if start == 0 else "##" + word[start:end]
                )
                if piece in ids:
                    found.append(piece)
                    start = end
                    break
            else:
                break
        pieces.extend(found if start == len(word) else ["[UNK]"])
    return ["[CLS]", *pieces[: length - 2], "[SEP]"]


def bert_inputs(pieces, vocab=VOCAB, length=LENGTH):
    ids = np.zeros((1, length), "int32")
    ids[0, : len(pieces)] = [vocab.index(piece) for piece in pieces]
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype("int32"),
    }


def test_the_reference_tokenizer_follows_mediapipe_rules():
    assert mediapipe_pieces("UNBELIEVABLE fun, so GOOD!!") == [
        "[CLS]", "un", "##believ", "##able", "fun", ",", "so", "good",
        "!", "!", "[SEP]",
    ]  # fmt: skip
    # Accents stay (so "café" is no word), non-ASCII capitals stay.
    assert mediapipe_pieces("café CAFÉ cafe") == [
        "[CLS]", "[UNK]", "[UNK]", "cafe", "[SEP]",
    ]  # fmt: skip
    # Ideographs stand alone; kana join words (so ## pieces).
    assert mediapipe_pieces("猫が好き すき") == [
        "[CLS]", "猫", "が", "好", "き", "す", "##き", "[SEP]",
    ]  # fmt: skip
    assert mediapipe_pieces("hello\u00a0world cats🐱") == [
        "[CLS]", "[UNK]", "[UNK]", "[SEP]",
    ]  # fmt: skip
    assert len(mediapipe_pieces(TEXTS[-1])) == LENGTH


# -- Models and files ---------------------------------------------------------


@pytest.fixture(scope="module")
def mp():
    """MediaPipe's Python Tasks API (imports TensorFlow: slow)."""
    import mediapipe
    from mediapipe.tasks.python import text
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    return mediapipe, text, vision, BaseOptions


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An uncased checkpoint folder: vocab.txt and tokenizer_config.json
    (transformers: do_lower_case, so accents are stripped)."""
    folder = tmp_path_factory.mktemp("checkpoint")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", "utf-8")
    config = {"do_lower_case": True, "tokenizer_class": "BertTokenizer"}
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    keras.utils.set_random_seed(3)
    backbone = models.bert_backbone(
        vocabulary_size=len(VOCAB),
        num_layers=1,
        hidden_dim=32,
        num_heads=2,
        intermediate_dim=64,
        max_sequence_length=32,
        dropout=0.0,
    )
    classifier = models.bert_text_classifier(backbone, 3, dropout=0.0)
    return spread(classifier, seed=4), backbone


@pytest.fixture(scope="module")
def text_files(bert, checkpoint, tmp_path_factory):
    """`{kind: (path, report)}` for the logits and probabilities
    classifiers and the embedder of one backbone."""
    classifier, backbone = bert
    folder = tmp_path_factory.mktemp("text")
    labels = folder / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    made = {}
    for kind, model, task, options in (
        ("logits", classifier, "text_classifier", {"labels": labels}),
        (
            "probabilities",
            classifier,
            "text_classifier",
            {"labels": LABELS, "probabilities": True},
        ),
        ("embedder", backbone, "text_embedder", {}),
    ):
        path = folder / f"{kind}.tflite"
        with pytest.warns(UserWarning, match="strips accents"):
            report = to_mediapipe(
                model,
                path,
                task,
                vocabulary=checkpoint,
                sequence_length=LENGTH,
                measure_latency=False,
                **options,
            )
        made[kind] = (path, report)
    return made


def classify(mp, path, texts):
    """`{text: scores in label order}` from MediaPipe's TextClassifier."""
    _, text, _, BaseOptions = mp
    options = text.TextClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path))
    )
    found = {}
    with text.TextClassifier.create_from_options(options) as classifier:
        for string in texts:
            (head,) = classifier.classify(string).classifications
            assert head.head_name == "score"
            scores = np.full(len(LABELS), np.nan)
            for category in head.categories:
                assert category.category_name == LABELS[category.index]
                scores[category.index] = category.score
            found[string] = scores
    return found


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def pairs(items):
    return [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]


def keras_scores(model, pieces):
    return np.asarray(model(bert_inputs(pieces)), "float64")[0]


# -- Text ---------------------------------------------------------------------


def test_text_classifier_logits_equal_keras(mp, bert, text_files):
    classifier, _ = bert
    path, report = text_files["logits"]
    got = classify(mp, path, TEXTS)
    expected = {t: keras_scores(classifier, mediapipe_pieces(t)) for t in TEXTS}
    worst = max(np.max(np.abs(got[t] - expected[t])) for t in TEXTS)
    assert worst <= 1e-5, worst
    # The bar can fail: texts whose pieces differ differ by far more.
    pieces = {tuple(mediapipe_pieces(t)): expected[t] for t in TEXTS}
    gaps = [np.max(np.abs(a - b)) for a, b in pairs(list(pieces.values()))]
    assert len(pieces) >= 10 and min(gaps) > 1e-3, min(gaps)
    assert report.mediapipe["scores"] == "logits"
    assert report.mediapipe["labels"] == LABELS


def test_text_classifier_probabilities_are_softmax_of_keras(
    mp, bert, text_files
):
    classifier, _ = bert
    path, report = text_files["probabilities"]
    got = classify(mp, path, TEXTS)
    worst = 0.0
    for text in TEXTS:
        logits = keras_scores(classifier, mediapipe_pieces(text))
        expected = np.exp(logits - logits.max())
        expected /= expected.sum()
        worst = max(worst, np.max(np.abs(got[text] - expected)))
        assert got[text].sum() == pytest.approx(1.0, abs=1e-5)
    assert worst <= 1e-5, worst
    assert report.mediapipe["scores"] == "probabilities"
    assert "softmax" in report.mediapipe["in_graph"]


def test_text_embedder_is_the_sentence_embedding(mp, bert, text_files):
    _, text, _, BaseOptions = mp
    _, backbone = bert
    sentence = models.bert_sentence_embedder(backbone)
    path, report = text_files["embedder"]
    options = text.TextEmbedderOptions(
        base_options=BaseOptions(model_asset_path=str(path))
    )
    cosines, expected_all = [], {}
    with text.TextEmbedder.create_from_options(options) as embedder:
        for string in TEXTS:
            (result,) = embedder.embed(string).embeddings
            got = np.asarray(result.embedding, "float64")
            inputs = bert_inputs(mediapipe_pieces(string))
            expected = np.asarray(sentence(inputs), "float64")[0]
            cosines.append(cosine(got, expected))
            expected_all[tuple(mediapipe_pieces(string))] = expected
            assert result.head_name == "embedding" and got.shape == (32,)
    assert min(cosines) >= 0.9999, cosines
    # The bar can fail: texts of different pieces are far below it.
    different = pairs(list(expected_all.values()))
    assert max(cosine(a, b) for a, b in different) < 0.999
    assert report.mediapipe["task"] == "text_embedder"
    assert report.mediapipe["in_graph"] == [
        "sentence embedding: masked mean, L2 norm"
    ]


def test_accents_differ_unless_the_app_normalizes(
    mp, bert, checkpoint, text_files
):
    """MediaPipe against the checkpoint's own tokenizer (keras-hub's, as
    `load_bert_preprocessor` builds it: uncased, accents stripped): the
    accented texts differ as they are, and agree after `mediapipe_text`.

    Except where keras-hub and transformers (the checkpoint's training
    tokenizer) disagree with each other: keras-hub folds case with
    NFKC_Casefold ("Straße" -> "strasse"), transformers with
    `str.lower()` ("straße"), as `mediapipe_text` does.
    """
    classifier, _ = bert
    preprocessor = models.load_bert_preprocessor(checkpoint, LENGTH)
    path, _ = text_files["logits"]
    normalized = [mediapipe_text(t) for t in TEXTS]
    got = classify(mp, path, TEXTS + normalized)
    for text, clean in zip(TEXTS, normalized, strict=True):
        features = preprocessor([text])
        inputs = {k: np.asarray(v, "int32") for k, v in features.items()}
        expected = np.asarray(classifier(inputs), "float64")[0]
        as_is = np.max(np.abs(got[text] - expected))
        after = np.max(np.abs(got[clean] - expected))
        if text in ACCENTED:
            assert as_is > 1e-2, (text, as_is)
        if text == "Straße fine":
            assert after > 1e-2, after  # keras-hub's "stra ##sse"
            assert mediapipe_pieces(clean)[1] == "straße"  # transformers'
        else:
            assert after <= 1e-5, (text, clean, after)


def test_the_files_are_whole_and_say_what_they_hold(bert, text_files):
    classifier, _ = bert
    path, report = text_files["logits"]
    assert verify_tflite(path) == "checksum"  # the footer came last
    # LiteRT runs the same file (metadata and zip included) as Keras.
    inputs = bert_inputs(mediapipe_pieces("the cat sat"))
    (got,) = LiteRTRunner(path)(inputs).values()
    expected = np.asarray(classifier(inputs))
    assert np.max(np.abs(got - expected)) <= 1e-5
    info = inspect_tflite(path)
    assert info["metadata"]["task"] == "text_classifier"
    assert info["metadata"]["labels"] == LABELS
    assert info["metadata"]["tokenizer"]["vocab_size"] == len(VOCAB)
    # MediaPipe matches metadata entry i to the file's input i.
    order = [name for name, _, _ in model_io(path.read_bytes())[0]]
    roles = {"token_ids": "ids", "padding_mask": "mask"}
    expected_names = [roles.get(name, name) for name in order]
    assert info["metadata"]["inputs"] == expected_names
    assert sorted(expected_names) == ["ids", "mask", "segment_ids"]
    assert report.size_bytes == path.stat().st_size
    text = format_inspection(info)
    assert "metadata: MediaPipe text_classifier" in text
    assert "negative, neutral, positive" in text
    assert "mediapipe      text_classifier" in str(report)


def test_a_task_gives_the_length_vocabulary_and_labels(mp, bert, tmp_path):
    """A classifier holding a keras-hub preprocessor of 12 tokens and
    class names, as keras-hub's and keras_attn's tasks do, exports with
    no `sequence_length`, `vocabulary` or `labels`: at 12, with its
    tokenizer's vocabulary and its names, and MediaPipe runs it. The
    accent warning comes once, and the printed report does not repeat
    it."""
    import keras_hub

    classifier, _ = bert
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=VOCAB, lowercase=True, strip_accents=True
    )
    task = keras.Model(classifier.input, classifier.output)
    task.preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=12
    )
    task.class_names = LABELS
    path = tmp_path / "task.tflite"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = to_mediapipe(
            task, path, "text_classifier", measure_latency=False
        )
    accents = [w for w in caught if "strips accents" in str(w.message)]
    assert len(accents) == 1
    assert not [w for w in caught if "sequence length" in str(w.message)]
    assert "strips accents" not in str(report)
    assert report.mediapipe["warnings"] == [str(accents[0].message)]
    assert report.mediapipe["tokenizer"]["sequence_length"] == 12
    assert report.mediapipe["labels"] == LABELS
    inputs, _ = model_io(path.read_bytes())
    assert {name: shape for name, shape, _ in inputs} == {
        "token_ids": [1, 12],
        "segment_ids": [1, 12],
        "padding_mask": [1, 12],
    }
    info = inspect_tflite(path)["metadata"]
    assert info["labels"] == LABELS
    assert info["tokenizer"]["vocab_size"] == len(VOCAB)
    # MediaPipe tokenizes with the packed vocabulary, 12 pieces a call.
    texts = TEXTS[:2] + TEXTS[-1:]
    got = classify(mp, path, texts)
    for text in texts:
        pieces = mediapipe_pieces(text, length=12)
        inputs = bert_inputs(pieces, length=12)
        expected = np.asarray(classifier(inputs), "float64")[0]
        assert np.max(np.abs(got[text] - expected)) <= 1e-5, text

    # Another length than the trained one is said once; one above the
    # position table (32) is refused before anything is traced.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = to_mediapipe(
            task, path, "text_classifier", sequence_length=16,
            measure_latency=False, num_samples=1,
        )  # fmt: skip
    (note,) = [w for w in caught if "sequence length" in str(w.message)]
    assert "sequence length 16" in str(note.message)
    assert "trained at 12" in str(note.message)
    assert str(note.message) in report.mediapipe["warnings"]
    assert report.mediapipe["tokenizer"]["sequence_length"] == 16
    with pytest.raises(ValueError, match="holds 32 positions.*received 64"):
        to_mediapipe(task, tmp_path / "long.tflite", "text_classifier",
                     sequence_length=64)  # fmt: skip
    assert not (tmp_path / "long.tflite").exists()


# -- Images -------------------------------------------------------------------


def pictures(size, seed=0):
    """Noise (twice), black, white and a colour gradient, uint8 RGB."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype="float32")
    gradient = np.stack(
        np.broadcast_arrays(ramp[:, None], ramp[None, :], 255 - ramp[:, None]),
        axis=-1,
    )
    return [
        rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        rng.integers(0, 256, (size, size, 3), dtype=np.uint8),
        np.zeros((size, size, 3), np.uint8),
        np.full((size, size, 3), 255, np.uint8),
        gradient.astype(np.uint8),
    ]


def run_vision(mp, kind, path, images):
    """MediaPipe's vision task `kind` on each uint8 RGB image."""
    mediapipe, _, vision, BaseOptions = mp
    task = getattr(vision, kind)
    options = getattr(vision, f"{kind}Options")(
        base_options=BaseOptions(model_asset_path=str(path))
    )
    results = []
    with task.create_from_options(options) as runner:
        for image in images:
            picture = mediapipe.Image(
                image_format=mediapipe.ImageFormat.SRGB,
                data=np.ascontiguousarray(image),
            )
            if kind == "ImageEmbedder":
                (found,) = runner.embed(picture).embeddings
                results.append(np.asarray(found.embedding, "float64"))
                continue
            (head,) = runner.classify(picture).classifications
            scores = np.full(len(head.categories), np.nan)
            for category in head.categories:
                scores[category.index] = category.score
            results.append(scores)
    return results


def test_image_classifier_probabilities_equal_keras(mp, tmp_path):
    keras.utils.set_random_seed(5)
    model = models.vit_classifier(
        4, image_size=16, patch_size=4, num_layers=1, hidden_dim=32,
        num_heads=2, intermediate_dim=64,
    )  # fmt: skip
    spread(model, seed=6)
    path = tmp_path / "vit.tflite"
    labels = ["red", "green", "blue", "grey"]
    report = to_mediapipe(
        model, path, "image_classifier", labels=labels,
        normalization=(127.5, 127.5), probabilities=True,
        measure_latency=False,
    )  # fmt: skip
    images = pictures(16)
    # A 32x32 picture of 2x2 blocks: any resize of MediaPipe's (nearest,
    # bilinear, area) gives back the 16x16 one exactly.
    images.append(np.repeat(np.repeat(images[0], 2, axis=0), 2, axis=1))
    got = run_vision(mp, "ImageClassifier", path, images)
    expected_all = []
    for image, scores in zip(images[:-1] + images[:1], got, strict=True):
        x = (image.astype("float32") - 127.5) / 127.5
        logits = np.asarray(model(x[None]), "float64")[0]
        expected = np.exp(logits - logits.max())
        expected /= expected.sum()
        expected_all.append(expected)
        assert np.max(np.abs(scores - expected)) <= 1e-5, (scores, expected)
    assert np.ptp(np.array(expected_all), axis=0).max() > 1e-2  # they move
    assert report.mediapipe["normalization"] == {
        "mean": [127.5],
        "std": [127.5],
    }
    assert inspect_tflite(path)["metadata"]["labels"] == labels


def test_grey_model_takes_rgb_through_luma(mp, tmp_path):
    keras.utils.set_random_seed(7)
    model = spread(models.vit_classifier(10, "vit_digits", num_layers=1), 8)
    assert model.input.shape[-1] == 1
    path = tmp_path / "digits.tflite"
    report = to_mediapipe(
        model, path, "image_classifier", labels=[str(d) for d in range(10)],
        normalization=(0, 255 / 16), grayscale="luma", measure_latency=False,
    )  # fmt: skip
    images = pictures(8, seed=1)
    got = run_vision(mp, "ImageClassifier", path, images)
    luma = np.array([0.299, 0.587, 0.114])
    expected_all = []
    for image, scores in zip(images, got, strict=True):
        grey = image.astype("float64") @ luma / (255 / 16)  # 0..16 digits
        logits = np.asarray(model(grey[None, ..., None].astype("float32")))
        assert np.max(np.abs(scores - logits[0])) <= 1e-5
        expected_all.append(logits[0])
    assert min(np.max(np.abs(a - b)) for a, b in pairs(expected_all)) > 1e-2
    assert report.mediapipe["in_graph"] == ["RGB to grey (luma)"]


def test_an_image_task_gives_its_normalization(tmp_path):
    import keras_hub

    model = models.vit_classifier(3, image_size=8, patch_size=4,
                                  num_layers=1, hidden_dim=16, num_heads=2,
                                  intermediate_dim=32)  # fmt: skip
    converter = keras_hub.layers.ImageConverter(
        image_size=(8, 8), scale=1 / 127.5, offset=-1.0
    )
    model.preprocessor = keras_hub.models.ImageClassifierPreprocessor(
        image_converter=converter
    )
    model.class_names = ["red", "green", "blue"]
    path = tmp_path / "task.tflite"
    report = to_mediapipe(
        model, path, "image_classifier", measure_latency=False, num_samples=1
    )
    assert report.mediapipe["normalization"] == {
        "mean": [127.5],
        "std": [127.5],
    }
    assert inspect_tflite(path)["metadata"]["labels"] == model.class_names


def test_image_embedder_of_a_vit_backbone_with_per_channel_means(mp, tmp_path):
    keras.utils.set_random_seed(9)
    backbone = models.vit_backbone(
        image_size=16, patch_size=4, num_layers=1, hidden_dim=32,
        num_heads=2, intermediate_dim=64,
    )  # fmt: skip
    spread(backbone, seed=10)
    mean, std = [123.7, 116.3, 103.5], [58.4, 57.1, 57.4]  # ImageNet's
    path = tmp_path / "embedder.tflite"
    report = to_mediapipe(
        backbone, path, "image_embedder", normalization=(mean, std),
        measure_latency=False,
    )  # fmt: skip
    images = pictures(16, seed=2)
    got = run_vision(mp, "ImageEmbedder", path, images)
    expected_all = []
    for image, embedding in zip(images, got, strict=True):
        x = (image.astype("float32") - mean) / std
        expected = np.asarray(backbone(x[None].astype("float32")))[0, 0]
        assert cosine(embedding, expected) >= 0.9999
        assert np.max(np.abs(embedding - expected)) <= 1e-4
        expected_all.append(expected)
    assert max(cosine(a, b) for a, b in pairs(expected_all)) < 0.999
    # One mean and std in the metadata; the per-channel ones in the file.
    assert report.mediapipe["normalization"] == {"mean": [0.0], "std": [1.0]}
    assert report.mediapipe["in_graph"][-1] == "class token"


# -- Refusals -----------------------------------------------------------------


def tiny_bert(vocabulary_size=None, **kwargs):
    backbone = models.bert_backbone(
        vocabulary_size=vocabulary_size or len(VOCAB), num_layers=1,
        hidden_dim=8, num_heads=1, intermediate_dim=8, max_sequence_length=32,
    )  # fmt: skip
    return models.bert_text_classifier(backbone, 3, **kwargs)


def test_refusals_say_what_was_expected_and_received(checkpoint, tmp_path):
    model = tiny_bert()
    path = tmp_path / "x.tflite"

    def refused(match, model=model, task="text_classifier", **options):
        options.setdefault("labels", LABELS if "classifier" in task else None)
        options.setdefault("vocabulary", checkpoint)
        with pytest.raises((ValueError, FileNotFoundError), match=match):
            to_mediapipe(model, path, task, **options)

    refused("must be one of .*received 'text_classifer'", task="text_classifer")
    refused("needs `labels`.*received None", labels=None)
    refused("scores 3 classes; received 2 labels", labels=["a", "b"])
    refused("non-empty single lines", labels=["a", "", "c"])
    refused(
        "fixed `sequence_length`.*Received 'dynamic'",
        sequence_length="dynamic",
    )
    refused(
        "table holds 32 positions; expected `sequence_length` of at most 32, "
        "received 40",
        sequence_length=40,
    )
    refused(r"\['normalization'\] do not apply", normalization=(0, 1))
    refused("`batch_size` must be 1", batch_size=2)
    refused("token table has 10 rows", model=tiny_bert(vocabulary_size=10))
    empty = tmp_path / "empty_lines.txt"
    empty.write_text("[PAD]\n[UNK]\n\n[CLS]\n[SEP]\nthe\n")
    refused(r"empty lines \(lines \[3\]\).*one lower", vocabulary=empty)
    specials = tmp_path / "no_cls.txt"
    specials.write_text("[PAD]\n[UNK]\n[SEP]\nthe\n")
    refused(r"lacks \['\[CLS\]'\]", vocabulary=specials)
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input((None,), dtype="bool", name="padding_mask"),
    }
    cast = dict(
        inputs, padding_mask=keras.ops.cast(inputs["padding_mask"], "int32")
    )
    boolean = keras.Model(inputs, model(cast))
    refused("'padding_mask' is bool. Expected int32", model=boolean)
    sequence = keras.Model(
        model.input,
        model.get_layer("bert_backbone")(model.input)["sequence_output"],
    )
    refused(
        "needs a \\(batch, n\\) output.*bert_sentence_embedder",
        model=sequence,
        task="text_embedder",
        labels=None,
    )

    grey = models.vit_classifier(3, "vit_digits", num_layers=1)
    with pytest.raises(
        ValueError, match="refuses an input of depth 1.*received grayscale=None"
    ):
        to_mediapipe(
            grey, path, "image_classifier", labels=LABELS, normalization=(0, 1)
        )
    with pytest.raises(
        ValueError, match="needs `normalization=\\(mean, std\\)`"
    ):
        to_mediapipe(
            grey, path, "image_classifier", labels=LABELS, grayscale="mean"
        )
    with pytest.raises(ValueError, match="one value or 1"):
        to_mediapipe(
            grey,
            path,
            "image_classifier",
            labels=LABELS,
            grayscale="mean",
            normalization=([0, 0, 0], [1, 1, 1]),
        )
    with pytest.raises(ValueError, match=r"\['vocabulary'\] do not apply"):
        to_mediapipe(
            grey,
            path,
            "image_embedder",
            vocabulary=checkpoint,
            normalization=(0, 1),
            grayscale="mean",
        )
    assert not path.exists()  # nothing was written


@pytest.mark.parametrize(
    "config, casing, warned",
    [
        ({"do_lower_case": False}, (False, False), ["is cased"]),
        ({}, (True, True), ["strips accents.*mediapipe_text\\(text\\)"]),
        (
            {"do_lower_case": True, "strip_accents": False},
            (True, False),
            ["'ÉCOLE'.*mediapipe_text\\(text, lowercase=True, strip_acc"],
        ),
    ],
)
def test_the_checkpoint_casing_is_read_and_warned_about(
    tmp_path, config, casing, warned
):
    from keras_attn.export import _mediapipe_inputs as inputs

    (tmp_path / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(config))
    found = inputs.tokenizer(tmp_path)
    assert (found["lowercase"], found["strip_accents"]) == casing
    # The same settings as the project's keras-hub preprocessor reads,
    # which is also accepted as `vocabulary`.
    hub = inputs.tokenizer(models.load_bert_preprocessor(tmp_path))
    assert (hub["lowercase"], hub["strip_accents"]) == casing
    assert hub["tokens"] == found["tokens"] == VOCAB
    notes = inputs.tokenizer_warnings(found)
    assert len(notes) == len(warned)
    for note, pattern in zip(notes, warned, strict=True):
        assert re.search(pattern, note), note


def test_mediapipe_text_is_what_an_uncased_tokenizer_does():
    assert mediapipe_text("Naïve CAFÉ in São\u00a0Paulo") == (
        "naive cafe in sao paulo"
    )
    assert mediapipe_text("Cafe\u0301 ÅNGSTRÖM") == "cafe angstrom"
    assert mediapipe_text("Ünïcode", lowercase=False) == "Unicode"
    assert mediapipe_text("Ünïcode", strip_accents=False) == "ünïcode"
    assert mediapipe_text("猫 😀 x-ray") == "猫 😀 x-ray"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mediapipe_text("") == ""


# -- Command line -------------------------------------------------------------


def test_command_line_writes_a_file_mediapipe_runs(
    mp, bert, checkpoint, tmp_path, capsys
):
    """`keras-attn export --mediapipe` and `keras-attn inspect`, as an app
    developer would call them, then MediaPipe's TextClassifier on it."""
    from keras_attn import cli

    classifier, _ = bert
    saved = tmp_path / "classifier.keras"
    classifier.save(saved)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(LABELS) + "\n")
    output = tmp_path / "app.tflite"
    with pytest.warns(UserWarning, match="strips accents"):
        code = cli.main(
            [
                "export", str(saved), "--to", "tflite",
                "--mediapipe", "text_classifier", "--labels", str(labels),
                "--vocab", str(checkpoint), "--sequence-length", str(LENGTH),
                "--probabilities", "--output", str(output),
            ]
        )  # fmt: skip
    assert code == 0
    assert f"MediaPipe text_classifier file written to {output}" in (
        capsys.readouterr().out
    )
    got = classify(mp, output, TEXTS[:4])
    for string, scores in got.items():
        logits = keras_scores(classifier, mediapipe_pieces(string))
        expected = np.exp(logits - logits.max())
        expected /= expected.sum()
        assert np.max(np.abs(scores - expected)) <= 1e-5, string
    assert cli.main(["inspect", str(output)]) == 0
    printed = capsys.readouterr().out
    for shown in ("text_classifier", "vocab.txt", *LABELS):
        assert shown in printed, shown
