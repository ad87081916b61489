"""Heads on a BERT backbone: sentence embeddings and text classification."""

import keras
from keras import ops

from keras_attn.models.bert.backbone import initializer

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
    return keras.Model(backbone.input, mean_embedding(backbone), name=name)


def mean_embedding(backbone):
    """The sentence embedding on `backbone.input`, `(batch, hidden)`: what
    `bert_sentence_embedder` and the `SentenceEmbedder` task share."""
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
    return mean / ops.maximum(norm, FLOAT16_TINY)  # (B, D)


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
    return keras.Model(
        backbone.input,
        classifier_logits(backbone, num_classes, pooling, dropout, name),
        name=name,
    )


def classifier_logits(backbone, num_classes, pooling, dropout, name):
    """The classifier head's logits on `backbone.input`, `(batch, classes)`:
    what `bert_text_classifier` and the `TextClassifier` task share."""
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
    return keras.layers.Dense(
        num_classes, kernel_initializer=initializer(), name="logits"
    )(features)  # (B, C)
