"""RNN translator sizes by name, and the full configuration of one."""

from keras_attn.models._common import resolve_config
from keras_attn.models._common import resolve_target_vocabulary

# rnn_translator_base has the sizes of Bahdanau et al. (2015), appendix
# A.2 (620-wide embeddings, 1000 GRU units per encoder direction and in the
# decoder, a maxout layer of 500); the smaller shapes are for small
# corpora and tests. `attention_dim` is the annotations' size in each, so
# that the attention's values (projected to `attention_dim`) lose nothing
# of the annotations (the paper's alignment layer had 1000 units).
RNN_TRANSLATOR_PRESETS = {
    "rnn_translator_tiny": {
        "embedding_dim": 16,
        "encoder_units": 16,
        "decoder_units": 32,
        "attention_dim": 32,
        "maxout_units": 16,
    },
    "rnn_translator_small": {
        "embedding_dim": 256,
        "encoder_units": 256,
        "decoder_units": 512,
        "attention_dim": 512,
        "maxout_units": 256,
    },
    "rnn_translator_base": {
        "embedding_dim": 620,
        "encoder_units": 1000,
        "decoder_units": 1000,
        "attention_dim": 2000,
        "maxout_units": 500,
    },
}

RNN_TRANSLATOR_DEFAULTS = {
    "target_vocabulary_size": None,  # None: the same as vocabulary_size
    "share_embeddings": True,
    "dropout": 0.1,
}

_REQUIRED = (
    "vocabulary_size",
    "embedding_dim",
    "encoder_units",
    "decoder_units",
    "attention_dim",
    "maxout_units",
)


def rnn_translator_config(preset=None, **overrides):
    """The full configuration of an RNN translator.

    Args:
        preset: str or None. One of `RNN_TRANSLATOR_PRESETS`.
        **overrides: `vocabulary_size` (required: the source vocabulary,
            and the target one unless `target_vocabulary_size` is given),
            `embedding_dim` (token vectors), `encoder_units` (GRU units per
            direction: the annotations have twice as many),
            `decoder_units`, `attention_dim` (the size of the additive
            score's `W s + U h`), `maxout_units` (the deep output layer),
            `share_embeddings` (one token table for both languages),
            `dropout` (on the token vectors and the maxout output).

    Returns:
        dict: the configuration.

    Example:

    >>> config = rnn_translator_config("rnn_translator_small",
    ...                                vocabulary_size=4000)
    >>> config["encoder_units"], config["target_vocabulary_size"]
    (256, 4000)
    """
    config = resolve_config(
        "rnn_translator",
        RNN_TRANSLATOR_PRESETS,
        RNN_TRANSLATOR_DEFAULTS,
        _REQUIRED,
        preset,
        overrides,
    )
    for key in _REQUIRED:
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(
                f"`{key}` must be a positive int; received {value!r}."
            )
    resolve_target_vocabulary(config)
    dropout = config["dropout"]
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(
            f"`dropout` must be a float in [0, 1); received {dropout!r}."
        )
    return config
