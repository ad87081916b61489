"""`load_bert_preprocessor` against transformers' Rust WordPiece tokenizer.

The reference is `tokenizers.BertWordPieceTokenizer` (the `tokenizers`
package that keras-hub itself depends on), built from the same small
vocabulary file, with its padding and truncation turned on.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
from tokenizers import BertWordPieceTokenizer

from keras_attn.models import load_bert_preprocessor

WORDS = (
    "the a is was it movie film good bad great not very and of to "
    "this that ! , . ? ' - un ##believ ##able ##s ##ly ##ed ##ing run "
    "cafe resume naive ete b c 日 本 語 ass ##ez paix toi"
).split()
VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
LENGTH = 12

SENTENCES = [
    "The movie was good!",
    "this film is NOT very good , and it was bad .",  # long: truncated
    "Unbelievable",
    "Café résumé naïve été",  # accents are stripped
    "日本語",  # CJK characters become single tokens
    "Assez\u202f! paix\u00a0toi\u2009?",  # Unicode spaces split words
    "xyzzy qwerty",  # unknown words
    "",
    "   ",
    "it's   a\tgreat\nrun",
]
PAIRS = [
    ("The movie was good", "it was great"),
    ("not very good , and it was bad . bad bad", "the film"),
    ("", "a b c"),
]


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY) + "\n")
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": True, "strip_accents": None})
    )
    return tmp_path


def reference(folder):
    tokenizer = BertWordPieceTokenizer(
        str(folder / "vocab.txt"), lowercase=True
    )
    tokenizer.enable_truncation(LENGTH)
    tokenizer.enable_padding(length=LENGTH, pad_id=0)
    return tokenizer


def as_numpy(features):
    return {k: np.asarray(v) for k, v in features.items()}


def test_single_sentences_match_the_reference(folder):
    preprocessor = load_bert_preprocessor(folder, sequence_length=LENGTH)
    want = reference(folder).encode_batch(SENTENCES)
    got = as_numpy(preprocessor(SENTENCES))
    for row, (sentence, encoding) in enumerate(
        zip(SENTENCES, want, strict=True)
    ):
        assert got["token_ids"][row].tolist() == encoding.ids, sentence
        assert got["segment_ids"][row].tolist() == encoding.type_ids
        assert got["padding_mask"][row].astype(int).tolist() == (
            encoding.attention_mask
        )


def test_pairs_match_the_reference(folder):
    preprocessor = load_bert_preprocessor(folder, sequence_length=LENGTH)
    first = tf.constant([a for a, _ in PAIRS])
    second = tf.constant([b for _, b in PAIRS])
    got = as_numpy(preprocessor(x=(first, second)))
    want = reference(folder).encode_batch(PAIRS)
    for row, encoding in enumerate(want):
        assert got["token_ids"][row].tolist() == encoding.ids, PAIRS[row]
        assert got["segment_ids"][row].tolist() == encoding.type_ids


def test_runs_inside_tf_data_with_labels(folder):
    preprocessor = load_bert_preprocessor(folder, sequence_length=LENGTH)
    labels = np.arange(len(SENTENCES))
    dataset = (
        tf.data.Dataset.from_tensor_slices((SENTENCES, labels))
        .batch(4)
        .map(preprocessor)
    )
    features, batch_labels = next(iter(dataset))
    eager = as_numpy(preprocessor(SENTENCES[:4]))
    np.testing.assert_array_equal(features["token_ids"], eager["token_ids"])
    np.testing.assert_array_equal(batch_labels, labels[:4])


def test_cased_checkpoints_keep_case_and_accents(folder):
    (folder / "tokenizer_config.json").write_text(
        json.dumps({"do_lower_case": False})
    )
    preprocessor = load_bert_preprocessor(folder, sequence_length=LENGTH)
    ids = np.asarray(preprocessor(["The movie", "Café"])["token_ids"])
    unk = VOCABULARY.index("[UNK]")
    assert ids[0, 1] == unk  # "The" is not in the lowercase vocabulary
    assert ids[0, 2] == VOCABULARY.index("movie")
    assert ids[1, 1] == unk


def test_missing_or_bad_vocabulary_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        load_bert_preprocessor(tmp_path)
    (tmp_path / "vocab.txt").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"vocab.txt lacks the special"):
        load_bert_preprocessor(tmp_path)
    (tmp_path / "vocab.txt").write_text("\n".join(VOCABULARY + ["the"]))
    with pytest.raises(ValueError, match=r"vocab.txt repeats \['the'\]"):
        load_bert_preprocessor(tmp_path)
    (tmp_path / "vocab.txt").write_bytes(b"\xff\xfe[CLS]\n")
    with pytest.raises(ValueError, match="vocab.txt is not UTF-8"):
        load_bert_preprocessor(tmp_path)
