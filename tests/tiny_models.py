"""The smallest models, shared by the export, hostile-input and soak
tests: a BERT text classifier (one layer, hidden size 16, two classes)
and an untrained translator with a 24-piece vocabulary."""

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


TRANSLATOR_SENTENCES = [
    "one two three",
    "un deux trois",
    "four five",
    "quatre cinq",
]


def translator(max_source_length=8, max_target_length=6):
    """An untrained `translator_tiny` with its own 24-piece tokenizer."""
    from keras_attn.models import Translator
    from keras_attn.models import train_translation_tokenizer

    tokenizer = train_translation_tokenizer(
        TRANSLATOR_SENTENCES * 10, vocabulary_size=24
    )
    model = models.transformer_translator("translator_tiny", vocabulary_size=24)
    return Translator(
        model,
        tokenizer,
        max_source_length=max_source_length,
        max_target_length=max_target_length,
    )
