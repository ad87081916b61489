"""The alignment of a translation: the decoder's attention weights over
the source pieces, and their drawing as in Bahdanau et al. (2015),
figure 3 (source words on x, generated words on y, white for weight 1 and
black for 0)."""

import numpy as np

from keras_attn.models.rnn.model import attention_weights
from keras_attn.models.rnn.parts import RNNTranslatorParts


def _pieces(tokenizer, ids):
    return [str(tokenizer.id_to_token(int(i))) for i in ids]


WORD_START = "\u2581"  # SentencePiece's mark of a piece that starts a word


def _words(pieces):
    """`(words, groups)`: the pieces joined into words, and each word's
    piece indices. A piece with the word mark starts a word; a special
    piece (`</s>`) is a word of its own."""
    words, groups = [], []
    after_special = True  # the first piece starts a word too
    for index, piece in enumerate(pieces):
        special = piece.startswith("<") and piece.endswith(">")
        if special or after_special or piece.startswith(WORD_START):
            words.append(piece.lstrip(WORD_START))
            groups.append([index])
        else:
            words[-1] += piece
            groups[-1].append(index)
        after_special = special
    return words, groups


def word_alignment(source_pieces, target_pieces, weights):
    """Piece alignment to word alignment: a source word's weight is the sum
    of its pieces' (each row still sums to what it did), a target word's
    row the mean of its pieces' rows.

    Returns:
        `(source_words, target_words, weights)`, weights float32
        `(len(target_words), len(source_words))`.

    Example:

    "cats sat" is two words of three pieces, "chats" one word of two: the
    rows are [0.5 + 0.25, 0.25] and [0 + 1, 0], whose mean is one row.

    >>> import numpy as np
    >>> weights = np.array([[0.5, 0.25, 0.25], [0.0, 1.0, 0.0]])
    >>> word_alignment(["\u2581ca", "ts", "\u2581sat"],
    ...                ["\u2581chat", "s"], weights)[2].tolist()
    [[0.875, 0.125]]
    """
    weights = np.asarray(weights, "float32")
    source, source_groups = _words(source_pieces)
    target, target_groups = _words(target_pieces)
    columns = np.stack(
        [weights[:, group].sum(axis=1) for group in source_groups], axis=1
    )  # (target pieces, source words)
    rows = np.stack(
        [columns[group].mean(axis=0) for group in target_groups], axis=0
    )
    return source, target, rows


def translation_alignment(translator, sentence, words=False):
    """Translates one sentence greedily and returns its alignment.

    Args:
        translator: a `keras_attn.models.Translator` holding an
            `RNNTranslator`.
        sentence: str.
        words: bool. Join the pieces into words (`word_alignment`), as
            the paper draws them. Defaults to False (pieces).

    Returns:
        `(source_pieces, target_pieces, weights)`: the SentencePiece
        pieces of the source and of the translation (its end token last),
        and float32 `(len(target_pieces), len(source_pieces))`, row i the
        attention weights when the decoder produced target piece i; with
        `words`, words instead of pieces.

    Example:

    >>> from keras_attn import models
    >>> sentences = ["the cat sat", "le chat", "a cat", "un chat"] * 20
    >>> tokenizer = models.train_translation_tokenizer(
    ...     sentences, vocabulary_size=15)
    >>> model = models.rnn_translator("rnn_translator_tiny",
    ...                               vocabulary_size=15)
    >>> translator = models.Translator(model, tokenizer, max_target_length=4)
    >>> source, target, weights = translation_alignment(translator, "a cat")
    >>> weights.shape == (len(target), len(source))
    True
    """
    from keras_attn.models.translator import decoding
    from keras_attn.models.translator.text import END_ID
    from keras_attn.models.translator.text import START_ID

    if not isinstance(sentence, str):
        raise TypeError(
            f"`sentence` must be one str; received {type(sentence).__name__}."
        )
    RNNTranslatorParts(translator.model)  # says so if it is not an RNN
    ids = np.asarray(translator.encode_source([sentence]))  # (1, S)
    length = max(int((ids[0] != 0).sum()), 1)
    tokens = np.asarray(
        decoding.greedy_decode(
            translator.model,
            ids,
            translator.max_target_length,
            START_ID,
            END_ID,
        )
    )[0]
    generated = list(tokens)
    if END_ID in generated:
        generated = generated[: generated.index(END_ID) + 1]
    else:
        generated = [t for t in generated if t != 0]
    decoder_input = np.asarray([[START_ID] + generated[:-1]], "int32")
    weights = attention_weights(translator.model, ids, decoder_input)[0]
    source = _pieces(translator.source_tokenizer, ids[0, :length])
    target = _pieces(translator.target_tokenizer, generated)
    weights = weights[: len(target), :length]
    if words:
        return word_alignment(source, target, weights)
    return source, target, weights


def draw_alignment(translator, sentence, path, words=True):
    """Draws the alignment of a sentence's greedy translation to `path`.

    Source words along the x axis, generated words down the y axis, one
    grey square per pair: white for attention weight 1, black for 0 (as in
    the paper's figure 3). Needs matplotlib (the `examples` extra).

    Args:
        translator: a `keras_attn.models.Translator` holding an
            `RNNTranslator`.
        sentence: str. The source sentence.
        path: str or path-like. The image file (`.png`, `.pdf`, ...).
        words: bool. Words (the default) or SentencePiece pieces.

    Returns:
        `(source, target, weights)` as `translation_alignment`.

    Example (skipped in the tests, where matplotlib is not installed):

    >>> from keras_attn import models
    >>> translator = models.Translator.load("rnn-eng-fra")  # doctest: +SKIP
    >>> draw_alignment(translator, "I am cold.",
    ...                "alignment.png")  # doctest: +SKIP
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError(
            "draw_alignment needs matplotlib: pip install "
            "'keras-attn[examples]'."
        ) from None
    source, target, weights = translation_alignment(
        translator, sentence, words=words
    )
    size = (max(3.0, 0.45 * len(source) + 1.5), max(3.0, 0.45 * len(target)))
    figure, axes = plt.subplots(figsize=size)
    axes.imshow(weights, cmap="gray", vmin=0.0, vmax=1.0, aspect="equal")
    axes.set_xticks(range(len(source)), source, rotation=90)
    axes.set_yticks(range(len(target)), target)
    axes.xaxis.tick_top()
    axes.set_xlabel("source")
    axes.set_ylabel("translation")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return source, target, weights
