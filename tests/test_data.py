"""`keras_attn.data`: file readers, TFDS loaders and `tf.data` pipelines.

Expected values come from the files the tests write (or, for TFDS, from
`tfds.load` read directly under the same `tfds.testing.mock_data`, which
makes random examples from each dataset's feature spec with no
download), and token ids from the position of each word in the test's
own vocabulary.
"""

import pathlib
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_attn import data
from keras_attn import demo
from keras_attn.models import load_bert_preprocessor

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def raises_naming(error, path, pattern, call):
    """`call()` raises `error` whose message names `path` and matches."""
    with pytest.raises(error) as caught:
        call()
    message = str(caught.value)
    assert str(path) in message, message
    assert re.search(pattern, message), message


# ------------------------------------------------------ text classification


def test_tsv_round_trip(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text(
        "label\tsentence\n"
        "0\thide new secretions from the parental units \n"
        '1\t"quoted" , it \'s a charming journey\n'
        "\n"  # blank lines are skipped
        "2\tcafé , naïve\n",
        encoding="utf-8",
    )
    texts, labels = data.read_text_classification(path)
    assert texts == [
        "hide new secretions from the parental units ",
        '"quoted" , it \'s a charming journey',
        "café , naïve",
    ]
    assert labels.dtype == np.int32 and labels.tolist() == [0, 1, 2]


def test_tsv_columns_in_any_order_and_named(tmp_path):
    path = tmp_path / "reviews.TSV"
    path.write_text("id\treview\tstars\n7\tgreat\t4\n8\tpoor\t0\n")
    texts, labels = data.read_text_classification(
        str(path), text_column="review", label_column="stars"
    )
    assert texts == ["great", "poor"] and labels.tolist() == [4, 0]


def test_csv_round_trip_with_quotes(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text(
        "\ufeffid,text,label\r\n"  # a byte-order mark, as Excel writes
        '1,"good, really good",1\r\n'
        '2,"he said ""hi""",0\r\n'
        '3,"two\nlines",1\r\n'
        "4,plain,2\r\n",
        encoding="utf-8",
    )
    texts, labels = data.read_text_classification(path, text_column="text")
    assert texts == ["good, really good", 'he said "hi"', "two\nlines", "plain"]
    assert labels.tolist() == [1, 0, 1, 2]


@pytest.mark.parametrize(
    "name, content, pattern",
    [
        ("empty.tsv", "", "is empty"),
        ("blank.tsv", "\n\n", "is empty"),
        ("header.tsv", "label\tsentence\n", "header but no examples"),
        (
            "columns.tsv",
            "label\tbody\n0\tfine\n",
            r"line 1.*no text column.*'sentence'.*found \['label', 'body'\]",
        ),
        (
            "two_texts.tsv",
            "label\ttext\treview\n0\tfine\tgood\n",
            r"line 1.*several text columns \['text', 'review'\]",
        ),
        ("no_label.tsv", "sentence\tstars\n0\tfine\n", "no column 'label'"),
        (
            "mixed.tsv",
            "label\tsentence\npos\tgood\n1\tok\n",
            "line 3.*'1' is a number but line 2's 'pos' is a name",
        ),
        ("blank_label.csv", "label,sentence\n,fine\n", "line 2.*empty"),
        ("word.tsv", "label\tsentence\n0\tok\npos\tgood\n", "line 3.*'pos'"),
        ("float.tsv", "label\tsentence\n1.0\tgood\n", "line 2.*'1.0'"),
        ("negative.tsv", "label\tsentence\n-1\tgood\n", "line 2.*>= 0"),
        (
            "fields.tsv",
            "label\tsentence\n0\ta\n1\tan extra\ttab\n",
            "line 3.*expected 2 fields.*received 3",
        ),
        (
            # The record that ends on line 3 starts on line 2.
            "fields.csv",
            'label,sentence\n1,"two\nlines"\n0\n',
            "line 4.*expected 2 fields.*received 1",
        ),
        ("notes.txt", "label\tsentence\n0\tok\n", "expected a .tsv or .csv"),
    ],
)
def test_text_file_errors_name_the_file(tmp_path, name, content, pattern):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    raises_naming(
        ValueError,
        path,
        pattern,
        lambda: data.read_text_classification(path),
    )


@pytest.mark.parametrize("column", ["text", "content", "review"])
def test_a_common_text_column_is_found_without_naming_it(tmp_path, column):
    path = tmp_path / "train.csv"
    path.write_text(f"id,{column},label\n1,fine,1\n2,poor,0\n")
    texts, labels = data.read_text_classification(path)
    assert texts == ["fine", "poor"] and labels.tolist() == [1, 0]
    # `sentence` wins over the others; a named column over both.
    path.write_text(f"{column},sentence,label\na,b,0\n")
    assert data.read_text_classification(path)[0] == ["b"]
    assert data.read_text_classification(path, column)[0] == ["a"]


def test_string_labels_become_sorted_class_ids(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_text(
        "review,sentiment\n"
        "a joy,pos\n"
        "dull,neg\n"
        '"slow, then great",pos\n'
        "fine,meh\n"
    )
    texts, labels, classes = data.read_labelled_texts(
        path, label_column="sentiment"
    )
    assert classes == ["meh", "neg", "pos"]  # sorted, whatever the order
    assert labels.dtype == np.int32 and labels.tolist() == [2, 1, 2, 0]
    assert texts[2] == "slow, then great"
    # Without the names, the same ids.
    _, ids = data.read_text_classification(path, label_column="sentiment")
    assert ids.tolist() == [2, 1, 2, 0]
    # A second file (the evaluation rows) numbers names as the first.
    held = tmp_path / "held.tsv"
    held.write_text("sentiment\treview\npos\tyes\nmeh\tso so\n")
    _, labels, same = data.read_labelled_texts(
        held, label_column="sentiment", classes=classes
    )
    assert labels.tolist() == [2, 0] and same == classes
    held.write_text("sentiment\treview\nawful\tno\n")
    with pytest.raises(ValueError, match=r"line 2.*'awful'.*\['meh'"):
        data.read_labelled_texts(held, None, "sentiment", classes=classes)
    held.write_text("sentiment\treview\n1\tno\n")
    with pytest.raises(ValueError, match="are class ids.*are names"):
        data.read_labelled_texts(held, None, "sentiment", classes=classes)


def test_integer_labels_keep_their_ids_and_name_every_class(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("label\tsentence\n3\ta\n0\tb\n")
    texts, labels, classes = data.read_labelled_texts(path)
    assert labels.tolist() == [3, 0]
    assert classes == ["0", "1", "2", "3"]
    held = tmp_path / "held.tsv"
    held.write_text("label\tsentence\n4\tc\n")
    with pytest.raises(ValueError, match="line 2.*class id 4.*4 classes"):
        data.read_labelled_texts(held, classes=classes)


def test_column_errors_say_which_argument(tmp_path):
    path = tmp_path / "train.tsv"
    path.write_text("review\tsentiment\ngood\tpos\n")
    with pytest.raises(data.ColumnError) as caught:
        data.read_labelled_texts(path)
    assert caught.value.argument == "label_column"
    with pytest.raises(data.ColumnError) as caught:
        data.read_labelled_texts(path, "body", "sentiment")
    assert caught.value.argument == "text_column"
    with pytest.raises(data.ColumnError, match="must differ"):
        data.read_labelled_texts(path, "review", "review")


def test_reading_text_files_loads_no_tensorflow(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "train.tsv"
    path.write_text("label\tsentence\n1\ta gem\n")
    code = (
        "import sys; from keras_attn.data import read_labelled_texts; "
        f"read_labelled_texts({str(path)!r}); "
        "assert 'tensorflow' not in sys.modules, 'TensorFlow was loaded'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_text_file_missing_or_not_utf8(tmp_path):
    missing = tmp_path / "missing.tsv"
    raises_naming(
        FileNotFoundError,
        missing,
        "not found",
        lambda: data.read_text_classification(missing),
    )
    latin = tmp_path / "latin.tsv"
    latin.write_bytes("label\tsentence\n0\tcaf\xe9\n".encode("latin-1"))
    raises_naming(
        ValueError,
        latin,
        "not UTF-8",
        lambda: data.read_text_classification(latin),
    )


@pytest.mark.skipif(
    not (SHARED / "sst2" / "train.tsv").is_file(),
    reason="the shared SST-2 file is not here",
)
def test_reads_the_shared_sst2_file():
    texts, labels = data.read_text_classification(SHARED / "sst2/train.tsv")
    # 67,349 rows as the data README lists them; its first line by eye.
    assert len(texts) == len(labels) == 67_349
    assert texts[0] == "hide new secretions from the parental units"
    assert labels[0] == 0 and set(labels.tolist()) == {0, 1}


# --------------------------------------------------------------- TFDS


@pytest.fixture
def tfds():
    return pytest.importorskip("tensorflow_datasets")


@pytest.fixture
def load_calls(tfds, monkeypatch):
    """Records the keyword arguments of every `tfds.load` call."""
    calls = []
    real_load = tfds.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(tfds, "load", spy)
    return calls


@pytest.mark.parametrize(
    "name, text_key", [("imdb_reviews", "text"), ("glue/sst2", "sentence")]
)
def test_tfds_text_classification(tfds, load_calls, name, text_key):
    with tfds.testing.mock_data(num_examples=7):
        texts, labels = data.load_tfds_text_classification(name, "train")
        raw = list(tfds.as_numpy(tfds.load(name, split="train")))
    assert texts == [row[text_key].decode("utf-8") for row in raw]
    assert labels.dtype == np.int32
    assert labels.tolist() == [int(row["label"]) for row in raw]
    assert len(texts) == 7
    assert load_calls[0]["download"] is False  # never fetches by default
    assert load_calls[0]["split"] == "train"


def _sst2_rows(labels):
    """A mock `_as_dataset` for glue/sst2 with the given labels."""

    def as_dataset(self, *args, **kwargs):
        return tf.data.Dataset.from_tensor_slices(
            {
                "idx": np.arange(len(labels), dtype=np.int32),
                "label": np.asarray(labels, dtype=np.int64),
                "sentence": [f"sentence {i}" for i in range(len(labels))],
            }
        )

    return as_dataset


def test_tfds_sst2_drops_hidden_labels(tfds):
    with tfds.testing.mock_data(as_dataset_fn=_sst2_rows([1, -1, 0, -1, 1])):
        texts, labels = data.load_tfds_text_classification("glue/sst2", "test")
    assert texts == ["sentence 0", "sentence 2", "sentence 4"]
    assert labels.tolist() == [1, 0, 1]


def test_tfds_sst2_refuses_an_unlabelled_split(tfds):
    with tfds.testing.mock_data(as_dataset_fn=_sst2_rows([-1, -1, -1])):
        with pytest.raises(ValueError, match=r"all its 3 rows.*-1"):
            data.load_tfds_text_classification("glue/sst2", "test")


def test_tfds_parallel_text(tfds, load_calls):
    # Every supported pair, in one test (they differ only by name).
    for name in data.PARALLEL_TEXT_DATASETS:
        with tfds.testing.mock_data(num_examples=4):
            pairs = data.load_tfds_parallel_text(name, split="validation")
            raw = tfds.load(name, split="validation", as_supervised=True)
            raw = list(tfds.as_numpy(raw))
        expected = [(s.decode("utf-8"), t.decode("utf-8")) for s, t in raw]
        assert pairs == expected, name
        assert len(pairs) == 4 and all(isinstance(s, str) for s, _ in pairs)
    # Ours, then the test's own, for each name.
    assert len(load_calls) == 2 * len(data.PARALLEL_TEXT_DATASETS)
    assert all(call["download"] is False for call in load_calls[::2])


@pytest.mark.parametrize("name", data.IMAGE_DATASETS)
def test_tfds_images(tfds, load_calls, name):
    with tfds.testing.mock_data(num_examples=5):
        images, labels = data.load_tfds_images(name, "test")
        raw = list(
            tfds.as_numpy(tfds.load(name, split="test", as_supervised=True))
        )
    expected = np.stack([image for image, _ in raw])
    assert expected.dtype == np.uint8
    size = (32, 32, 3) if name.startswith("cifar") else (28, 28, 1)
    assert images.shape == (5, *size) and images.dtype == np.float32
    np.testing.assert_allclose(images, expected / 255.0, rtol=1e-6)
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert labels.dtype == np.int32
    assert labels.tolist() == [int(label) for _, label in raw]
    assert load_calls[0]["download"] is False


@pytest.mark.parametrize(
    "call",
    [
        lambda: data.load_tfds_text_classification("glue/cola", "train"),
        lambda: data.load_tfds_parallel_text("wmt14_translate/fr-en"),
        lambda: data.load_tfds_images("imagenet2012"),
    ],
)
def test_tfds_unsupported_names_list_the_supported(call):
    with pytest.raises(ValueError, match=r"Unsupported.*expected one of \["):
        call()


def test_tfds_not_prepared_says_how(tfds, tmp_path):
    with pytest.raises(FileNotFoundError, match="download=True") as caught:
        data.load_tfds_images("mnist", "train", data_dir=tmp_path)
    assert str(tmp_path) in str(caught.value)


# ----------------------------------------------------- text pipeline

WORDS = "a the film movie was is good bad very not it funny dull plot".split()
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
LENGTH = 16
SENTENCES = [
    "a good film",
    "the plot was dull",
    "funny",
    "it is not a very good movie",
    "Bad",  # lowercased by the tokenizer
    "the film was very very very very very very very very very very good",
    "a xyzzy plot",  # an unknown word
    "good good",
    "the movie is funny and good",  # "and" is unknown too
    "dull",
    "not bad",
]


def expected_ids(sentence):
    """[CLS] words [SEP] from the vocabulary's own order, cut to LENGTH."""
    ids = [
        VOCABULARY.index(word) if word in VOCABULARY else 1
        for word in sentence.lower().split()
    ]
    return [2, *ids[: LENGTH - 2], 3]


@pytest.fixture
def preprocessor(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    return load_bert_preprocessor(tmp_path, sequence_length=LENGTH)


def make_dataset(preprocessor, **kwargs):
    # Labels are the example's index, so each row can be traced back.
    labels = np.arange(len(SENTENCES))
    return data.text_classification_dataset(
        SENTENCES, labels, preprocessor, **kwargs
    )


def epoch_order(dataset):
    return [int(y) for _, labels in dataset for y in labels.numpy()]


def test_batches_are_trimmed_to_their_longest_sentence(preprocessor):
    dataset = make_dataset(preprocessor, batch_size=4, seed=3)
    seen = []
    for inputs, labels in dataset:
        assert set(inputs) == {"token_ids", "segment_ids", "padding_mask"}
        assert labels.dtype == tf.int32
        rows = [expected_ids(SENTENCES[i]) for i in labels.numpy()]
        width = max(len(row) for row in rows)
        padded = [row + [0] * (width - len(row)) for row in rows]
        assert inputs["token_ids"].shape == (len(rows), width)
        np.testing.assert_array_equal(inputs["token_ids"], padded)
        np.testing.assert_array_equal(
            inputs["padding_mask"], np.asarray(padded) != 0
        )
        np.testing.assert_array_equal(inputs["segment_ids"], 0)
        seen.extend(labels.numpy().tolist())
    # Every example exactly once: 11 sentences in batches of 4, 4 and 3.
    assert sorted(seen) == list(range(len(SENTENCES)))


def test_the_longest_sentence_is_cut_at_sequence_length(preprocessor):
    dataset = make_dataset(preprocessor, batch_size=1, shuffle=False)
    widths = [inputs["token_ids"].shape[1] for inputs, _ in dataset]
    # Word counts plus [CLS] and [SEP]; the 14-word sentence hits 16.
    assert widths == [min(len(s.split()) + 2, LENGTH) for s in SENTENCES]


def test_fixed_padding_keeps_sequence_length(preprocessor):
    dataset = make_dataset(
        preprocessor, batch_size=5, shuffle=False, pad_to="fixed"
    )
    batches = list(dataset)
    assert [inputs["token_ids"].shape for inputs, _ in batches] == [
        (5, LENGTH),
        (5, LENGTH),
        (1, LENGTH),
    ]
    first = batches[0][0]["token_ids"].numpy()
    row = expected_ids(SENTENCES[0])
    assert first[0].tolist() == row + [0] * (LENGTH - len(row))
    assert epoch_order(dataset) == list(range(len(SENTENCES)))


def test_same_seed_same_order_and_every_epoch_reshuffles(preprocessor):
    first = make_dataset(preprocessor, batch_size=4, seed=7)
    again = make_dataset(preprocessor, batch_size=4, seed=7)
    other = make_dataset(preprocessor, batch_size=4, seed=8)
    epoch_1, epoch_2 = epoch_order(first), epoch_order(first)
    assert epoch_order(again) == epoch_1
    assert sorted(epoch_1) == sorted(epoch_2) == list(range(len(SENTENCES)))
    assert epoch_2 != epoch_1  # 1 chance in 11! of a false failure
    assert epoch_order(other) != epoch_1


def test_repeat_gives_whole_reshuffled_epochs(preprocessor):
    count = len(SENTENCES)
    dataset = make_dataset(preprocessor, batch_size=1, repeat=True, seed=1)
    order = [int(y[0]) for _, y in dataset.take(3 * count)]
    epochs = [order[i * count : (i + 1) * count] for i in range(3)]
    for epoch in epochs:
        assert sorted(epoch) == list(range(count))
    assert epochs[0] != epochs[1] != epochs[2]


@pytest.mark.parametrize("deterministic", [True, False])
def test_deterministic_option(preprocessor, deterministic):
    dataset = make_dataset(
        preprocessor, batch_size=2, deterministic=deterministic
    )
    assert dataset.options().deterministic is deterministic
    assert sorted(epoch_order(dataset)) == list(range(len(SENTENCES)))


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        ({"labels": [0, 1]}, ValueError, "2 labels"),
        ({"labels": [-1] * 11}, ValueError, ">= 0"),
        ({"labels": [0.5] * 11}, TypeError, "integers"),
        ({"texts": "one string"}, TypeError, "single string"),
        ({"texts": ["ok", 3] + ["x"] * 9}, TypeError, "item 1 is int"),
        ({"texts": [], "labels": []}, ValueError, "empty"),
        ({"batch_size": 0}, ValueError, "positive int; received 0"),
        ({"pad_to": "longest"}, ValueError, "'longest'"),
        ({"preprocessor": "bert"}, TypeError, "callable"),
    ],
)
def test_text_dataset_refuses_bad_arguments(
    preprocessor, kwargs, error, pattern
):
    arguments = {
        "texts": SENTENCES,
        "labels": list(range(len(SENTENCES))),
        "preprocessor": preprocessor,
        **kwargs,
    }
    with pytest.raises(error, match=pattern):
        data.text_classification_dataset(**arguments)


# ----------------------------------------------------------- parallel text


def test_parallel_text_round_trip(tmp_path):
    path = tmp_path / "fra.tsv"
    path.write_text(
        "Is that a riddle?\tEst-ce une énigme ?\tCC-BY 2.0 (France)\n"
        "\n"
        "   \n"
        "Many fish died.\tBeaucoup de poissons ont péri.\n"
        "She's innocent.\tElle est ingénue.\n",
        encoding="utf-8",
    )
    expected = [
        ("Is that a riddle?", "Est-ce une énigme ?"),
        ("Many fish died.", "Beaucoup de poissons ont péri."),
        ("She's innocent.", "Elle est ingénue."),
    ]
    assert data.read_parallel_text(path) == expected
    assert data.read_parallel_text(path, max_pairs=2) == expected[:2]


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("Go.\tVa !\nHello there\nHi.\tSalut.\n", "line 2.*at least 2"),
        ("Go.\tVa !\n\nHi.\t \n", "line 3.*non-empty"),
        ("", "no pairs"),
    ],
)
def test_parallel_text_errors_name_the_file(tmp_path, content, pattern):
    path = tmp_path / "pairs.tsv"
    path.write_text(content)
    raises_naming(
        ValueError, path, pattern, lambda: data.read_parallel_text(path)
    )


def test_parallel_text_missing_file_and_bad_max_pairs(tmp_path):
    missing = tmp_path / "missing.tsv"
    raises_naming(
        FileNotFoundError,
        missing,
        "not found",
        lambda: data.read_parallel_text(missing),
    )
    with pytest.raises(ValueError, match="`max_pairs`.*received 0"):
        data.read_parallel_text(missing, max_pairs=0)


@pytest.mark.skipif(
    not (SHARED / "tatoeba-eng-fra" / "train.tsv").is_file(),
    reason="the shared Tatoeba file is not here",
)
def test_reads_the_shared_tatoeba_file():
    pairs = data.read_parallel_text(SHARED / "tatoeba-eng-fra/train.tsv")
    assert len(pairs) == 16_066  # the data README's count
    assert pairs[0] == ("Is that a riddle?", "Est-ce une énigme ?")


# ----------------------------------------------------------------- images


def test_load_digits_is_the_demo_split():
    x_train, x_test, y_train, y_test = data.load_digits(seed=2)
    expected = demo.load_digits_split(seed=2)
    for got, want in zip(
        (x_train, x_test, y_train, y_test), expected, strict=True
    ):
        np.testing.assert_array_equal(got, want)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32


def test_load_digits_other_fraction_keeps_all_images_stratified():
    x_train, x_test, y_train, y_test = data.load_digits(test_fraction=0.5)
    # scikit-learn rounds the test share up: 899 of 1,797.
    assert x_train.shape == (898, 8, 8, 1) and x_test.shape == (899, 8, 8, 1)
    assert y_test.dtype == np.int32
    everything = np.concatenate(demo.load_digits_split(0)[:2])
    ours = np.concatenate([x_train, x_test])
    key = lambda images: np.sort(images.reshape(len(images), -1), axis=0)  # noqa: E731
    np.testing.assert_array_equal(key(ours), key(everything))
    share = np.bincount(y_test) / np.bincount(np.concatenate([y_train, y_test]))
    np.testing.assert_allclose(share, 0.5, atol=0.01)
    with pytest.raises(ValueError, match="test_fraction.*received 1"):
        data.load_digits(test_fraction=1)


# Class name -> (pixel value, how many images); sorted names are the ids.
CLASSES = {"cat": (0, 5), "dog": (128, 4), "owl": (255, 3)}


@pytest.fixture
def image_root(tmp_path):
    root = tmp_path / "images"
    for name, (value, count) in CLASSES.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            # Sizes differ per image; every one becomes image_size.
            pixels = np.full((10 + i, 14, 3), value, dtype=np.uint8)
            keras.utils.save_img(root / name / f"{i}.png", pixels, scale=False)
    (root / "owl" / "notes.txt").write_text("not an image")
    (root / ".ipynb_checkpoints").mkdir()  # hidden folders are no class
    return root


def test_image_folder(image_root):
    x_train, x_val, y_train, y_val, names = data.image_folder(
        image_root, (8, 6), validation_fraction=0.5, seed=1
    )
    assert names == ["cat", "dog", "owl"]
    # Half of each class, rounded half up: 2.5 -> 3, 2 -> 2, 1.5 -> 2.
    assert np.bincount(y_val, minlength=3).tolist() == [3, 2, 2]
    assert np.bincount(y_train, minlength=3).tolist() == [2, 2, 1]
    assert x_train.shape == (5, 8, 6, 3) and x_val.shape == (7, 8, 6, 3)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int32
    images = np.concatenate([x_train, x_val])
    labels = np.concatenate([y_train, y_val])
    assert images.min() == 0.0 and images.max() == 1.0
    # Each image is one flat value, which says which folder it came from.
    for image, label in zip(images, labels, strict=True):
        value, _ = CLASSES[names[label]]
        np.testing.assert_allclose(image, value / 255, atol=1e-6)
    # The same seed, the same split and order; another seed, another.
    again = data.image_folder(
        image_root, (8, 6), validation_fraction=0.5, seed=1
    )
    np.testing.assert_array_equal(again[2], y_train)
    np.testing.assert_array_equal(again[3], y_val)
    other = data.image_folder(
        image_root, (8, 6), validation_fraction=0.5, seed=2
    )
    assert other[2].tolist() != y_train.tolist()


def test_image_folder_keeps_one_training_image_per_class(tmp_path):
    for name, count in (("a", 1), ("b", 2), ("c", 10)):
        (tmp_path / name).mkdir()
        for i in range(count):
            pixels = np.zeros((4, 4, 3), dtype=np.uint8)
            keras.utils.save_img(tmp_path / name / f"{i}.png", pixels)
    _, _, y_train, y_val, _ = data.image_folder(
        tmp_path, (4, 4), validation_fraction=0.9
    )
    # 0.9 of 1 and of 2 round to 1 and 2: capped to leave one behind.
    assert np.bincount(y_val, minlength=3).tolist() == [0, 1, 9]
    assert np.bincount(y_train, minlength=3).tolist() == [1, 1, 1]


def test_image_folder_grayscale_without_validation(image_root):
    x_train, x_val, y_train, y_val, _ = data.image_folder(
        image_root, [5, 5], validation_fraction=0, grayscale=True
    )
    assert x_train.shape == (12, 5, 5, 1) and x_val.shape == (0, 5, 5, 1)
    assert y_val.shape == (0,)
    for image, label in zip(x_train, y_train, strict=True):
        value = list(CLASSES.values())[label][0]
        np.testing.assert_allclose(image, value / 255, atol=1.5 / 255)


def test_image_folder_errors(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    keras.utils.save_img(flat / "1.png", np.zeros((4, 4, 3)), scale=False)
    raises_naming(
        ValueError,
        flat,
        r"no class subfolders.*\['1.png'\]",
        lambda: data.image_folder(flat, (4, 4)),
    )
    empty = tmp_path / "empty"
    (empty / "cat").mkdir(parents=True)
    (empty / "cat" / "readme.md").write_text("no images here")
    raises_naming(
        ValueError,
        empty,
        r"\['cat'\] but no images",
        lambda: data.image_folder(empty, (4, 4)),
    )
    missing = tmp_path / "missing"
    raises_naming(
        FileNotFoundError,
        missing,
        "not a folder",
        lambda: data.image_folder(missing, (4, 4)),
    )
    with pytest.raises(ValueError, match=r"image_size.*received 32"):
        data.image_folder(flat, 32)
    with pytest.raises(ValueError, match="validation_fraction"):
        data.image_folder(flat, (4, 4), validation_fraction=1.0)


def test_image_dataset():
    images = np.arange(10, dtype=np.float32)[:, None, None, None] * np.ones(
        (1, 4, 4, 1), np.float32
    )
    labels = np.arange(10) % 3
    dataset = data.image_dataset(images, labels, batch_size=4, seed=5)
    epochs = []
    for _ in range(2):
        order = []
        for x, y in dataset:
            assert x.shape[1:] == (4, 4, 1) and y.dtype == tf.int32
            index = x.numpy()[:, 0, 0, 0].astype(int)  # the image's number
            np.testing.assert_array_equal(y, labels[index])
            order.extend(index.tolist())
        epochs.append(order)
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(10))
    assert epochs[0] != epochs[1]
    fixed = data.image_dataset(images, labels, batch_size=4, shuffle=False)
    assert [len(y) for _, y in fixed] == [4, 4, 2]
    with pytest.raises(ValueError, match="10 images, received 9 labels"):
        data.image_dataset(images, labels[:9])
