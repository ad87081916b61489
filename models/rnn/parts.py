"""The RNN translator's layers by role, and the computations made of them.

`RNNTranslatorParts` has the methods the Transformer translator's
`TranslatorParts` has (`encode`, `decode`, `cross_caches`, `empty_cache`,
the cached `decode_step`, `project`, `full_logits`), so that the decoders
of `keras_attn.models.translator.decoding` (greedy, beam search, and the
loop the exporter traces into a `.tflite` file) run an RNN translator as
they run a Transformer. The "cache" of a step is the decoder's recurrent
state, `(1, batch, decoder_units)` (the batch on axis 1, where beam search
reorders it); the "cross caches" are the attention's projected source
keys and values and the first state, computed once per sentence.

The model builder makes its graph with these same methods, so training,
decoding and export compute one thing. Every layer call goes through
`call`, a function `call(layer, *args, **kwargs)` (None calls the layer),
the hook the exporter's lowering table takes.
"""

from keras import ops

from keras_attn.models._common import TranslatorPartsBase

PAD_ID = 0

ROLES = (
    "source_table",
    "target_table",
    "source_dropout",
    "target_dropout",
    "encoder",
    "decoder",
    "deep_output",
    "output_dropout",
    "logits",
)


def _direct(layer, *args, **kwargs):
    return layer(*args, **kwargs)


def maxout(x):
    """Maxout with pools of two over the last axis: the larger of its two
    halves (Goodfellow et al., 2013), as the paper's deep output layer.

    Example:

    >>> import numpy as np
    >>> np.asarray(maxout(np.array([[1.0, 5.0, 3.0, 2.0]]))).tolist()
    [[3.0, 5.0]]
    """
    half = x.shape[-1] // 2
    return ops.maximum(x[..., :half], x[..., half:])


class RNNTranslatorParts(TranslatorPartsBase):
    """The layers of an RNN translator by role, and its steps.

    Args:
        model: an `RNNTranslator` (its own `parts` are taken).

    Attributes:
        source_table, target_table: `TokenEmbedding` layers (one layer
            when the embeddings are shared).
        source_dropout, target_dropout: dropouts on the token vectors.
        encoder: a `keras.layers.Bidirectional` GRU (annotations).
        decoder: an `AdditiveAttentionDecoder`.
        deep_output: the `Dense` before the maxout; output_dropout after it.
        logits: the output `Dense`.
        model: the model, or None for parts not yet in one.
        vocabulary_size: int. The target vocabulary.

    Example:

    >>> import numpy as np
    >>> from keras_attn.models.rnn import rnn_translator
    >>> model = rnn_translator("rnn_translator_tiny", vocabulary_size=30)
    >>> encoded, mask = model.parts.encode(np.array([[5, 6, 0]], "int32"))
    >>> tuple(encoded.shape), model.parts.vocabulary_size
    ((1, 3, 32), 30)
    """

    _ROLES = ROLES

    def __init__(self, model):
        own = getattr(model, "parts", None)
        if not isinstance(own, RNNTranslatorParts):
            raise ValueError(
                "Expected a model from `rnn_translator` (an RNNTranslator); "
                f"received {type(model).__name__} "
                f"{getattr(model, 'name', '')!r}."
            )
        self._assign(own.roles(), model)

    def _assign(self, roles, model):
        if set(roles) != set(ROLES):
            raise ValueError(
                f"RNNTranslatorParts takes the roles {list(ROLES)}; "
                f"received {sorted(roles)}."
            )
        for role in ROLES:
            setattr(self, role, roles[role])
        self.model = model
        self.vocabulary_size = self.target_table.input_dim

    def encode(self, source_ids, call=None, training=False):
        """The annotations and the source's padding mask.

        Args:
            source_ids: int `(batch, S)`, 0 as padding.
            call: None, or `call(layer, *args, **kwargs)` for every layer.
            training: bool or None. False (the default) for decoding.

        Returns:
            `(annotations, source_mask)`: `(B, S, 2 * encoder_units)` (the
            forward and backward GRU states, padded positions skipped) and
            bool `(B, S)`.
        """
        call = call or _direct
        mask = ops.not_equal(source_ids, PAD_ID)  # (B, S)
        x = call(self.source_table, source_ids)  # (B, S, E)
        x = call(self.source_dropout, x, training=training)
        annotations = call(self.encoder, x, mask=mask, training=training)
        return annotations, mask  # (B, S, C), (B, S)

    def embed_target(self, target_ids, call=None, training=False):
        """Target token vectors `(B, T, E)` after dropout."""
        call = call or _direct
        y = call(self.target_table, target_ids)  # (B, T, E)
        return call(self.target_dropout, y, training=training)

    def project(self, states, contexts, embedded, call=None, training=False):
        """Next-token logits `(..., V)` from `s_i`, `c_i` and `e_{i-1}`:
        a maxout layer, dropout, then the output `Dense`."""
        call = call or _direct
        features = ops.concatenate([states, contexts, embedded], axis=-1)
        t = maxout(call(self.deep_output, features))  # (..., L)
        t = call(self.output_dropout, t, training=training)
        return call(self.logits, t)  # (..., V)

    def decode(
        self,
        target_ids,
        annotations,
        source_mask,
        call=None,
        training=False,
        return_weights=False,
    ):
        """Logits `(B, T, V)` of every target position (teacher forcing);
        with `return_weights`, also the attention weights `(B, T, S)`."""
        call = call or _direct
        y = self.embed_target(target_ids, call=call, training=training)
        outputs = call(
            self.decoder,
            y,
            annotations,
            source_mask=source_mask,
            return_weights=return_weights,
        )
        logits = self.project(
            outputs[0], outputs[1], y, call=call, training=training
        )
        return (logits, outputs[2]) if return_weights else logits

    def cross_caches(self, encoded):
        """The attention's projected keys and values and the first state,
        once per sentence: `(cache (B, 2, S, 1, ...), s_0 (B, units))`."""
        return self.decoder.start(encoded)

    def empty_cache(self, batch_size, length):
        """Zeros `(1, batch, units)`: the state slot of the step loop (the
        first step takes `s_0` from `cross_caches` instead)."""
        del length  # the state does not grow with the output
        return ops.zeros(
            (1, batch_size, self.decoder.units),
            dtype=self.decoder.compute_dtype,
        )

    def decode_step(
        self,
        token_ids,
        index,
        encoded,
        source_mask,
        cache,
        cross_caches,
        call=None,
        return_weights=False,
    ):
        """One decoder step.

        Args:
            token_ids: int `(B, 1)`, the token at `index`.
            index: int scalar tensor. Its position (0 takes the first
                state from `cross_caches`, later steps the state in
                `cache`).
            encoded, source_mask: from `encode`.
            cache: `(1, B, units)`, from `empty_cache` or the last step.
            cross_caches: from `cross_caches`.
            call: None, or `call(layer, *args, **kwargs)` for every layer.
            return_weights: bool. Also return the attention weights
                `(B, S)` of this step.

        Returns:
            `(logits, cache)`: `(B, V)` for the token after `index` and
            the new state `(1, B, units)`; with `return_weights`,
            `(logits, cache, weights)`.
        """
        call = call or _direct
        attention_cache, first = cross_caches
        state = ops.where(ops.equal(index, 0), first, cache[0])  # (B, U)
        embedded = call(self.target_table, token_ids)[:, 0, :]  # (B, E)
        outputs = self.decoder.step(
            embedded,
            state,
            encoded,
            source_mask,
            attention_cache,
            call=call,
            return_weights=return_weights,
        )
        logits = self.project(outputs[0], outputs[1], embedded, call=call)
        cache = outputs[0][None]  # (1, B, U)
        if return_weights:
            return logits, cache, outputs[2]
        return logits, cache
