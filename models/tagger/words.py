"""Words and word pieces: a tagger's inputs from lists of words, and the
windows that give every word of a long sentence a label.

A tagger reads words (a list per sentence, never a string to re-split)
and labels each one. The WordPiece tokenizer turns each word into one or
more pieces; the row the network sees is `[CLS]`, the pieces of the
words in order, `[SEP]` and padding, and `word_starts` holds each word's
first-piece position. Alignment is plain NumPy on the tokenizer's output,
so training, prediction, evaluation and the phone file's inputs agree.

Sentences longer than the row: in training, the words that do not fit
are cut and counted (`Encoded.cut_words`); in prediction, a sentence is
taken in overlapping windows of words (`word_windows`), and each word's
label comes from the window where it sits farthest from an edge.
"""

import dataclasses
import weakref

import numpy as np

# One traced tokenize function per tokenizer (tracing takes a second).
_TOKENIZE = weakref.WeakKeyDictionary()


def _tokenize(tokenizer):
    import tensorflow as tf

    if tokenizer not in _TOKENIZE:
        # Inside a tf.function keras-hub's tokenizer returns a RaggedTensor
        # (eagerly it converts its output to Python lists, slowly).
        _TOKENIZE[tokenizer] = tf.function(
            tokenizer.tokenize,
            input_signature=[tf.TensorSpec([None], tf.string)],
        )
    return _TOKENIZE[tokenizer]


def check_sentences(sentences, what="sentences"):
    """`sentences` as a list of lists of str, or one clear error."""
    if isinstance(sentences, (str, bytes)) or not hasattr(
        sentences, "__len__"
    ):
        raise TypeError(
            f"`{what}` must be a list of sentences, each a list of words "
            f"(str); received {type(sentences).__name__}."
        )
    checked = []
    for i, words in enumerate(sentences):
        if isinstance(words, (str, bytes)):
            raise TypeError(
                f"`{what}[{i}]` is a string ({str(words)[:40]!r}); expected "
                "a list of words. Split the sentence into words first (a "
                "tagger labels the words it is given)."
            )
        words = list(words)
        if not words:
            raise ValueError(
                f"`{what}[{i}]` is an empty sentence; expected at least one "
                "word."
            )
        for word in words:
            if not isinstance(word, str):
                raise TypeError(
                    f"`{what}[{i}]` holds {word!r} "
                    f"({type(word).__name__}); expected words as str."
                )
        checked.append(words)
    return checked


def word_pieces(tokenizer, sentences):
    """The piece ids of every word: a list (sentence) of lists (word) of
    int arrays. A word the tokenizer turns into nothing (only spaces or
    control characters) becomes `[UNK]`, so every word has a first piece.

    Args:
        tokenizer: a WordPiece tokenizer (keras-hub's `BertTokenizer`:
            called on a string tensor, it gives ragged piece ids).
        sentences: a list of lists of words.
    """
    import tensorflow as tf

    words = [word for sentence in sentences for word in sentence]
    if not words:
        return []
    ragged = _tokenize(tokenizer)(tf.constant(words))
    lengths = ragged.row_lengths().numpy()
    values = ragged.flat_values.numpy().astype("int32")
    unknown = np.int32(tokenizer.token_to_id(tokenizer.oov_token))
    starts = np.concatenate([[0], np.cumsum(lengths)])
    pieces = [
        values[a:b] if b > a else np.array([unknown], "int32")
        for a, b in zip(starts[:-1], starts[1:], strict=True)
    ]
    out, at = [], 0
    for sentence in sentences:
        out.append(pieces[at : at + len(sentence)])
        at += len(sentence)
    return out


@dataclasses.dataclass
class Encoded:
    """Network inputs for a batch of sentences (or windows of them).

    Attributes:
        inputs: dict of int32 arrays, `token_ids`, `segment_ids`,
            `padding_mask` `(N, T)` and `word_starts` `(N, T - 2)`.
        word_mask: bool `(N, T - 2)`, True for the words in the row.
        words: int array `(N,)`, words in each row.
        cut_words: int. Words left out because the row was full.
    """

    inputs: dict
    word_mask: np.ndarray
    words: np.ndarray
    cut_words: int


def encode(pieces, sequence_length, special_ids):
    """Rows for the network from each sentence's word pieces, words that
    do not fit cut (and counted).

    Args:
        pieces: a list (row) of lists (word) of piece-id arrays, as
            `word_pieces` gives.
        sequence_length: int >= 3. Pieces per row, `[CLS]` and `[SEP]`
            included.
        special_ids: `(cls, sep, pad)` ids.

    Returns:
        `Encoded`. A single word longer than the row keeps its first
        pieces (its label reads the first).
    """
    cls_id, sep_id, pad_id = special_ids
    budget = sequence_length - 2
    count = len(pieces)
    token_ids = np.full((count, sequence_length), pad_id, "int32")
    word_starts = np.zeros((count, budget), "int32")
    word_mask = np.zeros((count, budget), bool)
    words = np.zeros((count,), "int32")
    cut = 0
    for row, sentence in enumerate(pieces):
        ids, starts = [cls_id], []
        for word in sentence:
            if len(ids) - 1 + len(word) > budget and starts:
                break
            starts.append(len(ids))
            ids.extend(word[: budget - (len(ids) - 1)].tolist())
        ids.append(sep_id)
        token_ids[row, : len(ids)] = ids
        word_starts[row, : len(starts)] = starts
        word_mask[row, : len(starts)] = True
        words[row] = len(starts)
        cut += len(sentence) - len(starts)
    inputs = {
        "token_ids": token_ids,
        "segment_ids": np.zeros_like(token_ids),
        "padding_mask": (token_ids != pad_id).astype("int32"),
        "word_starts": word_starts,
    }
    return Encoded(inputs, word_mask, words, cut)


def word_windows(piece_counts, budget):
    """Overlapping windows of words that each fit in `budget` pieces, and
    the window each word takes its label from.

    A window ends where the next word would not fit (a single word longer
    than the budget is a window of its own); the next starts halfway
    through it, so every word but those at a sentence's ends is seen with
    context on both sides. Each word is labelled from the window where it
    is farthest from an edge (the first such on ties).

    Args:
        piece_counts: pieces of each word, a sequence of ints >= 1.
        budget: int >= 1. Pieces a window holds.

    Returns:
        `(windows, owner)`: a list of `(start, end)` word ranges and, for
        each word, the index of its window.

    Example:

    >>> word_windows([1, 1, 1, 1, 1], budget=3)
    ([(0, 3), (1, 4), (2, 5)], [0, 0, 1, 2, 2])
    """
    count = len(piece_counts)
    windows, start = [], 0
    while True:
        end, used = start, 0
        while end < count and (
            used + piece_counts[end] <= budget or end == start
        ):
            used += piece_counts[end]
            end += 1
        windows.append((start, end))
        if end >= count:
            break
        start = max(start + 1, (start + end) // 2)
    owner = []
    for word in range(count):
        best, best_room = 0, -1
        for index, (a, b) in enumerate(windows):
            if a <= word < b:
                room = min(word - a, b - 1 - word)
                if room > best_room:
                    best, best_room = index, room
        owner.append(best)
    return windows, owner
