"""The smallest BERT text classifier, shared by the export, hostile-input
and soak tests: one layer, hidden size 16, two classes."""

import keras

from keras_attn import models


def bert_classifier(vocabulary_size, max_sequence_length, seed=None):
    """A 1-layer BERT classifier; `seed` fixes its random weights."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    backbone = models.bert_backbone(
        num_layers=1,
        hidden_dim=16,
        num_heads=2,
        intermediate_dim=32,
        vocabulary_size=vocabulary_size,
        max_sequence_length=max_sequence_length,
    )
    return models.bert_text_classifier(backbone, num_classes=2)
