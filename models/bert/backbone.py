"""The BERT backbone as a functional Keras model."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models.bert.presets import bert_config


def initializer():
    """BERT's truncated normal (stddev 0.02), a fresh one per layer."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


def bert_backbone(preset=None, name="bert_backbone", **overrides):
    """Builds a BERT encoder as a functional model.

    Inputs (a dict): `token_ids` and `segment_ids`, int32
    `(batch, sequence)`, and `padding_mask`, `(batch, sequence)` with 1
    (or True) for real tokens. Outputs (a dict): `sequence_output`
    `(batch, sequence, hidden)` and `pooled_output` `(batch, hidden)`, the
    pooler's tanh dense layer on the first ([CLS]) token.

    The layers are named as in keras-hub's `BertBackbone` (`embeddings`,
    `transformer_layer_0`, ..., `pooler`) so that weights map one to one.

    Args:
        preset: str or None. A key of `BERT_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `bert_config`.

    Returns:
        keras.Model.

    Example:

    >>> import numpy as np
    >>> model = bert_backbone("bert_tiny", vocabulary_size=100)
    >>> ids = np.array([[2, 7, 9, 3, 0]], "int32")
    >>> out = model({"token_ids": ids, "segment_ids": 0 * ids,
    ...              "padding_mask": ids != 0})
    >>> tuple(out["sequence_output"].shape), tuple(out["pooled_output"].shape)
    ((1, 5, 128), (1, 128))

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019.
          https://arxiv.org/abs/1810.04805
    """
    config = bert_config(preset, **overrides)
    inputs = {
        "token_ids": keras.Input((None,), dtype="int32", name="token_ids"),
        "segment_ids": keras.Input((None,), dtype="int32", name="segment_ids"),
        "padding_mask": keras.Input(
            (None,), dtype="int32", name="padding_mask"
        ),
    }
    padding_mask = ops.cast(inputs["padding_mask"], "bool")  # (B, T)

    x = layers.BertEmbedding(
        vocabulary_size=config["vocabulary_size"],
        hidden_dim=config["hidden_dim"],
        max_sequence_length=config["max_sequence_length"],
        num_segments=config["num_segments"],
        dropout=config["dropout"],
        layer_norm_epsilon=config["layer_norm_epsilon"],
        embeddings_initializer=initializer(),
        name="embeddings",
    )(inputs["token_ids"], inputs["segment_ids"])  # (B, T, D)
    for index in range(config["num_layers"]):
        x = layers.TransformerEncoder(
            intermediate_dim=config["intermediate_dim"],
            num_heads=config["num_heads"],
            dropout=config["dropout"],
            activation=config["activation"],
            layer_norm_epsilon=config["layer_norm_epsilon"],
            kernel_initializer=initializer(),
            name=f"transformer_layer_{index}",
        )(x, padding_mask=padding_mask)  # (B, T, D)
    pooler = layers.BertPooler(kernel_initializer=initializer(), name="pooler")
    pooled = pooler(x)  # (B, D)
    return keras.Model(
        inputs,
        {"sequence_output": x, "pooled_output": pooled},
        name=name,
    )
