"""The Transformer encoder-decoder translator as a functional Keras model."""

import math

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import resolve_config

# translator_base is the base model of Vaswani et al. (2017), table 3;
# the smaller shapes are for small corpora and tests.
TRANSLATOR_PRESETS = {
    "translator_tiny": {
        "num_layers": 2,
        "hidden_dim": 64,
        "num_heads": 4,
        "intermediate_dim": 128,
    },
    "translator_small": {
        "num_layers": 2,
        "hidden_dim": 256,
        "num_heads": 4,
        "intermediate_dim": 1024,
    },
    "translator_base": {
        "num_layers": 6,
        "hidden_dim": 512,
        "num_heads": 8,
        "intermediate_dim": 2048,
    },
}
TRANSLATOR_DEFAULTS = {
    "target_vocabulary_size": None,  # None: the same as vocabulary_size
    "max_sequence_length": 128,
    "positional": "sinusoidal",
    "share_embeddings": True,
    "tie_output": True,
    "dropout": 0.1,
    "activation": "relu",
    "layer_norm_epsilon": 1e-5,
    "normalize_first": False,
}
_REQUIRED = (
    "vocabulary_size",
    "num_layers",
    "hidden_dim",
    "num_heads",
    "intermediate_dim",
)


def translator_config(preset=None, **overrides):
    """The full configuration of a Transformer translator.

    Args:
        preset: str or None. One of `TRANSLATOR_PRESETS`.
        **overrides: `vocabulary_size` (required: the source vocabulary, and
            the target one unless `target_vocabulary_size` is given),
            `num_layers`, `hidden_dim`, `num_heads`, `intermediate_dim`,
            `max_sequence_length`, `positional` ("sinusoidal" or "learned"),
            `share_embeddings` (one token table for both languages),
            `tie_output` (the output projection is the transposed target
            token table), `dropout`, `activation`, `layer_norm_epsilon`,
            `normalize_first`.

    Returns:
        dict: the configuration.

    Example:

    >>> translator_config("translator_base", vocabulary_size=8000)["num_heads"]
    8
    """
    config = resolve_config(
        "translator",
        TRANSLATOR_PRESETS,
        TRANSLATOR_DEFAULTS,
        _REQUIRED,
        preset,
        overrides,
    )
    if config["target_vocabulary_size"] is None:
        config["target_vocabulary_size"] = config["vocabulary_size"]
    if config["positional"] not in ("sinusoidal", "learned"):
        raise ValueError(
            "`positional` must be 'sinusoidal' or 'learned'; received "
            f"{config['positional']!r}."
        )
    if (
        config["share_embeddings"]
        and config["target_vocabulary_size"] != config["vocabulary_size"]
    ):
        raise ValueError(
            "`share_embeddings=True` needs one vocabulary for both "
            "languages; received vocabulary_size="
            f"{config['vocabulary_size']} and target_vocabulary_size="
            f"{config['target_vocabulary_size']}."
        )
    return config


def _token_table(name, vocabulary_size, hidden_dim):
    # Normal with stddev hidden**-0.5: after the sqrt(hidden) scale of
    # `embed` the token vectors have unit-size entries, like the encodings.
    return layers.TokenEmbedding(
        vocabulary_size,
        hidden_dim,
        embeddings_initializer=keras.initializers.RandomNormal(
            stddev=hidden_dim**-0.5
        ),
        name=name,
    )


def _positions(name, config):
    if config["positional"] == "sinusoidal":
        return layers.SinusoidalPositionalEncoding(name=name)
    return layers.PositionalEmbedding(config["max_sequence_length"], name=name)


def transformer_translator(preset=None, name="translator", **overrides):
    """Builds an encoder-decoder Transformer for translation.

    Inputs (a dict): `encoder_token_ids` `(batch, source_length)` and
    `decoder_token_ids` `(batch, target_length)`, int32, with 0 as padding.
    The decoder's input is the target shifted right (it starts with the
    start token). Output: next-token logits
    `(batch, target_length, target_vocabulary_size)`.

    Token vectors are scaled by `sqrt(hidden_dim)` and added to sinusoidal
    encodings (or learned positions); the encoder and decoder are stacks of
    `TransformerEncoder` and `TransformerDecoder` blocks (post-norm as in the
    paper; pre-norm with `normalize_first=True`, which adds a final layer
    norm to each stack). With `share_embeddings`, source and target share
    one token table; with `tie_output`, the output projection is that table
    transposed (Press and Wolf, 2017).

    The layers are named so that `greedy_decode` and `beam_search` can run
    the decoder one token at a time with a cache: `source_token_embedding`
    and `target_token_embedding` (one layer, `token_embedding`, when shared),
    `encoder_positions`, `decoder_positions`, `encoder_layer_{i}`,
    `decoder_layer_{i}`, `logits` (absent when tied).

    Args:
        preset: str or None. A key of `TRANSLATOR_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `translator_config`.

    Returns:
        keras.Model.

    Example:

    >>> import numpy as np
    >>> model = transformer_translator("translator_tiny", vocabulary_size=40)
    >>> logits = model({
    ...     "encoder_token_ids": np.array([[5, 6, 7, 0]], "int32"),
    ...     "decoder_token_ids": np.array([[2, 9, 4]], "int32"),
    ... })
    >>> tuple(logits.shape)
    (1, 3, 40)

    References:
        - Vaswani et al., "Attention Is All You Need", 2017.
          https://arxiv.org/abs/1706.03762
        - Press and Wolf, "Using the Output Embedding to Improve Language
          Models", 2017. https://arxiv.org/abs/1608.05859
    """
    config = translator_config(preset, **overrides)
    hidden = config["hidden_dim"]
    inputs = {
        "encoder_token_ids": keras.Input(
            (None,), dtype="int32", name="encoder_token_ids"
        ),
        "decoder_token_ids": keras.Input(
            (None,), dtype="int32", name="decoder_token_ids"
        ),
    }
    if config["share_embeddings"]:
        source_table = _token_table(
            "token_embedding", config["vocabulary_size"], hidden
        )
        target_table = source_table
    else:
        source_table = _token_table(
            "source_token_embedding", config["vocabulary_size"], hidden
        )
        target_table = _token_table(
            "target_token_embedding", config["target_vocabulary_size"], hidden
        )
    source_ids = inputs["encoder_token_ids"]
    target_ids = inputs["decoder_token_ids"]
    source_mask = ops.not_equal(source_ids, 0)  # (B, S)
    target_mask = ops.not_equal(target_ids, 0)  # (B, T)
    # What every encoder and decoder block shares.
    block = {
        key: config[key]
        for key in (
            "intermediate_dim",
            "num_heads",
            "dropout",
            "activation",
            "layer_norm_epsilon",
            "normalize_first",
        )
    }

    x = embed(
        source_table,
        _positions("encoder_positions", config),
        keras.layers.Dropout(config["dropout"], name="encoder_dropout"),
        source_ids,
    )  # (B, S, D)
    for index in range(config["num_layers"]):
        x = layers.TransformerEncoder(
            **block,
            name=f"encoder_layer_{index}",
        )(x, padding_mask=source_mask)  # (B, S, D)
    if config["normalize_first"]:
        x = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_epsilon"], name="encoder_final_norm"
        )(x)
    encoded = x

    y = embed(
        target_table,
        _positions("decoder_positions", config),
        keras.layers.Dropout(config["dropout"], name="decoder_dropout"),
        target_ids,
    )  # (B, T, D)
    for index in range(config["num_layers"]):
        y = layers.TransformerDecoder(
            **block,
            name=f"decoder_layer_{index}",
        )(
            y,
            encoded,
            decoder_padding_mask=target_mask,
            encoder_padding_mask=source_mask,
        )  # (B, T, D)
    if config["normalize_first"]:
        y = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_epsilon"], name="decoder_final_norm"
        )(y)
    if config["tie_output"]:
        logits = target_table(y, reverse=True)  # (B, T, V)
    else:
        logits = keras.layers.Dense(
            config["target_vocabulary_size"], name="logits"
        )(y)  # (B, T, V)
    return keras.Model(inputs, logits, name=name)


def embed(table, positions, dropout, token_ids, start_index=0, training=None):
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

    Returns:
        `(batch, T, hidden)` tensor.
    """
    x = table(token_ids)  # (B, T, D)
    x = x * ops.cast(math.sqrt(x.shape[-1]), x.dtype)
    x = x + positions(x, start_index=start_index)
    return dropout(x, training=training)
