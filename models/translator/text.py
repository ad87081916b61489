"""Text in, text out: the translator model with its SentencePiece tokenizer.

The tokenizer is keras-hub's `SentencePieceTokenizer`, trained here on the
training sentences (`train_translation_tokenizer`). SentencePiece turns its
pieces back into the exact text, spaces and punctuation included, which
matters for French ("l'homme", "Est-ce ... ?") and for BLEU.
"""

import json
import pathlib

import keras
import keras_hub
import numpy as np
import tensorflow as tf

from keras_attn._keras_file import load_keras_file
from keras_attn.errors import CorruptModelError
from keras_attn.models._common import read_json
from keras_attn.models.translator import decoding

# compute_sentence_piece_proto fixes these ids.
PAD_ID, UNKNOWN_ID, START_ID, END_ID = 0, 1, 2, 3
_FORMAT = 1

__all__ = [
    "END_ID",
    "PAD_ID",
    "START_ID",
    "UNKNOWN_ID",
    "Translator",
    "train_translation_tokenizer",
    "trim_batch",
]


def train_translation_tokenizer(
    sentences, vocabulary_size=8000, model_type="unigram", lowercase=False
):
    """Trains a SentencePiece tokenizer with keras-hub.

    Give it the sentences of both languages for one joint vocabulary (what
    `share_embeddings=True` needs), or one language's for its own.

    Args:
        sentences: list of str, or a `tf.data.Dataset` of strings.
        vocabulary_size: int. Number of pieces, the 4 special ones included
            (padding 0, unknown 1, start 2, end 3).
        model_type: "unigram" (Kudo, 2018) or "bpe".
        lowercase: bool. Lowercase before splitting. Defaults to False.

    Returns:
        `keras_hub.tokenizers.SentencePieceTokenizer`.

    Example:

    >>> sentences = ["the cat sat", "le chat", "a cat", "un chat"] * 20
    >>> tokenizer = train_translation_tokenizer(sentences, vocabulary_size=15)
    >>> tokenizer.vocabulary_size(), tokenizer.id_to_token(3)
    (15, '</s>')

    References:
        - Kudo and Richardson, "SentencePiece: A simple and language
          independent subword tokenizer and detokenizer for Neural Text
          Processing", 2018. https://arxiv.org/abs/1808.06226
    """
    if isinstance(sentences, tf.data.Dataset):
        data = sentences
    else:
        sentences = list(sentences)
        if not sentences or not all(isinstance(s, str) for s in sentences):
            raise ValueError(
                "`sentences` must be a non-empty list of str or a "
                "tf.data.Dataset of strings; received "
                f"{type(sentences).__name__} of {len(sentences)} items."
            )
        data = tf.data.Dataset.from_tensor_slices(sentences)
    import sentencepiece

    # SentencePiece's trainer logs every step to stderr; keep warnings.
    sentencepiece.set_min_log_level(1)
    try:
        proto = keras_hub.tokenizers.compute_sentence_piece_proto(
            data,
            vocabulary_size,
            model_type=model_type,
            lowercase=lowercase,
        )
    except RuntimeError as error:
        # Most often: the text has fewer distinct pieces than asked for.
        raise ValueError(
            f"SentencePiece could not train a vocabulary of "
            f"{vocabulary_size} pieces: {error}"
        ) from None
    return keras_hub.tokenizers.SentencePieceTokenizer(proto=proto)


class Translator:
    """A `transformer_translator` model with its tokenizers.

    Maps sentences to model inputs (`preprocess`, `dataset`), translates
    (`translate`, greedy or beam search with the decoder cache), and saves
    everything in one folder: `model.keras`, the SentencePiece model(s) and
    `translator.json`.

    Args:
        model: a model from `transformer_translator` or `rnn_translator`.
        source_tokenizer: a keras-hub `SentencePieceTokenizer` from
            `train_translation_tokenizer`.
        target_tokenizer: the same for the target language; None (the
            default) to use `source_tokenizer` (a joint vocabulary).
        max_source_length: int. Source tokens kept (longer inputs are
            truncated). Defaults to 64.
        max_target_length: int. Most target tokens generated or trained
            on, the end token included. Defaults to 64.

    Example:

    >>> sentences = ["the cat sat", "le chat", "a cat", "un chat"] * 20
    >>> tokenizer = train_translation_tokenizer(sentences, vocabulary_size=15)
    >>> model = transformer_translator("translator_tiny", vocabulary_size=15)
    >>> translator = Translator(model, tokenizer, max_target_length=5)
    >>> len(translator.translate(["a cat"]))
    1
    """

    def __init__(
        self,
        model,
        source_tokenizer,
        target_tokenizer=None,
        max_source_length=64,
        max_target_length=64,
    ):
        self.model = model
        self.source_tokenizer = source_tokenizer
        self.target_tokenizer = target_tokenizer or source_tokenizer
        self.joint = target_tokenizer is None
        for name, value in (
            ("max_source_length", max_source_length),
            ("max_target_length", max_target_length),
        ):
            if not isinstance(value, int) or value < 1:
                raise ValueError(
                    f"`{name}` must be a positive int; received {value!r}."
                )
        self.max_source_length = max_source_length
        self.max_target_length = max_target_length
        parts = decoding.translator_parts(model)
        for side, tokenizer, table in (
            ("source", self.source_tokenizer, parts.source_table),
            ("target", self.target_tokenizer, parts.target_table),
        ):
            if tokenizer.vocabulary_size() != table.input_dim:
                raise ValueError(
                    f"The {side} tokenizer has {tokenizer.vocabulary_size()} "
                    f"pieces but the model's {side} vocabulary has "
                    f"{table.input_dim}; build the model with the "
                    "tokenizer's vocabulary size."
                )
        self._source_packer = keras_hub.layers.StartEndPacker(
            sequence_length=max_source_length, pad_value=PAD_ID
        )
        # The target is packed one longer, then split into the decoder's
        # input (from the start token) and the labels (up to the end).
        self._target_packer = keras_hub.layers.StartEndPacker(
            sequence_length=max_target_length + 1,
            start_value=START_ID,
            end_value=END_ID,
            pad_value=PAD_ID,
        )

    def encode_source(self, sentences):
        """int32 `(batch, max_source_length)` source ids, 0-padded."""
        return self._source_packer(self.source_tokenizer(sentences))

    def preprocess(self, source, target):
        """Model inputs, labels and label weights for training.

        Usable inside `tf.data` (`dataset.map(translator.preprocess)`).

        Returns:
            `(inputs, labels, weights)`: `inputs` is the model's dict,
            `labels` the next target token at each position and `weights`
            1.0 on real tokens, 0.0 on padding.
        """
        packed = self._target_packer(self.target_tokenizer(target))
        inputs = {
            "encoder_token_ids": self.encode_source(source),
            "decoder_token_ids": packed[..., :-1],
        }
        labels = packed[..., 1:]
        weights = tf.cast(labels != PAD_ID, "float32")
        return inputs, labels, weights

    def dataset(self, pairs, batch_size=64, shuffle=True, seed=0, trim=True):
        """A batched, prefetched `tf.data.Dataset` for `model.fit`.

        Args:
            pairs: list of `(source, target)` strings.
            batch_size: int.
            shuffle: bool. Reshuffled every epoch, from `seed`.
            seed: int.
            trim: bool. Cut each batch to its longest source and target
                (short sentences then cost what they are, not the maximum
                length); False keeps the fixed lengths.
        """
        if not pairs:
            raise ValueError("`pairs` is empty; expected (source, target).")
        source, target = (list(side) for side in zip(*pairs, strict=True))
        data = tf.data.Dataset.from_tensor_slices((source, target))
        if shuffle:
            data = data.shuffle(len(source), seed=seed)
        data = data.batch(batch_size).map(
            self.preprocess, num_parallel_calls=tf.data.AUTOTUNE
        )
        if trim:
            data = data.map(trim_batch, num_parallel_calls=tf.data.AUTOTUNE)
        return data.prefetch(tf.data.AUTOTUNE)

    def fit(
        self,
        x,
        y,
        batch_size=64,
        validation_data=None,
        seed=0,
        **kwargs,
    ):
        """Trains the model on sentences: `x` the sources, `y` their
        translations (lists of str), as a keras-hub task fits on raw text.

        The model is compiled first if it is not (Adam 1e-3, sparse
        categorical cross-entropy on logits weighted to the real tokens,
        token accuracy); compile `translator.model` yourself for other
        settings.

        Args:
            x: list of source sentences.
            y: list of target sentences, one per source.
            batch_size: int.
            validation_data: optional `(sources, targets)`.
            seed: int. The shuffling order.
            **kwargs: passed to `model.fit` (`epochs`, `callbacks`, ...).

        Returns:
            Keras's `History`.
        """
        x, y = _sentence_list(x, "x"), _sentence_list(y, "y")
        if len(x) != len(y):
            raise ValueError(
                f"`x` holds {len(x)} sentences and `y` {len(y)}; expected "
                "one translation per source sentence."
            )
        if not self.model.compiled:
            self.model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss=keras.losses.SparseCategoricalCrossentropy(
                    from_logits=True
                ),
                weighted_metrics=["accuracy"],
            )
        train = self.dataset(
            list(zip(x, y, strict=True)), batch_size, seed=seed
        )
        if validation_data is not None:
            sources, targets = validation_data
            validation_data = self.dataset(
                list(zip(sources, targets, strict=True)),
                batch_size,
                shuffle=False,
            )
        kwargs.setdefault("shuffle", False)  # the dataset is shuffled
        return self.model.fit(train, validation_data=validation_data, **kwargs)

    def predict(self, sentences, **kwargs):
        """`translate(sentences, **kwargs)`: what the other tasks call
        `predict`."""
        return self.translate(sentences, **kwargs)

    def translate(
        self,
        sentences,
        beam_size=1,
        length_penalty_alpha=0.6,
        batch_size=64,
        jit_compile=False,
    ):
        """Translates a list of sentences.

        Args:
            sentences: list of str (or one str).
            beam_size: int. 1 decodes greedily; more runs beam search.
            length_penalty_alpha: float. For beam search, see
                `beam_search`.
            batch_size: int. Sentences decoded together.
            jit_compile: bool. Compile the decoding loop with XLA.

        Returns:
            list of str (or one str for one str).
        """
        single = isinstance(sentences, str)
        sentences = [sentences] if single else list(sentences)
        results = []
        for begin in range(0, len(sentences), batch_size):
            batch = sentences[begin : begin + batch_size]
            ids = self.encode_source(tf.constant(batch))
            if beam_size == 1:
                tokens = decoding.greedy_decode(
                    self.model,
                    ids,
                    self.max_target_length,
                    START_ID,
                    END_ID,
                    jit_compile=jit_compile,
                )
            else:
                tokens = decoding.beam_search(
                    self.model,
                    ids,
                    self.max_target_length,
                    START_ID,
                    END_ID,
                    beam_size=beam_size,
                    length_penalty_alpha=length_penalty_alpha,
                    jit_compile=jit_compile,
                )
            results.extend(self.detokenize(np.asarray(tokens)))
        return results[0] if single else results

    def detokenize(self, tokens):
        """Text of generated ids; the end token and what follows dropped."""
        texts = []
        for row in np.asarray(tokens):
            row = list(row)
            if END_ID in row:
                row = row[: row.index(END_ID)]
            row = [t for t in row if t != PAD_ID]
            text = self.target_tokenizer.detokenize(np.asarray(row, "int32"))
            texts.append(_to_str(text))
        return texts

    def save(self, directory):
        """Writes `model.keras`, the tokenizer(s) and `translator.json`."""
        directory = pathlib.Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.model.save(directory / "model.keras")
        (directory / "source.spm").write_bytes(
            _proto_bytes(self.source_tokenizer)
        )
        if not self.joint:
            (directory / "target.spm").write_bytes(
                _proto_bytes(self.target_tokenizer)
            )
        settings = {
            "format": _FORMAT,
            "joint_vocabulary": self.joint,
            "max_source_length": self.max_source_length,
            "max_target_length": self.max_target_length,
        }
        (directory / "translator.json").write_text(
            json.dumps(settings, indent=2) + "\n", encoding="utf-8"
        )

    @classmethod
    def load(cls, directory, safe_mode=True):
        """Reads a folder written by `save` (Keras safe mode stays on).

        The model goes through `keras_attn.load_model`'s checks; a
        damaged file raises `keras_attn.CorruptModelError` naming it.
        """
        directory = pathlib.Path(directory)
        needed = ["model.keras", "source.spm", "translator.json"]
        missing = [name for name in needed if not (directory / name).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{directory} is not a saved Translator: missing {missing}."
            )
        settings = read_json(directory / "translator.json")
        if settings.get("format") != _FORMAT:
            raise ValueError(
                f"{directory / 'translator.json'} has format "
                f"{settings.get('format')!r}; expected {_FORMAT}."
            )
        model = load_keras_file(directory / "model.keras", safe_mode=safe_mode)
        source = _load_tokenizer(directory / "source.spm")
        target = None
        if not settings["joint_vocabulary"]:
            target = _load_tokenizer(directory / "target.spm")
        return cls(
            model,
            source,
            target,
            max_source_length=settings["max_source_length"],
            max_target_length=settings["max_target_length"],
        )


def trim_batch(inputs, labels, weights):
    """Drops the columns that are padding in every row of the batch.

    What `Translator.dataset(trim=True)` does to each batch of
    `Translator.preprocess`: a batch of short sentences then costs what
    they are, not the maximum length.

    Example:

    >>> import tensorflow as tf
    >>> ids = tf.constant([[5, 6, 0, 0], [7, 0, 0, 0]])
    >>> inputs, labels, weights = trim_batch(
    ...     {"encoder_token_ids": ids, "decoder_token_ids": ids}, ids,
    ...     tf.cast(ids != 0, "float32"))
    >>> inputs["encoder_token_ids"].shape, labels.shape
    (TensorShape([2, 2]), TensorShape([2, 2]))
    """

    def used(ids):
        # Tokens are packed to the left, so the count of real tokens in
        # the fullest row is the length the batch needs.
        return tf.reduce_max(tf.reduce_sum(tf.cast(ids != PAD_ID, "int32"), 1))

    source = inputs["encoder_token_ids"]
    source = source[:, : tf.maximum(used(source), 1)]
    target = tf.maximum(used(labels), 1)
    inputs = {
        "encoder_token_ids": source,
        "decoder_token_ids": inputs["decoder_token_ids"][:, :target],
    }
    return inputs, labels[:, :target], weights[:, :target]


def _proto_bytes(tokenizer):
    proto = tokenizer.proto
    if isinstance(proto, str):
        return pathlib.Path(proto).read_bytes()
    return bytes(proto)


def _load_tokenizer(path):
    try:
        return keras_hub.tokenizers.SentencePieceTokenizer(
            proto=path.read_bytes()
        )
    except Exception as error:  # TF and SentencePiece raise many kinds
        raise CorruptModelError(
            path,
            f"not a SentencePiece model ({type(error).__name__}: "
            f"{str(error)[:300]}).",
        ) from None


def _sentence_list(values, name):
    if isinstance(values, str) or not all(
        isinstance(value, str) for value in values
    ):
        raise TypeError(
            f"`{name}` must be a list of str sentences; received "
            f"{str(values)[:80]!r}."
        )
    return list(values)


def _to_str(text):
    if hasattr(text, "numpy"):
        text = text.numpy()
    if isinstance(text, np.ndarray):
        text = text.item()
    return text.decode("utf-8") if isinstance(text, bytes) else str(text)
