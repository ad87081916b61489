"""Text to BERT inputs with keras-hub's WordPiece tokenizer and packer."""

from pathlib import Path

import keras
import keras_hub
import tensorflow as tf

from keras_attn.models._common import read_json

_SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")


@keras.saving.register_keras_serializable(package="keras_attn")
class BertWordPieceTokenizer(keras_hub.models.BertTokenizer):
    """keras-hub's `BertTokenizer`, splitting on every Unicode space.

    transformers' BERT tokenizer splits words on all space separators
    (Unicode category Zs: no-break, thin, narrow no-break spaces, ...);
    keras-hub 0.32 splits only on ASCII whitespace, so "Assez\u202f!"
    became one unknown word. They are mapped to " " first.
    """

    def tokenize(self, inputs):
        inputs = tf.strings.regex_replace(inputs, r"\p{Zs}", " ")
        return super().tokenize(inputs)


def _read_vocabulary(folder):
    path = folder / "vocab.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; a BERT preprocessor needs the checkpoint's "
            "WordPiece vocabulary."
        )
    try:
        vocabulary = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    seen, repeated = set(), []
    for token in vocabulary:
        if token in seen and token not in repeated:
            repeated.append(token)
        seen.add(token)
    if repeated:
        raise ValueError(
            f"{path} repeats {repeated[:5]}; every WordPiece token must "
            "appear once."
        )
    missing = [t for t in _SPECIAL_TOKENS if t not in vocabulary]
    if missing:
        raise ValueError(
            f"{path} lacks the special tokens {missing}; a BERT vocabulary "
            f"holds {list(_SPECIAL_TOKENS)}."
        )
    return vocabulary


def _read_casing(folder):
    """(lowercase, strip_accents) as the checkpoint's tokenizer has them."""
    path = folder / "tokenizer_config.json"
    config = read_json(path) if path.is_file() else {}
    # transformers' BertTokenizer: lowercase by default, and accents are
    # stripped when `strip_accents` is unset and the text is lowercased.
    lowercase = bool(config.get("do_lower_case", True))
    strip_accents = config.get("strip_accents")
    if strip_accents is None:
        strip_accents = lowercase
    return lowercase, bool(strip_accents)


def load_bert_preprocessor(path, sequence_length=128, truncate="round_robin"):
    """The preprocessing layer for a local BERT checkpoint folder.

    Reads `vocab.txt` and, when present, `tokenizer_config.json`
    (`do_lower_case`, `strip_accents`), and returns keras-hub's
    `BertTextClassifierPreprocessor` over keras-hub's `BertTokenizer`: a
    Keras layer that also runs inside `tf.data`. It maps a string, a list
    of strings or a string tensor, or a pair `(first, second)` of those, to
    the backbone's inputs: `token_ids` (`[CLS] a [SEP]` or
    `[CLS] a [SEP] b [SEP]`, padded with 0 to `sequence_length`),
    `segment_ids` and `padding_mask`.

    Args:
        path: str or Path. The checkpoint folder.
        sequence_length: int. Tokens per example after packing.
        truncate: `"round_robin"` (trim the longer segment first) or
            `"waterfall"` (trim the last segment first).

    Returns:
        keras_hub.models.BertTextClassifierPreprocessor.

    Example:

    >>> pre = load_bert_preprocessor("path/to/model")  # doctest: +SKIP
    >>> pre(["a sentence", "another one"])["token_ids"].shape  # doctest: +SKIP
    TensorShape([2, 128])
    """
    folder = Path(path)
    vocabulary = _read_vocabulary(folder)
    lowercase, strip_accents = _read_casing(folder)
    tokenizer = BertWordPieceTokenizer(
        vocabulary=vocabulary,
        lowercase=lowercase,
        strip_accents=strip_accents,
    )
    return keras_hub.models.BertTextClassifierPreprocessor(
        tokenizer, sequence_length=sequence_length, truncate=truncate
    )
