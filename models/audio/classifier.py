"""The audio classifier as a functional Keras model."""

import keras

from keras_attn.models.audio.backbone import audio_backbone
from keras_attn.models.audio.presets import audio_config


def audio_classifier(
    num_classes, preset=None, name="audio_classifier", **overrides
):
    """Builds an audio classifier as a functional model.

    `audio_backbone` (the layer named "audio_backbone"), then the class
    token's output and a dense layer of logits (named "logits").

    Args:
        num_classes: int. Number of classes.
        preset: str or None. A key of `AUDIO_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `audio_backbone`.

    Returns:
        keras.Model: input `waveforms` `(batch, clip_samples)` (or, with
        `num_features`, the dict of `features` and `padding_mask`), output
        `(batch, num_classes)` logits.

    Example:

    >>> import numpy as np
    >>> model = audio_classifier(6, "audio_tiny", num_layers=1)
    >>> model(np.zeros((2, 16000), "float32")).shape
    TensorShape([2, 6])
    """
    if (
        not isinstance(num_classes, int)
        or isinstance(num_classes, bool)
        or num_classes < 1
    ):
        raise ValueError(
            f"`num_classes` must be a positive int; received {num_classes!r}."
        )
    config = audio_config(preset, **overrides)
    backbone = audio_backbone(**config)
    logits = classifier_logits(backbone, num_classes)  # (B, C)
    return keras.Model(backbone.input, logits, name=name)


def classifier_logits(backbone, num_classes):
    """The head's logits on `backbone.input`, `(batch, classes)`: the
    class token's output and a dense layer. What `audio_classifier` and
    the `AudioClassifier` task share."""
    x = backbone(backbone.input)  # (B, 1 + T, D)
    pooled = x[:, 0]  # (B, D)
    return keras.layers.Dense(num_classes, name="logits")(pooled)  # (B, C)
