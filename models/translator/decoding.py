"""Greedy and beam-search decoding for `transformer_translator` models.

Both decoders run the decoder one token at a time with the self-attention
cache of `TransformerDecoder` (the keys and values of the prefix are kept,
never recomputed), inside `keras.ops.while_loop`, so that they compile with
XLA (`jit_compile=True`) and stop as soon as every sequence has ended.
`use_cache=False` runs the whole model on the prefix at every step instead:
the slow reference the cached path is tested against.

The model's layers come from its `TranslatorParts` (`encode`, the cached
`decode_step`); `greedy_tokens` is the loop itself, which the exporter
traces into a TFLite WHILE loop, passing its own `call` for the layers.
"""

import weakref

import keras
from keras import ops

from keras_attn.models.translator.parts import PAD_ID as _PAD
from keras_attn.models.translator.parts import TranslatorParts

__all__ = [
    "beam_search",
    "greedy_decode",
    "greedy_tokens",
    "length_penalty",
    "translator_parts",
]

_NEG_INF = float("-inf")


def translator_parts(model):
    """The decoding parts of a translator model.

    A `TransformerTranslator` (or a translator saved by an older
    keras-attn) gives its `TranslatorParts`; a model of another family
    whose `parts` have the same methods (`encode`, `cross_caches`,
    `empty_cache`, `decode_step`, `full_logits`, `vocabulary_size`,
    `source_table`, `target_table`; the RNN translator's
    `RNNTranslatorParts`) gives those, so the decoders run it alike.

    Example:

    >>> model = transformer_translator("translator_tiny", vocabulary_size=30)
    >>> type(translator_parts(model)).__name__
    'TranslatorParts'
    """
    own = getattr(model, "parts", None)
    if (
        own is not None
        and not isinstance(own, TranslatorParts)
        and callable(getattr(own, "decode_step", None))
    ):
        return own
    return TranslatorParts(model)


def _log_probs(logits, start_id):
    """Log-softmax in float32 over the tokens that may be generated.

    The padding and start tokens are never generated.
    """
    logits = ops.cast(logits, "float32")  # (B, V)
    vocab = ops.arange(logits.shape[-1])
    banned = ops.logical_or(ops.equal(vocab, _PAD), ops.equal(vocab, start_id))
    logits = ops.where(banned, _NEG_INF, logits)
    return ops.log_softmax(logits, axis=-1)


def _check(model, encoder_token_ids, max_length, start_id, end_id):
    ids = ops.convert_to_tensor(encoder_token_ids, "int32")
    if len(ids.shape) != 2:
        raise ValueError(
            "`encoder_token_ids` must be (batch, source_length); received "
            f"shape {tuple(ids.shape)}."
        )
    if not isinstance(max_length, int) or max_length < 1:
        raise ValueError(
            f"`max_length` must be a positive int; received {max_length!r}."
        )
    parts = translator_parts(model)
    for name, value in (("start_id", start_id), ("end_id", end_id)):
        if not isinstance(value, int) or not 0 < value < parts.vocabulary_size:
            raise ValueError(
                f"`{name}` must be an int in [1, {parts.vocabulary_size}) "
                f"(0 is padding); received {value!r}."
            )
    return parts, ids


def _argmax(scores):
    """int32 index of the largest score on the last axis, lowest on ties.

    `top_k` rather than `ops.argmax`: for floats, Keras's TensorFlow argmax
    tests the sign bit with a bitwise op that TFLite has no builtin for,
    which would keep the decoding loop out of an on-device export.
    """
    return ops.cast(ops.top_k(scores, 1)[1][:, 0], "int32")


def _start_buffer(batch, length, start_id):
    """int32 `(batch, length)`: the start token, then padding."""
    first = ops.full((batch, 1), start_id, dtype="int32")
    rest = ops.zeros((batch, length - 1), dtype="int32")
    return ops.concatenate([first, rest], axis=1)


class _Stepper:
    """Next-token logits at `index` for a `(rows, length)` token buffer.

    With the cache: the source is encoded (and its cross-attention keys
    and values projected) once, then one token is decoded per step.
    Without: the whole model reruns on the buffer each step. Each source
    row is repeated `copies` times (the beams of beam search). Every layer
    call goes through `call` (see `TranslatorParts`).
    """

    def __init__(
        self, parts, ids, rows, length, use_cache, copies=1, call=None
    ):
        self.parts = parts
        self.rows = rows
        self.use_cache = use_cache
        self.call = call
        if use_cache:
            encoded, source_mask = parts.encode(ids, call=call)
            if copies > 1:
                encoded = ops.repeat(encoded, copies, axis=0)  # (R, S, D)
                source_mask = ops.repeat(source_mask, copies, axis=0)
            self.encoded, self.source_mask = encoded, source_mask
            self.cross_caches = parts.cross_caches(encoded)
            self.initial_cache = parts.empty_cache(rows, length)
        else:
            self.ids = ops.repeat(ids, copies, axis=0) if copies > 1 else ids
            self.initial_cache = ops.zeros(())  # a placeholder loop value

    def __call__(self, tokens, index, cache):
        """Logits `(rows, V)` and the updated cache."""
        if not self.use_cache:
            logits = self.parts.full_logits(
                self.ids, tokens, index, call=self.call
            )
            return logits, cache
        current = ops.slice(tokens, (0, index), (self.rows, 1))  # (R, 1)
        return self.parts.decode_step(
            current,
            index,
            self.encoded,
            self.source_mask,
            cache,
            self.cross_caches,
            call=self.call,
        )


def _running(index, length, done):
    """Whether to decode another token: room left and a row not ended."""
    return ops.logical_and(index < length - 1, ops.logical_not(ops.all(done)))


def greedy_tokens(
    parts,
    source_ids,
    max_length,
    start_id,
    end_id,
    use_cache=True,
    call=None,
):
    """The greedy decoding loop on a translator's parts.

    What `greedy_decode` runs, without its argument checks and compiling:
    a `keras.ops.while_loop` that traces inside a `tf.function` (the
    exporter turns it into a TFLite WHILE loop).

    Args:
        parts: a `TranslatorParts`.
        source_ids: int32 `(batch, source_length)`, 0 as padding.
        max_length: int. Most tokens generated, the end token included.
        start_id, end_id: int. The start and end tokens.
        use_cache: bool. The cached decoder step (True) or a whole pass
            per token.
        call: None, or `call(layer, *args, **kwargs)` through which every
            layer call goes (see `TranslatorParts`).

    Returns:
        int32 `(batch, max_length)`: the generated tokens, the end token
        included, padded with 0 after it (the start token is not part of
        it).

    Example:

    >>> import numpy as np
    >>> from keras_attn.models.translator import TranslatorParts
    >>> model = transformer_translator("translator_tiny", vocabulary_size=30)
    >>> tokens = greedy_tokens(TranslatorParts(model),
    ...                        np.array([[5, 6, 0]], "int32"), 4, 1, 2)
    >>> np.asarray(tokens).shape, str(np.asarray(tokens).dtype)
    ((1, 4), 'int32')
    """
    ids = source_ids
    batch = ops.shape(ids)[0]
    length = max_length + 1  # the start token, then max_length tokens
    tokens = _start_buffer(batch, length, start_id)
    done = ops.zeros((batch,), dtype="bool")
    step = _Stepper(parts, ids, batch, length, use_cache, call=call)

    def cond(index, tokens, done, cache):
        return _running(index, length, done)

    def body(index, tokens, done, cache):
        logits, cache = step(tokens, index, cache)  # (B, V)
        following = _argmax(_log_probs(logits, start_id))  # (B,)
        following = ops.where(done, _PAD, following)
        tokens = ops.slice_update(tokens, (0, index + 1), following[:, None])
        done = ops.logical_or(done, ops.equal(following, end_id))
        return index + 1, tokens, done, cache

    start = ops.convert_to_tensor(0, "int32")
    _, tokens, _, _ = ops.while_loop(
        cond, body, (start, tokens, done, step.initial_cache)
    )
    return tokens[:, 1:]


def _beam(
    parts,
    ids,
    max_length,
    start_id,
    end_id,
    beam_size,
    alpha,
    use_cache,
    call=None,
):
    batch = ops.shape(ids)[0]
    beams = beam_size
    vocab = parts.vocabulary_size
    length = max_length + 1
    flat = batch * beams
    tokens = _start_buffer(flat, length, start_id)  # (B*K, L)
    step = _Stepper(
        parts, ids, flat, length, use_cache, copies=beams, call=call
    )
    # Only the first beam is live at the start, so that the first step
    # expands one hypothesis, not beam_size copies of it.
    first = ops.arange(beams) == 0
    scores = ops.where(first, 0.0, _NEG_INF)[None, :] * ops.ones((batch, 1))
    done = ops.zeros((batch, beams), dtype="bool")
    pad_only = ops.where(ops.arange(vocab) == _PAD, 0.0, _NEG_INF)  # (V,)
    offsets = ops.arange(batch)[:, None] * beams  # (B, 1)

    def cond(index, tokens, scores, done, cache):
        return _running(index, length, done)

    def body(index, tokens, scores, done, cache):
        logits, cache = step(tokens, index, cache)  # (B*K, V)
        log_probs = ops.reshape(
            _log_probs(logits, start_id), (batch, beams, vocab)
        )
        # A finished hypothesis continues with padding at no cost.
        log_probs = ops.where(done[..., None], pad_only, log_probs)
        candidates = ops.reshape(
            scores[..., None] + log_probs, (batch, beams * vocab)
        )
        scores, chosen = ops.top_k(candidates, beams)  # (B, K)
        chosen = ops.cast(chosen, "int32")
        parent = ops.reshape(chosen // vocab + offsets, (flat,))  # (B*K,)
        following = ops.reshape(chosen % vocab, (flat,))
        tokens = ops.take(tokens, parent, axis=0)
        tokens = ops.slice_update(tokens, (0, index + 1), following[:, None])
        if use_cache:
            cache = ops.take(cache, parent, axis=1)
        done = ops.take(ops.reshape(done, (flat,)), parent, axis=0)
        done = ops.logical_or(done, ops.equal(following, end_id))
        return (
            index + 1,
            tokens,
            scores,
            ops.reshape(done, (batch, beams)),
            cache,
        )

    _, tokens, scores, _, _ = ops.while_loop(
        cond,
        body,
        (
            ops.convert_to_tensor(0, "int32"),
            tokens,
            scores,
            done,
            step.initial_cache,
        ),
    )
    tokens = ops.reshape(tokens[:, 1:], (batch, beams, max_length))
    lengths = ops.sum(ops.cast(ops.not_equal(tokens, _PAD), "float32"), -1)
    ranked = scores / length_penalty(lengths, alpha)  # (B, K)
    best = _argmax(ranked)  # (B,)
    return ops.take_along_axis(tokens, best[:, None, None], axis=1)[:, 0]


def length_penalty(lengths, alpha):
    """GNMT's length normalisation `((5 + length) / 6) ** alpha`.

    Wu et al., "Google's Neural Machine Translation System", 2016,
    section 7. https://arxiv.org/abs/1609.08144

    Example:

    >>> float(length_penalty(7.0, 1.0)), float(length_penalty(7.0, 0.0))
    (2.0, 1.0)
    """
    return ops.power((5.0 + lengths) / 6.0, alpha)


# Compiled decoders per model, so that repeated calls reuse one trace.
_COMPILED = weakref.WeakKeyDictionary()


def _compiled(model, key, function):
    store = _COMPILED.setdefault(model, {})
    if key not in store:
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            store[key] = tf.function(function, jit_compile=True)
        elif backend == "jax":
            import jax

            store[key] = jax.jit(function)
        else:
            raise ValueError(
                "`jit_compile=True` needs the TensorFlow or JAX backend; "
                f"received backend {backend!r}."
            )
    return store[key]


def _run(model, key, function, ids, jit_compile):
    if not jit_compile:
        return function(ids)
    return _compiled(model, key, function)(ids)


def greedy_decode(
    model,
    encoder_token_ids,
    max_length,
    start_id,
    end_id,
    use_cache=True,
    jit_compile=False,
):
    """Translates token ids by taking the most likely token at each step.

    Args:
        model: a model from `transformer_translator`.
        encoder_token_ids: int `(batch, source_length)`, 0 as padding.
        max_length: int. Most tokens to generate per sequence (the end
            token included).
        start_id: int. The token the decoder starts from.
        end_id: int. The token that ends a sequence; decoding stops when
            every sequence has produced it.
        use_cache: bool. Keep the decoder's keys and values between steps
            (the fast path). False recomputes the whole prefix each step.
        jit_compile: bool. Compile the decoding loop with XLA (`tf.function`
            on TensorFlow, `jax.jit` on JAX); compiled once per model and
            setting, and per input shape.

    Returns:
        int32 `(batch, max_length)`: the generated tokens, the end token
        included, padded with 0 after it. The padding and start tokens are
        never generated.

    Example:

    >>> import numpy as np
    >>> model = transformer_translator("translator_tiny", vocabulary_size=30)
    >>> source = np.array([[5, 6, 7, 0]], "int32")
    >>> tokens = greedy_decode(model, source, max_length=6, start_id=1,
    ...                        end_id=2)
    >>> tuple(tokens.shape)
    (1, 6)
    """
    parts, ids = _check(model, encoder_token_ids, max_length, start_id, end_id)

    def function(ids):
        return greedy_tokens(
            parts, ids, max_length, start_id, end_id, use_cache
        )

    key = ("greedy", max_length, start_id, end_id, use_cache)
    return _run(model, key, function, ids, jit_compile)


def beam_search(
    model,
    encoder_token_ids,
    max_length,
    start_id,
    end_id,
    beam_size=4,
    length_penalty_alpha=0.6,
    use_cache=True,
    jit_compile=False,
):
    """Translates token ids with beam search.

    Keeps the `beam_size` most likely hypotheses (sum of token
    log-probabilities) at every step; a hypothesis that produced the end
    token stays in the beam with its score. When every beam has ended (or
    after `max_length` tokens), the hypothesis with the best score divided
    by GNMT's length penalty `((5 + length) / 6) ** alpha` wins.

    Args:
        model: a model from `transformer_translator`.
        encoder_token_ids: int `(batch, source_length)`, 0 as padding.
        max_length: int. Most tokens to generate (the end token included).
        start_id: int. The token the decoder starts from.
        end_id: int. The token that ends a sequence.
        beam_size: int. Hypotheses kept per sequence; 1 is greedy decoding.
        length_penalty_alpha: float. 0 ranks by the plain sum of
            log-probabilities; larger values favour longer outputs.
            Defaults to 0.6 (Wu et al., 2016).
        use_cache: bool. As in `greedy_decode`.
        jit_compile: bool. As in `greedy_decode`.

    Returns:
        int32 `(batch, max_length)`: the best hypothesis per sequence, the
        end token included, padded with 0 after it.

    Example:

    >>> import numpy as np
    >>> model = transformer_translator("translator_tiny", vocabulary_size=30)
    >>> source = np.array([[5, 6, 7, 0]], "int32")
    >>> tokens = beam_search(model, source, max_length=6, start_id=1,
    ...                      end_id=2, beam_size=3)
    >>> tuple(tokens.shape)
    (1, 6)

    References:
        - Wu et al., "Google's Neural Machine Translation System", 2016.
          https://arxiv.org/abs/1609.08144
    """
    parts, ids = _check(model, encoder_token_ids, max_length, start_id, end_id)
    if not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(
            f"`beam_size` must be a positive int; received {beam_size!r}."
        )
    alpha = float(length_penalty_alpha)

    def function(ids):
        return _beam(
            parts,
            ids,
            max_length,
            start_id,
            end_id,
            beam_size,
            alpha,
            use_cache,
        )

    key = ("beam", max_length, start_id, end_id, beam_size, alpha, use_cache)
    return _run(model, key, function, ids, jit_compile)
