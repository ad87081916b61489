"""The tagging head on a BERT backbone: per-word logits from each word's
first piece."""

import keras

from keras_attn import layers
from keras_attn.models.bert.backbone import initializer

WORD_STARTS = "word_starts"


def bert_token_classifier(
    backbone, num_classes, dropout=0.1, name="token_classifier"
):
    """A token-classification (tagging) head on a BERT backbone.

    The backbone's inputs plus `word_starts`, each word's first-piece
    position `(batch, words)`; the output is one row of logits per word,
    read from the word's first piece (BERT's recipe for tagging). The
    words' count is free: a sentence of `W` words in a sequence of `T`
    pieces needs `W <= T - 2` (between `[CLS]` and `[SEP]`); padding
    words may point anywhere (0 by convention) and are left out of the
    loss by a weight of 0.

    Args:
        backbone: a model from `bert_backbone` or `load_bert`.
        num_classes: int >= 2. Number of tags.
        dropout: float in [0, 1). Dropout before the dense head.
        name: str. The model's name.

    Returns:
        keras.Model with inputs `token_ids`, `segment_ids`, `padding_mask`
        and `word_starts`, and `(batch, words, num_classes)` logits (train
        with `from_logits=True` and per-word sample weights).

    Example:

    >>> import numpy as np
    >>> from keras_attn.models import bert_backbone
    >>> tagger = bert_token_classifier(
    ...     bert_backbone("bert_tiny", vocabulary_size=50), num_classes=5)
    >>> ids = np.array([[2, 7, 9, 11, 3, 0]], "int32")
    >>> tagger({"token_ids": ids, "segment_ids": 0 * ids,
    ...         "padding_mask": ids != 0,
    ...         "word_starts": np.array([[1, 3, 0, 0]])}).shape
    TensorShape([1, 4, 5])

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019, section 5.3.
          https://arxiv.org/abs/1810.04805
    """
    inputs, logits = token_classifier_graph(
        backbone, num_classes, dropout, name
    )
    return keras.Model(inputs, logits, name=name)


def token_classifier_graph(backbone, num_classes, dropout, name):
    """`(inputs, per-word logits)` of the tagging head on `backbone`: what
    `bert_token_classifier` and the `TokenClassifier` task share."""
    if not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(
            f"`num_classes` must be an int >= 2; received {num_classes!r}."
        )
    inputs = dict(backbone.input)
    inputs[WORD_STARTS] = keras.Input((None,), dtype="int32", name=WORD_STARTS)
    sequence = backbone(
        {key: inputs[key] for key in backbone.input}
    )["sequence_output"]  # (B, T, D)
    words = layers.WordGather(name="word_gather")(
        sequence, inputs[WORD_STARTS]
    )  # (B, W, D)
    words = keras.layers.Dropout(dropout, name="tagger_dropout")(words)
    logits = keras.layers.Dense(
        num_classes, kernel_initializer=initializer(), name="tag_logits"
    )(words)  # (B, W, C)
    return inputs, logits


def piece_logits_model(tagger):
    """A model over `tagger`'s backbone and dense head that gives logits
    for every piece, `(batch, T, classes)`: for averaging a word's
    pieces. Shares the tagger's weights."""
    backbone = tagger.backbone
    inputs = {
        key: keras.Input(value.shape[1:], dtype=value.dtype, name=key)
        for key, value in backbone.input.items()
    }
    sequence = backbone(inputs)["sequence_output"]  # (B, T, D)
    logits = tagger.get_layer("tag_logits")(sequence)  # (B, T, C)
    return keras.Model(inputs, logits, name=f"{tagger.name}_pieces")
