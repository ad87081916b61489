"""`keras-attn predict` and `keras_attn.export.classify_file`.

The reference for `.tflite` files is MediaPipe Tasks itself: its
`TextClassifier` and `ImageClassifier` run the same MediaPipe file on the
same strings and images (`mediapipe_runs.classifier_scores`), and our
scores must equal theirs within 1e-5, on hostile strings (case, accents,
CJK, emoji, a no-break space, empty and over-long text) and on images of
other sizes than the model's (MediaPipe's resize included). Weights are
random but spread (kernels N(0, 1/fan_in), embeddings N(0, 1)) so that
every token and pixel moves the scores; each test also checks that its
inputs give scores far apart, so equal-within-1e-5 can fail.

Predict on run folders of `keras-attn train` is checked in
`tests/test_train_cli.py`, on the runs that file trains.
"""

import io
import json
import re

import keras
import numpy as np
import pytest
from mediapipe_runs import classifier_scores
from tiny_models import spread

from keras_attn import cli
from keras_attn import models
from keras_attn.export import classify_file
from keras_attn.export import to_mediapipe
from keras_attn.export import to_tflite
from keras_attn.export.predict import file_scores
from keras_attn.export.predict import mediapipe_bert_inputs
from keras_attn.export.predict import mediapipe_resize
from keras_attn.export.predict import mediapipe_words
from keras_attn.export.predict import softmax

LENGTH = 16
VOCAB = (
    "[PAD] [UNK] [CLS] [SEP] [MASK] the a cat dog mat sat on is was it so "
    "not fun good bad movie love i this un ##believ ##able ##s play run "
    "cafe hello world x ray don t . , ! ? - ' 猫 好 き す ##き が fine film"
).split()
LABELS = ["negative", "neutral", "positive"]
TEXTS = [
    "The cat sat on the mat.",
    "UNBELIEVABLE fun, so GOOD!!",
    "naïve café CAFÉ cafe",
    "猫が好き すき",
    "I 😀 love this movie🐱",
    "x-ray? don't",
    "hello\u00a0world",
    "a fine film",
    "",
    " ".join(["the dog is playing and it was fun"] * 6),
]
IMAGE_LABELS = ["red", "green", "blue", "grey"]


def far_apart(scores):
    """The smallest largest-difference between two rows of `scores`."""
    rows = np.asarray(scores)
    return min(
        np.max(np.abs(rows[i] - rows[j]))
        for i in range(len(rows))
        for j in range(i + 1, len(rows))
    )


@pytest.fixture(scope="module")
def text_file(tmp_path_factory):
    """A MediaPipe text_classifier file of a tiny BERT (logits out)."""
    folder = tmp_path_factory.mktemp("text")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", "utf-8")
    keras.utils.set_random_seed(1)
    backbone = models.bert_backbone(
        vocabulary_size=len(VOCAB), num_layers=1, hidden_dim=16,
        num_heads=2, intermediate_dim=32, max_sequence_length=32,
        dropout=0.0,
    )  # fmt: skip
    classifier = models.bert_text_classifier(backbone, 3, dropout=0.0)
    spread(classifier, seed=2)
    path = folder / "sentiment.tflite"
    with pytest.warns(UserWarning):  # MediaPipe keeps accents
        to_mediapipe(
            classifier, path, "text_classifier", labels=LABELS,
            vocabulary=folder / "vocab.txt", sequence_length=LENGTH,
            measure_latency=False,
        )  # fmt: skip
    return path


@pytest.fixture(scope="module")
def image_file(tmp_path_factory):
    """A MediaPipe image_classifier file of a tiny 16x16 ViT, softmax
    inside."""
    keras.utils.set_random_seed(3)
    model = models.vit_classifier(
        4, image_size=16, patch_size=4, num_layers=1, hidden_dim=16,
        num_heads=2, intermediate_dim=32,
    )  # fmt: skip
    spread(model, seed=4)
    path = tmp_path_factory.mktemp("image") / "colours.tflite"
    to_mediapipe(
        model, path, "image_classifier", labels=IMAGE_LABELS,
        normalization=(127.5, 127.5), probabilities=True,
        measure_latency=False,
    )  # fmt: skip
    return path


def smooth(height, width, phase=0.0):
    """A smooth colour picture (a resize of it is no copy of pixels)."""
    y, x = np.mgrid[0:height, 0:width]
    return np.stack(
        [
            127 + 120 * np.sin(x / 3.0 + phase),
            127 + 120 * np.cos(y / 4.0 - phase),
            (x * 7 + y * 5 + 40 * phase) % 256,
        ],
        axis=-1,
    ).astype("uint8")


def pictures():
    """The model's size, larger, smaller, other aspect ratios, noise."""
    rng = np.random.default_rng(0)
    return [
        rng.integers(0, 256, (16, 16, 3), dtype=np.uint8),
        smooth(16, 16),
        smooth(32, 32, 1.0),
        smooth(24, 40, 2.0),
        smooth(9, 13, 3.0),
        rng.integers(0, 256, (40, 24, 3), dtype=np.uint8),
        smooth(100, 100, 4.0),
    ]


# -- MediaPipe's text preprocessing --------------------------------------------


def test_words_and_pieces_follow_mediapipe_rules():
    """Golden values written from MediaPipe 1.2's rules: A-Z lowercased
    only, accents kept, ASCII whitespace, punctuation and CJK ideographs
    split, greedy WordPiece with ##, [CLS] ... [SEP] then padding."""
    assert mediapipe_words("Don't STOP, Café!") == [
        "don", "'", "t", "stop", ",", "café", "!",
    ]  # fmt: skip
    assert mediapipe_words("猫が好き hello\u00a0world\t x") == [
        "猫", "が", "好", "き", "hello\u00a0world", "x",
    ]  # fmt: skip
    inputs = mediapipe_bert_inputs(
        ["UNBELIEVABLE fun, so GOOD!!", "café CAFÉ cafe", "すき"], VOCAB, 12
    )
    pieces = [
        [VOCAB[i] for i, on in zip(ids, mask, strict=True) if on]
        for ids, mask in zip(inputs["ids"], inputs["mask"], strict=True)
    ]
    assert pieces == [
        ["[CLS]", "un", "##believ", "##able", "fun", ",", "so", "good",
         "!", "!", "[SEP]"],
        ["[CLS]", "[UNK]", "[UNK]", "cafe", "[SEP]"],
        ["[CLS]", "す", "##き", "[SEP]"],
    ]  # fmt: skip
    assert inputs["ids"].shape == (3, 12) and inputs["ids"].dtype == np.int32
    assert not inputs["segment_ids"].any()
    assert (inputs["ids"][0, 11:] == 0).all()  # padded with 0
    long = mediapipe_bert_inputs([" ".join(["fine"] * 40)], VOCAB, 8)["ids"]
    assert [VOCAB[i] for i in long[0]] == ["[CLS]"] + ["fine"] * 6 + ["[SEP]"]


def test_text_scores_are_mediapipes(text_file):
    expected = classifier_scores(text_file, TEXTS, LABELS)
    found, got = file_scores(text_file, TEXTS)
    assert found.labels == LABELS and found.sequence_length == LENGTH
    assert not found.probabilities  # the file gives logits
    assert np.max(np.abs(got - expected)) <= 1e-5
    assert far_apart(expected) > 1e-2  # the bar can fail


# -- MediaPipe's image preprocessing -------------------------------------------


def test_resize_is_opencvs_warp_as_mediapipe_calls_it():
    cv2 = pytest.importorskip("cv2")
    rng = np.random.default_rng(1)
    for shape, size in [
        ((32, 32), (16, 16)), ((24, 40), (16, 16)), ((9, 13), (16, 16)),
        ((7, 300), (16, 24)), ((16, 15), (16, 16)), ((100, 99), (8, 8)),
    ]:  # fmt: skip
        image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
        forward = np.array(
            [[size[1] / shape[1], 0, 0], [0, size[0] / shape[0], 0]]
        )
        expected = cv2.warpAffine(
            image, forward, (size[1], size[0]), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )  # fmt: skip
        assert np.array_equal(mediapipe_resize(image, size), expected), shape


def test_image_scores_are_mediapipes_at_any_size(image_file):
    images = pictures()
    expected = classifier_scores(image_file, images, IMAGE_LABELS)
    found, got = file_scores(image_file, images)
    assert found.image_size == (16, 16) and found.probabilities
    assert (found.mean, found.std) == (127.5, 127.5)
    assert np.max(np.abs(got - expected)) <= 1e-5
    assert far_apart(expected) > 1e-2


def test_classify_file_ranks_labels_and_keeps_top_k(text_file):
    texts = TEXTS[:4]
    probabilities = softmax(classifier_scores(text_file, texts, LABELS))
    found = classify_file(text_file, texts, top_k=2, probabilities=True)
    for row, ranked in zip(probabilities, found, strict=True):
        best = np.argsort(-row)[:2]
        assert [label for label, _ in ranked] == [LABELS[i] for i in best]
        assert [s for _, s in ranked] == pytest.approx(row[best], abs=1e-5)


def test_files_that_are_no_classifier_are_refused(text_file, tmp_path):
    inputs = keras.Input((4,), name="x")
    dense = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    plain = tmp_path / "plain.tflite"
    to_tflite(dense, plain, measure_latency=False)
    with pytest.raises(ValueError, match="no TFLite Metadata.*--mediapipe"):
        classify_file(plain, ["a fine film"])
    with pytest.raises(ValueError, match="text_classifier, which takes str"):
        classify_file(text_file, [np.zeros((8, 8, 3), np.uint8)])


# -- The command line on .tflite files -----------------------------------------

LINE = re.compile(r"^(?P<label>\S+) (?P<score>[0-9.]+)  (?P<input>.*)$")


def test_predict_prints_a_line_per_text(text_file, capsys):
    texts = ["a fine film", "UNBELIEVABLE fun, so GOOD!!", "猫が好き"]
    assert cli.main(["predict", str(text_file), *texts]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = softmax(classifier_scores(text_file, texts, LABELS))
    assert len(lines) == len(texts)
    for line, text, row in zip(lines, texts, expected, strict=True):
        match = LINE.match(line)
        assert match, line
        assert match["input"] == text
        assert match["label"] == LABELS[int(np.argmax(row))]
        assert float(match["score"]) == pytest.approx(row.max(), abs=6e-5)


def test_predict_json_from_a_file_and_stdin(
    text_file, tmp_path, capsys, monkeypatch
):
    texts = ["The cat sat on the mat.", "naïve café", "x-ray? don't"]
    given = tmp_path / "texts.txt"
    given.write_text("\n".join(texts[1:]) + "\n\n", "utf-8")  # a blank line
    code = cli.main(
        ["predict", str(text_file), "--json", texts[0], "--input", str(given)]
    )
    assert code == 0
    records = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    expected = softmax(classifier_scores(text_file, texts, LABELS))
    assert [record["input"] for record in records] == texts
    for record, row in zip(records, expected, strict=True):
        scores = {item["label"]: item["score"] for item in record["labels"]}
        assert list(scores) == [LABELS[i] for i in np.argsort(-row)]
        got = [scores[label] for label in LABELS]
        assert np.max(np.abs(np.array(got) - row)) <= 1e-5
    # `-` reads standard input; --top keeps the best K.
    monkeypatch.setattr("sys.stdin", io.StringIO(texts[2] + "\r\n"))
    code = cli.main(
        ["predict", str(text_file), "--input", "-", "--json", "--top", "1"]
    )
    assert code == 0
    (record,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert record["input"] == texts[2]
    assert record["labels"] == [records[2]["labels"][0]]


def test_predict_reads_image_files(image_file, tmp_path, capsys):
    import mediapipe
    import PIL.Image

    paths = []
    for index, picture in enumerate(pictures()[:5]):
        paths.append(tmp_path / f"picture{index}.png")
        keras.utils.save_img(paths[-1], picture)
    paths.append(tmp_path / "photo.jpg")
    noise = np.random.default_rng(5).integers(0, 256, (30, 20, 3))
    keras.utils.save_img(paths[-1], noise.astype(np.uint8), quality=90)
    # Decoded by others: MediaPipe's own decoder for the PNG files;
    # Pillow (libjpeg's accurate DCT) for the JPEG, as MediaPipe's
    # stb_image decodes JPEG up to 3 levels away from libjpeg.
    decoded = []
    for path in paths[:-1]:
        image = mediapipe.Image.create_from_file(str(path))
        decoded.append(np.array(image.numpy_view()[..., :3]))  # a copy
        del image  # the view's memory goes with it
    decoded.append(np.asarray(PIL.Image.open(paths[-1]).convert("RGB")))
    expected = classifier_scores(image_file, decoded, IMAGE_LABELS)
    code = cli.main(["predict", str(image_file), *map(str, paths), "--json"])
    assert code == 0
    out = capsys.readouterr().out.splitlines()
    assert far_apart(expected) > 1e-3  # 100 times the bar below
    for line, path, row in zip(out, paths, expected, strict=True):
        record = json.loads(line)
        assert record["input"] == str(path)
        scores = {item["label"]: item["score"] for item in record["labels"]}
        got = np.array([scores[label] for label in IMAGE_LABELS])
        assert np.max(np.abs(got - row)) <= 1e-5, path.name


def run_predict(capsys, *arguments):
    """`(exit status, the one stderr line)` of a failing predict."""
    try:
        code = cli.main(["predict", *map(str, arguments)])
    except SystemExit as exited:
        code = exited.code
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and captured.out == "", captured
    assert lines[0].startswith("keras-attn predict: error: ")
    return code, lines[0]


def test_predict_refuses_inputs_of_the_other_kind(
    text_file, image_file, tmp_path, capsys
):
    picture = tmp_path / "cat.png"
    keras.utils.save_img(picture, smooth(16, 16))
    code, line = run_predict(capsys, text_file, "a film", picture)
    assert code == 2
    assert "classifies text; received the image file" in line
    assert str(picture) in line
    code, line = run_predict(capsys, image_file, "a fine film")
    assert code == 2
    assert "a fine film not found" in line and "expected PNG or JPEG" in line
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    code, line = run_predict(capsys, image_file, notes)
    assert code == 2 and "is not a PNG, JPEG" in line
    inputs = keras.Input((4,), name="x")
    dense = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    plain = tmp_path / "plain.tflite"
    to_tflite(dense, plain, measure_latency=False)
    code, line = run_predict(capsys, plain, "a fine film")
    assert code == 2 and "argument MODEL" in line
    assert "no TFLite Metadata, so no vocabulary" in line
    damaged = tmp_path / "damaged.tflite"
    blob = bytearray(text_file.read_bytes())
    blob[len(blob) // 3] ^= 0xFF  # the checksum no longer matches
    damaged.write_bytes(bytes(blob))
    code, line = run_predict(capsys, damaged, "a fine film")
    assert code == 1 and "damaged.tflite" in line
