"""The smallest models, shared by the export, hostile-input and soak
tests: a BERT text classifier (one layer, hidden size 16, two classes),
an untrained translator with a 24-piece vocabulary and an audio
classifier on quarter-second clips at 8 kHz; `spread` gives a model
weights whose outputs move with every input; `reversal_batch` is the
translators' toy task."""

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


def reversal_batch(rng, size, vocabulary, max_symbols, copy=False):
    """A batch of the toy translation task: source, 1 to `max_symbols`
    random symbols (ids 3 up to `vocabulary`); target, the same symbols
    reversed (or, with `copy`, in order) between START and END. Returns
    `(inputs, labels, weights)` for a translator's `fit`."""
    pad, start, end = 0, 1, 2  # models.translator's PAD_ID, START_ID, END_ID
    source = np.zeros((size, max_symbols), "int32")
    target = np.zeros((size, max_symbols + 2), "int32")  # START ... END
    for row in range(size):
        n = rng.integers(1, max_symbols + 1)
        symbols = rng.integers(3, vocabulary, n)
        source[row, :n] = symbols
        target[row, 0] = start
        target[row, 1 : n + 1] = symbols if copy else symbols[::-1]
        target[row, n + 1] = end
    inputs = {"encoder_token_ids": source, "decoder_token_ids": target[:, :-1]}
    labels = target[:, 1:]
    return inputs, labels, (labels != pad).astype("float32")


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


# A quarter second at 8 kHz: 25 ms frames every 12.5 ms (19 frames of 16
# mel bins), one encoder layer of 16 dims.
AUDIO_TINY = {
    "sample_rate": 8000,
    "clip_samples": 2000,
    "frame_length": 200,
    "frame_step": 100,
    "fft_length": 256,
    "num_mel_bins": 16,
    "num_layers": 1,
    "hidden_dim": 16,
    "num_heads": 2,
    "intermediate_dim": 32,
}


def audio_classifier(class_names=("low", "high"), seed=None, **overrides):
    """An untrained `AudioClassifier` task on `AUDIO_TINY` clips (its
    functional network: `task.backbone` inside, or
    `models.audio_classifier(len(class_names), **AUDIO_TINY)`); `seed`
    fixes its random weights."""
    if seed is not None:
        keras.utils.set_random_seed(seed)
    return models.AudioClassifier.from_preset(
        "audio_tiny",
        class_names=list(class_names),
        **{**AUDIO_TINY, **overrides},
    )


def tone_clips(
    count,
    seed,
    sample_rate=8000,
    low=(300, 500),
    high=(2000, 2800),
    lengths=(1500, 2600),
):
    """`count` clips of one sine each, a low tone (label 0) or a high one
    (label 1), of random amplitude (0.05..0.9), phase and length (clips
    shorter and longer than `AUDIO_TINY`'s), with faint noise: a list of
    float32 arrays and an int array of labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, count)
    clips = []
    for label in labels:
        band = high if label else low
        frequency = rng.uniform(*band)
        length = int(rng.integers(*lengths))
        t = np.arange(length) / sample_rate
        wave = rng.uniform(0.05, 0.9) * np.sin(
            2 * np.pi * frequency * t + rng.uniform(0, 2 * np.pi)
        )
        wave += 0.01 * rng.normal(size=length)
        clips.append(wave.astype("float32"))
    return clips, labels.astype("int32")
