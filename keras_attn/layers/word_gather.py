import keras
from keras import ops

from keras_attn.layers import _validation as check


@keras.saving.register_keras_serializable(package="keras_attn")
class WordGather(keras.layers.Layer):
    """One vector per word from a sequence of word pieces: the vector at
    each word's first piece.

    A WordPiece tokenizer splits a word into one or more pieces; a tagger
    labels words, so it reads each word's first piece (as BERT's paper
    tags named entities). `word_starts[b, w]` is the position of word
    `w`'s first piece in row `b`. Positions are clipped into
    `[0, sequence_length - 1]`, so padding words (position 0 by
    convention) read the first token and every runtime agrees on
    out-of-range indices instead of failing on some and giving zeros on
    others.

    The gather is one 1-D `take` on the flattened `(batch * T, hidden)`
    sequence, a form TFLite lowers to a single GATHER with 1-D indices,
    which phone GPUs and NPUs accept (a batched gather becomes GATHER_ND or
    GATHER with 2-D indices, which they refuse).

    Args:
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` piece vectors.
        word_starts: `(batch, W)` integer positions in `[0, T)`.

    Returns:
        `(batch, W, hidden)`: `inputs[b, word_starts[b, w]]`.

    Masking:
        The output carries no mask; which words are real is the caller's
        (a tagger weights the padding words' loss by 0).

    Example:

    >>> import numpy as np
    >>> x = np.arange(12, dtype="float32").reshape(1, 6, 2)
    >>> np.asarray(WordGather()(x, np.array([[1, 3, 0]]))).tolist()
    [[[2.0, 3.0], [6.0, 7.0], [0.0, 1.0]]]

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019, section 5.3
          (the first sub-token's representation feeds the tagger).
          https://arxiv.org/abs/1810.04805
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)

    def build(self, inputs_shape, word_starts_shape=None):
        check.check_rank(
            self.__class__.__name__,
            "inputs",
            inputs_shape,
            3,
            "(batch, sequence_length, hidden)",
        )
        if word_starts_shape is not None:
            check.check_rank(
                self.__class__.__name__,
                "word_starts",
                word_starts_shape,
                2,
                "(batch, words)",
            )
        self.built = True

    def call(self, inputs, word_starts):
        shape = ops.shape(inputs)
        batch, length, hidden = shape[0], shape[1], inputs.shape[-1]
        words = ops.shape(word_starts)[1]
        starts = ops.cast(word_starts, "int32")
        starts = ops.minimum(ops.maximum(starts, 0), length - 1)  # (B, W)
        offsets = ops.arange(batch, dtype="int32")[:, None] * length
        flat_index = ops.reshape(starts + offsets, (-1,))  # (B * W,)
        pieces = ops.reshape(inputs, (-1, hidden))  # (B * T, D)
        picked = ops.take(pieces, flat_index, axis=0)  # (B * W, D)
        return ops.reshape(picked, (batch, words, hidden))  # (B, W, D)

    def compute_mask(self, inputs, word_starts=None, mask=None):
        return None

    def compute_output_shape(self, inputs_shape, word_starts_shape):
        return (inputs_shape[0], word_starts_shape[1], inputs_shape[-1])

    def get_config(self):
        return super().get_config()
