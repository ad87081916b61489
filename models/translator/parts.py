"""The translator's layers by role, and the computations made of them.

`TranslatorParts` holds the layers of a Transformer translator under the
names of their roles (`source_table`, `encoder_layers`, ...) and computes,
with them, what the model computes: `encode` (the source to the encoder's
output), `decode` (the whole target at once, as in training), and the
cached `decode_step` (one target token, the decoder's keys and values of
the prefix kept). The model builder, the decoders and the exporter all go
through these methods, so they compute one thing.

Every layer call in these methods goes through `call`, a function
`call(layer, *args, **kwargs)`; None calls `layer(*args, **kwargs)`. An
exporter passes its own to run some layers in another form (its lowering
table) without the layers knowing.

The parts of a `TransformerTranslator` are its `parts` attribute. For a
translator saved before it was a class (a plain functional model in a
`.keras` file), the layers are found once by the names that builder gave
them; nothing else looks layers up by name.
"""

import math

from keras import ops

from keras_attn.models._common import TranslatorPartsBase

PAD_ID = 0

# Role -> whether a translator may lack it.
ROLES = {
    "source_table": False,
    "target_table": False,
    "encoder_positions": False,
    "decoder_positions": False,
    "encoder_dropout": False,
    "decoder_dropout": False,
    "encoder_layers": False,
    "decoder_layers": False,
    "encoder_final_norm": True,  # only with normalize_first
    "decoder_final_norm": True,
    "logits": True,  # absent when the output is tied to the token table
}


def _direct(layer, *args, **kwargs):
    return layer(*args, **kwargs)


def embed(
    table,
    positions,
    dropout,
    token_ids,
    start_index=0,
    training=None,
    call=None,
):
    """Token vectors times sqrt(hidden), plus positions, then dropout.

    The translator's embedding step, shared by the model builder and the
    step-by-step decoders so that both compute the same thing.

    Args:
        table: the token embedding layer.
        positions: the position layer (`SinusoidalPositionalEncoding` or
            `PositionalEmbedding`).
        dropout: the dropout layer.
        token_ids: int `(batch, T)`.
        start_index: int or scalar tensor. Position of the first token.
        training: bool or None.
        call: None, or `call(layer, *args, **kwargs)` through which the
            three layer calls go.

    Returns:
        `(batch, T, hidden)` tensor.

    Example:

    >>> import numpy as np
    >>> from keras_attn import layers
    >>> import keras
    >>> x = embed(layers.TokenEmbedding(10, 4),
    ...           layers.SinusoidalPositionalEncoding(),
    ...           keras.layers.Dropout(0.1), np.array([[3, 4, 0]]))
    >>> tuple(x.shape)
    (1, 3, 4)
    """
    call = call or _direct
    x = call(table, token_ids)  # (B, T, D)
    x = x * ops.cast(math.sqrt(x.shape[-1]), x.dtype)
    x = x + call(positions, x, start_index=start_index)
    return call(dropout, x, training=training)


class TranslatorParts(TranslatorPartsBase):
    """The layers of a Transformer translator by role, and its steps.

    Args:
        model: a `TransformerTranslator` (from `transformer_translator`),
            or a translator saved by an older keras-attn as a plain
            functional model.

    Attributes:
        source_table, target_table: the `TokenEmbedding` layers (one layer
            when the embeddings are shared).
        encoder_positions, decoder_positions: the position layers.
        encoder_dropout, decoder_dropout: the embedding dropouts.
        encoder_layers, decoder_layers: lists of `TransformerEncoder` and
            `TransformerDecoder` blocks.
        encoder_final_norm, decoder_final_norm: `LayerNormalization` or
            None (pre-norm translators only).
        logits: the output `Dense`, or None when tied to `target_table`.
        model: the model, or None for parts not yet in one.
        vocabulary_size: int. The target vocabulary.
        hidden_dim: int.

    Example:

    >>> import numpy as np
    >>> from keras_attn.models.translator import transformer_translator
    >>> model = transformer_translator("translator_tiny", vocabulary_size=30)
    >>> parts = TranslatorParts(model)
    >>> encoded, mask = parts.encode(np.array([[5, 6, 0]], "int32"))
    >>> tuple(encoded.shape), parts.vocabulary_size, len(parts.decoder_layers)
    ((1, 3, 64), 30, 2)
    """

    _ROLES = ROLES

    def __init__(self, model):
        own = getattr(model, "parts", None)
        if isinstance(own, TranslatorParts):
            roles = own.roles()
        else:
            roles = _saved_functional_roles(model)
        self._assign(roles, model)

    def _assign(self, roles, model):
        unknown = sorted(set(roles) - set(ROLES))
        missing = sorted(
            role
            for role, optional in ROLES.items()
            if not optional and roles.get(role) is None
        )
        if unknown or missing:
            raise ValueError(
                f"TranslatorParts takes the roles {sorted(ROLES)}; received "
                f"unknown {unknown} and lacks {missing}."
            )
        for role in ROLES:
            value = roles.get(role)
            if role in ("encoder_layers", "decoder_layers"):
                value = list(value)
            setattr(self, role, value)
        self.model = model
        self.vocabulary_size = self.target_table.input_dim
        self.hidden_dim = self.target_table.output_dim

    def encode(self, source_ids, call=None, training=False):
        """The encoder's output and the source's padding mask.

        Args:
            source_ids: int `(batch, S)`, 0 as padding.
            call: None, or `call(layer, *args, **kwargs)` for every layer.
            training: bool or None. False (the default) for decoding.

        Returns:
            `(encoded, source_mask)`: `(B, S, D)` and bool `(B, S)`.
        """
        call = call or _direct
        mask = ops.not_equal(source_ids, PAD_ID)  # (B, S)
        x = embed(
            self.source_table,
            self.encoder_positions,
            self.encoder_dropout,
            source_ids,
            training=training,
            call=call,
        )  # (B, S, D)
        for layer in self.encoder_layers:
            x = call(layer, x, padding_mask=mask, training=training)
        if self.encoder_final_norm is not None:
            x = call(self.encoder_final_norm, x)
        return x, mask

    def decode(
        self, target_ids, encoded, source_mask, call=None, training=False
    ):
        """Logits `(B, T, V)` of every target position at once (the
        training pass; the decoder's self-attention is causal)."""
        call = call or _direct
        target_mask = ops.not_equal(target_ids, PAD_ID)  # (B, T)
        y = embed(
            self.target_table,
            self.decoder_positions,
            self.decoder_dropout,
            target_ids,
            training=training,
            call=call,
        )  # (B, T, D)
        for layer in self.decoder_layers:
            y = call(
                layer,
                y,
                encoded,
                decoder_padding_mask=target_mask,
                encoder_padding_mask=source_mask,
                training=training,
            )  # (B, T, D)
        if self.decoder_final_norm is not None:
            y = call(self.decoder_final_norm, y)
        return self.project(y, call=call)  # (B, T, V)

    def project(self, y, call=None):
        """Next-token logits `(..., V)` of decoder outputs `(..., D)`."""
        call = call or _direct
        if self.logits is None:
            return call(self.target_table, y, reverse=True)
        return call(self.logits, y)

    def cross_caches(self, encoded):
        """Every decoder layer's projected encoder keys and values, once:
        `(layers, batch, 2, S, heads, head_dim)`.

        A method of each block (`compute_cross_attention_cache`), not a
        layer call, so no `call` goes through it.
        """
        return ops.stack(
            [
                layer.compute_cross_attention_cache(encoded)
                for layer in self.decoder_layers
            ]
        )

    def empty_cache(self, batch_size, length):
        """Zeros `(layers, batch, 2, length, heads, head_dim)`."""
        heads = self.decoder_layers[0].num_heads
        return ops.zeros(
            (
                len(self.decoder_layers),
                batch_size,
                2,
                length,
                heads,
                self.hidden_dim // heads,
            ),
            dtype=self.decoder_layers[0].compute_dtype,
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
    ):
        """One cached decoder step.

        Args:
            token_ids: int `(B, 1)`, the token at `index`.
            index: int scalar tensor. Its position.
            encoded, source_mask: from `encode`.
            cache: `(layers, B, 2, L, heads, head_dim)`, from `empty_cache`
                or the previous step.
            cross_caches: from `cross_caches`.
            call: None, or `call(layer, *args, **kwargs)` for every layer.

        Returns:
            `(logits, cache)`: `(B, V)` for the token after `index`, and
            the cache with this step's keys and values written in.
        """
        call = call or _direct
        y = embed(
            self.target_table,
            self.decoder_positions,
            self.decoder_dropout,
            token_ids,
            start_index=index,
            training=False,
            call=call,
        )  # (B, 1, D)
        updated = []
        for number, layer in enumerate(self.decoder_layers):
            y, layer_cache = call(
                layer,
                y,
                encoded,
                encoder_padding_mask=source_mask,
                self_attention_cache=cache[number],
                self_attention_cache_update_index=index,
                cross_attention_cache=cross_caches[number],
                training=False,
            )  # (B, 1, D), (B, 2, L, H, Hd)
            updated.append(layer_cache)
        if self.decoder_final_norm is not None:
            y = call(self.decoder_final_norm, y)
        logits = self.project(y, call=call)[:, 0, :]  # (B, V)
        return logits, ops.stack(updated)


def _saved_functional_roles(model):
    """The roles of a translator saved before `TransformerTranslator`.

    That builder returned a plain functional model and named its layers
    `token_embedding` (or `source_token_embedding` and
    `target_token_embedding`), `encoder_positions`, `decoder_positions`,
    `encoder_dropout`, `decoder_dropout`, `encoder_layer_{i}`,
    `decoder_layer_{i}`, and, when present, `encoder_final_norm`,
    `decoder_final_norm` and `logits`.
    """
    names = {layer.name for layer in getattr(model, "layers", ())}
    if "token_embedding" in names:
        source = target = "token_embedding"
    elif {"source_token_embedding", "target_token_embedding"} <= names:
        source, target = "source_token_embedding", "target_token_embedding"
    else:
        found = sorted(names) if names else type(model).__name__
        raise ValueError(
            "Expected a model from `transformer_translator` (or a translator "
            "saved by an older keras-attn, with layers named token_embedding "
            "or source_/target_token_embedding, encoder_layer_i, "
            f"decoder_layer_i); received {getattr(model, 'name', model)!r} "
            f"with layers {found}."
        )
    get = model.get_layer
    encoders = sum(name.startswith("encoder_layer_") for name in names)
    decoders = sum(name.startswith("decoder_layer_") for name in names)
    roles = {
        "source_table": get(source),
        "target_table": get(target),
        "encoder_layers": [get(f"encoder_layer_{i}") for i in range(encoders)],
        "decoder_layers": [get(f"decoder_layer_{i}") for i in range(decoders)],
    }
    for role in (
        "encoder_positions",
        "decoder_positions",
        "encoder_dropout",
        "decoder_dropout",
        "encoder_final_norm",
        "decoder_final_norm",
        "logits",
    ):
        roles[role] = get(role) if role in names else None
    return roles
