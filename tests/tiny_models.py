"""The smallest models, shared by the export, hostile-input and soak
tests: a BERT text classifier (one layer, hidden size 16, two classes)
and an untrained translator with a 24-piece vocabulary; `spread` gives a
model weights whose outputs move with every input."""

import keras
import numpy as np

from keras_attn import _compat
from keras_attn import models
from keras_attn.layers import TransformerEncoder


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


def plant_wide_channels(model, residual=None, hidden=None, norm=None):
    """Gives every Transformer encoder block of `model` a wide channel, as
    a fine-tuned MiniLM has them, and returns the blocks.

    `residual`: this feed-forward output channel about 40 in every token
    (channel 99 of MiniLM reaches 220). `hidden`: this hidden channel
    about 30 after its GELU in every token (MiniLM's layer 0 reaches 24
    where most stay under 2), with its weight into the output projection
    made small so the block's output stays ordinary. `norm`: this channel
    of the attention layer norm's output about 25 in every token (its
    beta; MiniLM's reaches 28 where most stay under 3), with its weights
    into the feed-forward layer made small."""
    blocks = [
        layer
        for layer in _compat.flatten_layers(model)
        if isinstance(layer, TransformerEncoder)
    ]
    for block in blocks:
        output = block.feedforward_output_dense
        kernel, bias = output.get_weights()
        if residual is not None:
            kernel[:, residual] *= 80.0
            bias[residual] = 40.0
        if hidden is not None:
            kernel[hidden] *= 0.05
        output.set_weights([kernel, bias])
        if hidden is not None:
            first = block.feedforward_intermediate_dense
            kernel, bias = first.get_weights()
            bias[hidden] = 30.0
            first.set_weights([kernel, bias])
        if norm is not None:
            layer_norm = block.self_attention_layer_norm
            gamma, beta = layer_norm.get_weights()
            beta[norm] = 25.0
            layer_norm.set_weights([gamma, beta])
            first = block.feedforward_intermediate_dense
            kernel, bias = first.get_weights()
            kernel[norm] *= 0.05
            first.set_weights([kernel, bias])
    return blocks


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


def spread(model, seed):
    """Kernels N(0, 1/fan_in), embeddings N(0, 1): outputs that move with
    every token and pixel."""
    rng = np.random.default_rng(seed)
    for weight in model.weights:
        shape = tuple(weight.shape)
        if "kernel" in weight.path and len(shape) >= 2:
            scale = 1 / np.sqrt(np.prod(shape[:-1]))
            weight.assign(rng.normal(0, scale, shape).astype("float32"))
        elif "embeddings" in weight.path and len(shape) == 2:
            weight.assign(rng.normal(0, 1, shape).astype("float32"))
    return model
