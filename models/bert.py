"""The BERT backbone as a functional Keras model, and its presets."""

import keras
from keras import ops

from keras_attn import layers
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


def _initializer():
    """BERT's truncated normal (stddev 0.02), a fresh one per layer."""
    return keras.initializers.TruncatedNormal(stddev=0.02)


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
        embeddings_initializer=_initializer(),
        name="embeddings",
    )(inputs["token_ids"], inputs["segment_ids"])  # (B, T, D)
    for index in range(config["num_layers"]):
        x = layers.TransformerEncoder(
            intermediate_dim=config["intermediate_dim"],
            num_heads=config["num_heads"],
            dropout=config["dropout"],
            activation=config["activation"],
            layer_norm_epsilon=config["layer_norm_epsilon"],
            kernel_initializer=_initializer(),
            name=f"transformer_layer_{index}",
        )(x, padding_mask=padding_mask)  # (B, T, D)
    pooler = layers.BertPooler(kernel_initializer=_initializer(), name="pooler")
    pooled = pooler(x)  # (B, D)
    return keras.Model(
        inputs,
        {"sequence_output": x, "pooled_output": pooled},
        name=name,
    )


# float16's smallest normal number, 2 ** -14.
FLOAT16_TINY = 6.103515625e-05


def bert_sentence_embedder(backbone, name="sentence_embedder"):
    """Sentence embeddings from a BERT backbone: masked mean, then L2 norm.

    The sentence-transformers recipe (mean pooling over the real tokens,
    then normalisation), so that the dot product of two embeddings is their
    cosine similarity.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        name: str. The model's name.

    Returns:
        keras.Model with the backbone's inputs and one output,
        `(batch, hidden)`.

    Example:

    >>> import numpy as np
    >>> embedder = bert_sentence_embedder(
    ...     bert_backbone("bert_tiny", vocabulary_size=50))
    >>> ids = np.array([[2, 7, 9, 3, 0, 0]], "int32")
    >>> out = embedder({"token_ids": ids, "segment_ids": 0 * ids,
    ...                 "padding_mask": ids != 0})
    >>> round(float(np.linalg.norm(np.asarray(out)[0])), 4)
    1.0

    References:
        - Reimers and Gurevych, "Sentence-BERT: Sentence Embeddings using
          Siamese BERT-Networks", 2019. https://arxiv.org/abs/1908.10084
    """
    inputs = backbone.input
    sequence = backbone(inputs)["sequence_output"]  # (B, T, D)
    mask = ops.cast(inputs["padding_mask"], sequence.dtype)[..., None]
    summed = ops.sum(sequence * mask, axis=1)  # (B, D)
    # A row without real tokens gives a zero vector, not NaN.
    count = ops.maximum(ops.sum(mask, axis=1), 1.0)  # (B, 1)
    mean = summed / count
    norm = ops.sqrt(ops.sum(ops.square(mean), axis=-1, keepdims=True))
    # The floor is float16's smallest normal number, not sentence-
    # transformers' 1e-12: a phone GPU runs float16, where 1e-12 is 0 and
    # the zero vector of a row without tokens would give 0 / 0 = NaN. Only
    # vectors shorter than 6.1e-5 are affected.
    embedding = mean / ops.maximum(norm, FLOAT16_TINY)  # (B, D)
    return keras.Model(inputs, embedding, name=name)


def bert_text_classifier(
    backbone,
    num_classes,
    pooling="pooled",
    dropout=0.1,
    name="text_classifier",
):
    """A classification head on a BERT backbone; outputs logits.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        num_classes: int. Number of classes (>= 2).
        pooling: `"pooled"` (the backbone's [CLS] pooler, as BERT's paper
            fine-tunes) or `"mean"` (masked mean of the sequence, better for
            checkpoints trained for sentence embeddings, like MiniLM). The
            backbone's pooler is then unused, and Keras's optimizer warns
            that it gets no gradients.
        dropout: float in [0, 1). Dropout before the dense head.
        name: str. The model's name.

    Returns:
        keras.Model with the backbone's inputs and `(batch, num_classes)`
        logits (train with `from_logits=True`).

    Example:

    >>> import numpy as np
    >>> classifier = bert_text_classifier(
    ...     bert_backbone("bert_tiny", vocabulary_size=50), num_classes=3)
    >>> ids = np.array([[2, 7, 9, 3, 0, 0]], "int32")
    >>> classifier({"token_ids": ids, "segment_ids": 0 * ids,
    ...             "padding_mask": ids != 0}).shape
    TensorShape([1, 3])
    """
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2; received {num_classes!r}."
        )
    if pooling not in ("pooled", "mean"):
        raise ValueError(
            f"`pooling` must be 'pooled' or 'mean'; received {pooling!r}."
        )
    inputs = backbone.input
    if pooling == "pooled":
        features = backbone(inputs)["pooled_output"]  # (B, D)
    else:
        features = bert_sentence_embedder(backbone, name=f"{name}_pooling")(
            inputs
        )  # (B, D), unit length
    features = keras.layers.Dropout(dropout, name="classifier_dropout")(
        features
    )
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=_initializer(), name="logits"
    )(features)  # (B, C)
    return keras.Model(inputs, logits, name=name)
