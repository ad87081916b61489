"""The RNN encoder-decoder translator with additive attention.

`RNNTranslator` is a functional Keras model with the Transformer
translator's inputs and output (`encoder_token_ids`, `decoder_token_ids`
-> next-token logits), so `Translator` (SentencePiece text in and out,
`fit`, `translate`, `save`/`load`), `greedy_decode`, `beam_search` and the
on-device export take it as they take a `TransformerTranslator`. Its
graph is made by its `RNNTranslatorParts`, whose methods the decoders run.
"""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import ConfiguredTranslator
from keras_attn.models.rnn.decoder import AdditiveAttentionDecoder
from keras_attn.models.rnn.parts import RNNTranslatorParts
from keras_attn.models.rnn.presets import RNN_TRANSLATOR_DEFAULTS
from keras_attn.models.rnn.presets import rnn_translator_config


def _roles(config, dtype):
    """The model's layers by role (the graph builds them)."""
    embedding = config["embedding_dim"]

    def table(name, size):
        return layers.TokenEmbedding(size, embedding, name=name, dtype=dtype)

    if config["share_embeddings"]:
        source = target = table("token_embedding", config["vocabulary_size"])
    else:
        source = table("source_token_embedding", config["vocabulary_size"])
        target = table(
            "target_token_embedding", config["target_vocabulary_size"]
        )
    rate = config["dropout"]
    return {
        "source_table": source,
        "target_table": target,
        "source_dropout": keras.layers.Dropout(
            rate, name="source_dropout", dtype=dtype
        ),
        "target_dropout": keras.layers.Dropout(
            rate, name="target_dropout", dtype=dtype
        ),
        "encoder": keras.layers.Bidirectional(
            keras.layers.GRU(
                config["encoder_units"],
                return_sequences=True,
                reset_after=False,
                dtype=dtype,
            ),
            name="encoder",
            dtype=dtype,
        ),
        "decoder": AdditiveAttentionDecoder(
            config["decoder_units"],
            config["attention_dim"],
            name="decoder",
            dtype=dtype,
        ),
        "deep_output": keras.layers.Dense(
            2 * config["maxout_units"], name="deep_output", dtype=dtype
        ),
        "output_dropout": keras.layers.Dropout(
            rate, name="output_dropout", dtype=dtype
        ),
        "logits": keras.layers.Dense(
            config["target_vocabulary_size"], name="logits", dtype=dtype
        ),
    }


@keras.saving.register_keras_serializable(package="keras_attn")
class RNNTranslator(ConfiguredTranslator, keras.Model):
    """An RNN encoder-decoder with additive attention for translation.

    Bahdanau, Cho and Bengio (2015): a bidirectional GRU reads the source
    into annotations `h_j` (forward and backward states concatenated;
    padding skipped); a GRU decoder attends over them with the additive
    score `v^T tanh(W s_{i-1} + U h_j)` (`AdditiveAttentionDecoder`), and a
    maxout layer over `s_i`, `c_i` and the previous target vector gives
    the next-token logits.

    Build it with `rnn_translator` (presets) or with the configuration
    keys of `rnn_translator_config`.

    Inputs (a dict): `encoder_token_ids` `(batch, source_length)` and
    `decoder_token_ids` `(batch, target_length)`, int32, 0 as padding; the
    decoder's input is the target shifted right (it starts with the start
    token). Output: next-token logits
    `(batch, target_length, target_vocabulary_size)`.

    The layers are attributes by role (see `RNNTranslatorParts`), and
    `parts` holds them with the encoder pass and the decoder step.

    Args:
        vocabulary_size, embedding_dim, encoder_units, decoder_units,
            attention_dim, maxout_units, target_vocabulary_size,
            share_embeddings, dropout: see `rnn_translator_config`.
        name: str. Defaults to `"rnn_translator"`.
        dtype: dtype policy of every layer; None takes Keras's global one.

    Example:

    >>> import numpy as np
    >>> model = RNNTranslator(vocabulary_size=30, embedding_dim=8,
    ...     encoder_units=8, decoder_units=16, attention_dim=8,
    ...     maxout_units=8)
    >>> logits = model({"encoder_token_ids": np.array([[5, 6, 0]], "int32"),
    ...                 "decoder_token_ids": np.array([[1, 7]], "int32")})
    >>> tuple(logits.shape)
    (1, 2, 30)

    References:
        - Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
          Learning to Align and Translate", 2015.
          https://arxiv.org/abs/1409.0473
    """

    def __init__(
        self,
        vocabulary_size,
        embedding_dim,
        encoder_units,
        decoder_units,
        attention_dim,
        maxout_units,
        target_vocabulary_size=None,
        share_embeddings=RNN_TRANSLATOR_DEFAULTS["share_embeddings"],
        dropout=RNN_TRANSLATOR_DEFAULTS["dropout"],
        name="rnn_translator",
        dtype=None,
        **kwargs,
    ):
        config = rnn_translator_config(
            None,
            vocabulary_size=vocabulary_size,
            embedding_dim=embedding_dim,
            encoder_units=encoder_units,
            decoder_units=decoder_units,
            attention_dim=attention_dim,
            maxout_units=maxout_units,
            target_vocabulary_size=target_vocabulary_size,
            share_embeddings=share_embeddings,
            dropout=dropout,
        )
        inputs = {
            key: keras.Input((None,), dtype="int32", name=key)
            for key in ("encoder_token_ids", "decoder_token_ids")
        }
        roles = _roles(config, dtype)
        parts = RNNTranslatorParts.from_layers(None, **roles)
        annotations, source_mask = parts.encode(
            inputs["encoder_token_ids"], training=None
        )  # (B, S, C), (B, S)
        logits = parts.decode(
            inputs["decoder_token_ids"],
            annotations,
            source_mask,
            training=None,
        )  # (B, T, V)
        super().__init__(inputs, logits, name=name, dtype=dtype, **kwargs)
        self._keep(roles, config)
        parts.model = self
        self.parts = parts


def rnn_translator(preset=None, name="rnn_translator", **overrides):
    """Builds an RNN encoder-decoder translator with additive attention.

    See `RNNTranslator` for the model (Bahdanau et al., 2015); its inputs
    and output are the Transformer translator's, so `Translator`,
    `greedy_decode`, `beam_search` and `translator_to_tflite` take it.

    Args:
        preset: str or None. A key of `RNN_TRANSLATOR_PRESETS`
            (`rnn_translator_tiny`, `rnn_translator_small`,
            `rnn_translator_base`).
        name: str. The model's name.
        **overrides: configuration keys, see `rnn_translator_config`.

    Returns:
        An `RNNTranslator`.

    Example:

    >>> model = rnn_translator("rnn_translator_tiny", vocabulary_size=30)
    >>> model.decoder.units, model.encoder.forward_layer.units
    (32, 16)
    """
    config = rnn_translator_config(preset, **overrides)
    return RNNTranslator(name=name, **config)


def attention_weights(model, source_ids, target_ids):
    """The decoder's attention weights `alpha_ij` of a teacher-forced pass.

    Args:
        model: an `RNNTranslator`.
        source_ids: int `(batch, S)`, 0 as padding.
        target_ids: int `(batch, T)`, the decoder's input (start token,
            then the target).

    Returns:
        float32 NumPy `(batch, T, S)`: row i holds the weights over the
        source when predicting the token after `target_ids[:, i]`; padded
        source positions get 0.

    Example:

    >>> import numpy as np
    >>> model = rnn_translator("rnn_translator_tiny", vocabulary_size=30)
    >>> weights = attention_weights(model, np.array([[5, 6, 0]], "int32"),
    ...                             np.array([[2, 7]], "int32"))
    >>> weights.shape, bool(np.allclose(weights.sum(-1), 1.0, atol=1e-5))
    ((1, 2, 3), True)
    """
    import numpy as np

    parts = RNNTranslatorParts(model)
    source_ids = ops.convert_to_tensor(source_ids, "int32")
    target_ids = ops.convert_to_tensor(target_ids, "int32")
    encoded, mask = parts.encode(source_ids)
    _, weights = parts.decode(target_ids, encoded, mask, return_weights=True)
    return np.asarray(ops.convert_to_numpy(weights), "float32")
