"""The Transformer encoder-decoder translator: a functional model class.

`TransformerTranslator` is a functional Keras model (its graph can be
walked and re-run, as `attention_model` and the exporter do) whose layers
are also attributes by role, gathered in `parts` (a `TranslatorParts`):
decoding and export run the encoder and the cached decoder step through
`parts`, never by looking layers up by name. `translator_encoder` gives
the encoder alone as a model of its own that shares the weights.
"""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import ConfiguredTranslator
from keras_attn.models.translator.parts import PAD_ID
from keras_attn.models.translator.parts import TranslatorParts
from keras_attn.models.translator.parts import embed
from keras_attn.models.translator.presets import TRANSLATOR_DEFAULTS
from keras_attn.models.translator.presets import translator_config

# What every encoder and decoder block shares.
_BLOCK_KEYS = (
    "intermediate_dim",
    "num_heads",
    "dropout",
    "activation",
    "layer_norm_epsilon",
    "normalize_first",
)


def _token_table(name, vocabulary_size, hidden_dim, dtype):
    # Normal with stddev hidden**-0.5: after the sqrt(hidden) scale of
    # `embed` the token vectors have unit-size entries, like the encodings.
    return layers.TokenEmbedding(
        vocabulary_size,
        hidden_dim,
        embeddings_initializer=keras.initializers.RandomNormal(
            stddev=hidden_dim**-0.5
        ),
        name=name,
        dtype=dtype,
    )


def _positions(name, config, dtype):
    if config["positional"] == "sinusoidal":
        return layers.SinusoidalPositionalEncoding(name=name, dtype=dtype)
    return layers.PositionalEmbedding(
        config["max_sequence_length"], name=name, dtype=dtype
    )


def _token_tables(config, dtype):
    """`{"source_table", "target_table"}`: one layer when shared."""
    hidden = config["hidden_dim"]
    if config["share_embeddings"]:
        table = _token_table(
            "token_embedding", config["vocabulary_size"], hidden, dtype
        )
        return {"source_table": table, "target_table": table}
    return {
        "source_table": _token_table(
            "source_token_embedding", config["vocabulary_size"], hidden, dtype
        ),
        "target_table": _token_table(
            "target_token_embedding",
            config["target_vocabulary_size"],
            hidden,
            dtype,
        ),
    }


def _encoder_stack(roles, config, dtype, source_ids, source_mask):
    """Makes the encoder's layers into `roles`, each just before its first
    call on the symbolic `source_ids`; the encoder's output."""
    block = {key: config[key] for key in _BLOCK_KEYS}
    roles["encoder_positions"] = _positions("encoder_positions", config, dtype)
    roles["encoder_dropout"] = keras.layers.Dropout(
        config["dropout"], name="encoder_dropout", dtype=dtype
    )
    x = embed(
        roles["source_table"],
        roles["encoder_positions"],
        roles["encoder_dropout"],
        source_ids,
    )  # (B, S, D)
    roles["encoder_layers"] = []
    for index in range(config["num_layers"]):
        layer = layers.TransformerEncoder(
            **block, name=f"encoder_layer_{index}", dtype=dtype
        )
        roles["encoder_layers"].append(layer)
        x = layer(x, padding_mask=source_mask)  # (B, S, D)
    roles["encoder_final_norm"] = None
    if config["normalize_first"]:
        roles["encoder_final_norm"] = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_epsilon"],
            name="encoder_final_norm",
            dtype=dtype,
        )
        x = roles["encoder_final_norm"](x)
    return x


def _decoder_stack(
    roles, config, dtype, target_ids, target_mask, encoded, source_mask
):
    """Makes the decoder's layers and the output projection into `roles`,
    each just before its first call; the next-token logits."""
    block = {key: config[key] for key in _BLOCK_KEYS}
    roles["decoder_positions"] = _positions("decoder_positions", config, dtype)
    roles["decoder_dropout"] = keras.layers.Dropout(
        config["dropout"], name="decoder_dropout", dtype=dtype
    )
    y = embed(
        roles["target_table"],
        roles["decoder_positions"],
        roles["decoder_dropout"],
        target_ids,
    )  # (B, T, D)
    roles["decoder_layers"] = []
    for index in range(config["num_layers"]):
        layer = layers.TransformerDecoder(
            **block, name=f"decoder_layer_{index}", dtype=dtype
        )
        roles["decoder_layers"].append(layer)
        y = layer(
            y,
            encoded,
            decoder_padding_mask=target_mask,
            encoder_padding_mask=source_mask,
        )  # (B, T, D)
    roles["decoder_final_norm"] = None
    if config["normalize_first"]:
        roles["decoder_final_norm"] = keras.layers.LayerNormalization(
            epsilon=config["layer_norm_epsilon"],
            name="decoder_final_norm",
            dtype=dtype,
        )
        y = roles["decoder_final_norm"](y)
    roles["logits"] = None
    if config["tie_output"]:
        return roles["target_table"](y, reverse=True)  # (B, T, V)
    roles["logits"] = keras.layers.Dense(
        config["target_vocabulary_size"], name="logits", dtype=dtype
    )
    return roles["logits"](y)  # (B, T, V)


@keras.saving.register_keras_serializable(package="keras_attn")
class TransformerTranslator(ConfiguredTranslator, keras.Model):
    """An encoder-decoder Transformer for translation.

    Build it with `transformer_translator` (presets) or directly with the
    configuration keys of `translator_config`.

    Inputs (a dict): `encoder_token_ids` `(batch, source_length)` and
    `decoder_token_ids` `(batch, target_length)`, int32, with 0 as padding.
    The decoder's input is the target shifted right (it starts with the
    start token). Output: next-token logits
    `(batch, target_length, target_vocabulary_size)`.

    The layers are attributes by role (`source_table`, `target_table`,
    `encoder_positions`, `decoder_positions`, `encoder_dropout`,
    `decoder_dropout`, `encoder_layers`, `decoder_layers`,
    `encoder_final_norm`, `decoder_final_norm`, `logits`; see
    `TranslatorParts`), and `parts` holds them with the encoder pass and
    the cached decoder step. Their Keras names are those older keras-attn
    versions gave (`token_embedding` or `source_token_embedding` and
    `target_token_embedding`, `encoder_layer_{i}`, `decoder_layer_{i}`, ...),
    so weight paths are unchanged.

    Args:
        vocabulary_size, num_layers, hidden_dim, num_heads,
            intermediate_dim, target_vocabulary_size, max_sequence_length,
            positional, share_embeddings, tie_output, dropout, activation,
            layer_norm_epsilon, normalize_first: see `translator_config`.
        name: str. The model's name. Defaults to `"translator"`.
        dtype: dtype policy of every layer; None takes Keras's global
            policy. Saved with the model.

    Example:

    >>> import numpy as np
    >>> model = TransformerTranslator(
    ...     vocabulary_size=30, num_layers=1, hidden_dim=16, num_heads=2,
    ...     intermediate_dim=32)
    >>> logits = model({"encoder_token_ids": np.array([[5, 6, 0]], "int32"),
    ...                 "decoder_token_ids": np.array([[1, 7]], "int32")})
    >>> tuple(logits.shape), len(model.parts.decoder_layers)
    ((1, 2, 30), 1)
    """

    def __init__(
        self,
        vocabulary_size,
        num_layers,
        hidden_dim,
        num_heads,
        intermediate_dim,
        target_vocabulary_size=None,
        max_sequence_length=TRANSLATOR_DEFAULTS["max_sequence_length"],
        positional=TRANSLATOR_DEFAULTS["positional"],
        share_embeddings=TRANSLATOR_DEFAULTS["share_embeddings"],
        tie_output=TRANSLATOR_DEFAULTS["tie_output"],
        dropout=TRANSLATOR_DEFAULTS["dropout"],
        activation=TRANSLATOR_DEFAULTS["activation"],
        layer_norm_epsilon=TRANSLATOR_DEFAULTS["layer_norm_epsilon"],
        normalize_first=TRANSLATOR_DEFAULTS["normalize_first"],
        name="translator",
        dtype=None,
        **kwargs,
    ):
        config = translator_config(
            None,
            vocabulary_size=vocabulary_size,
            num_layers=num_layers,
            hidden_dim=hidden_dim,
            num_heads=num_heads,
            intermediate_dim=intermediate_dim,
            target_vocabulary_size=target_vocabulary_size,
            max_sequence_length=max_sequence_length,
            positional=positional,
            share_embeddings=share_embeddings,
            tie_output=tie_output,
            dropout=dropout,
            activation=activation,
            layer_norm_epsilon=layer_norm_epsilon,
            normalize_first=normalize_first,
        )
        # The layers are made in the order of their first call, as the
        # functional builder of older versions made them: layer
        # constructors draw seeds, so this order keeps the initial weights
        # and dropout streams of a seeded run what they were.
        inputs = {
            key: keras.Input((None,), dtype="int32", name=key)
            for key in ("encoder_token_ids", "decoder_token_ids")
        }
        roles = _token_tables(config, dtype)
        source_ids = inputs["encoder_token_ids"]
        target_ids = inputs["decoder_token_ids"]
        source_mask = ops.not_equal(source_ids, PAD_ID)  # (B, S)
        target_mask = ops.not_equal(target_ids, PAD_ID)  # (B, T)
        encoded = _encoder_stack(roles, config, dtype, source_ids, source_mask)
        logits = _decoder_stack(
            roles, config, dtype, target_ids, target_mask, encoded, source_mask
        )  # (B, T, V)
        super().__init__(inputs, logits, name=name, dtype=dtype, **kwargs)
        # After the graph, so that `weights` keep the graph's order (that of
        # the functional models of older versions).
        self._keep(roles, config)
        self.parts = TranslatorParts.from_layers(self, **roles)


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

    The model is a `TransformerTranslator`: its layers are attributes by
    role and `model.parts` (a `TranslatorParts`) runs the encoder and the
    cached decoder step that `greedy_decode`, `beam_search` and the
    exporter use. The layers keep the names of older versions:
    `source_token_embedding` and `target_token_embedding` (one layer,
    `token_embedding`, when shared), `encoder_positions`,
    `decoder_positions`, `encoder_layer_{i}`, `decoder_layer_{i}`, `logits`
    (absent when tied).

    Args:
        preset: str or None. A key of `TRANSLATOR_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `translator_config`.

    Returns:
        `TransformerTranslator` (a functional `keras.Model`).

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
    return TransformerTranslator(**config, name=name)


def translator_encoder(model, name=None):
    """The translator's encoder alone, as a model sharing its layers.

    A functional model from `encoder_token_ids` (int32 `(batch, S)`, 0 as
    padding) to a dict: `encoder_sequence`, the encoder's output
    `(batch, S, hidden)` (after the final norm of a pre-norm translator),
    and `encoder_padding_mask`, bool `(batch, S)`, True on real tokens.
    It calls the translator's own layers (no copies: training either
    trains both), so it exports alone, for example to run the encoder in
    one `.tflite` file and the decoder elsewhere.

    Args:
        model: a `TransformerTranslator`, or a translator saved by an older
            keras-attn (see `TranslatorParts`).
        name: str or None. Defaults to the translator's name + "_encoder".

    Returns:
        keras.Model.

    Example:

    >>> import numpy as np
    >>> translator = transformer_translator("translator_tiny",
    ...                                     vocabulary_size=30)
    >>> encoder = translator_encoder(translator)
    >>> out = encoder(np.array([[5, 6, 0]], "int32"))
    >>> tuple(out["encoder_sequence"].shape)
    (1, 3, 64)
    >>> np.asarray(out["encoder_padding_mask"]).tolist()
    [[True, True, False]]
    """
    parts = TranslatorParts(model)
    ids = keras.Input((None,), dtype="int32", name="encoder_token_ids")
    encoded, mask = parts.encode(ids, training=None)  # (B, S, D), (B, S)
    return keras.Model(
        ids,
        {"encoder_sequence": encoded, "encoder_padding_mask": mask},
        name=name or f"{model.name}_encoder",
    )
