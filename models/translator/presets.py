"""Translator sizes by name, and the full configuration of a translator."""

from keras_attn.models._common import resolve_config
from keras_attn.models._common import resolve_target_vocabulary

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
    if config["positional"] not in ("sinusoidal", "learned"):
        raise ValueError(
            "`positional` must be 'sinusoidal' or 'learned'; received "
            f"{config['positional']!r}."
        )
    resolve_target_vocabulary(config)
    return config
