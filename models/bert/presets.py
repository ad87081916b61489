"""BERT's sizes by name, and the full configuration of a backbone."""

from keras_attn.models._common import resolve_config

# Architecture sizes. bert_base is Devlin et al. (2019); tiny, mini and small
# are the compact BERTs of Turc et al. (2019); minilm_l6 is the shape of
# all-MiniLM-L6-v2 (Wang et al., 2020, fine-tuned by sentence-transformers).
BERT_PRESETS = {
    "bert_tiny": {"num_layers": 2, "hidden_dim": 128, "num_heads": 2},
    "bert_mini": {"num_layers": 4, "hidden_dim": 256, "num_heads": 4},
    "bert_small": {"num_layers": 4, "hidden_dim": 512, "num_heads": 8},
    "bert_base": {"num_layers": 12, "hidden_dim": 768, "num_heads": 12},
    "minilm_l6": {"num_layers": 6, "hidden_dim": 384, "num_heads": 12},
}


for _config in BERT_PRESETS.values():
    _config["intermediate_dim"] = 4 * _config["hidden_dim"]


# What every preset shares unless the caller says otherwise.
BERT_DEFAULTS = {
    "vocabulary_size": 30522,
    "max_sequence_length": 512,
    "num_segments": 2,
    "dropout": 0.1,
    "activation": "gelu",
    "layer_norm_epsilon": 1e-12,
}


_REQUIRED = ("num_layers", "hidden_dim", "num_heads", "intermediate_dim")


def bert_config(preset=None, **overrides):
    """The full configuration of a BERT backbone.

    Args:
        preset: str or None. One of `BERT_PRESETS`; None to give every size
            in `overrides`.
        **overrides: any key of the configuration (`vocabulary_size`,
            `num_layers`, `hidden_dim`, `num_heads`, `intermediate_dim`,
            `max_sequence_length`, `num_segments`, `dropout`, `activation`,
            `layer_norm_epsilon`).

    Returns:
        dict: the configuration.

    Example:

    >>> bert_config("bert_tiny")["intermediate_dim"]
    512
    """
    return resolve_config(
        "BERT", BERT_PRESETS, BERT_DEFAULTS, _REQUIRED, preset, overrides
    )
