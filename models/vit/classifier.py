"""The Vision Transformer image classifier as a functional Keras model."""

import keras
from keras import ops

from keras_attn.models.vit.backbone import vit_backbone
from keras_attn.models.vit.presets import vit_config


def vit_classifier(
    num_classes, preset=None, name="vit_classifier", **overrides
):
    """Builds a Vision Transformer classifier as a functional model.

    `vit_backbone`, then the class token's output (or, with
    `pooling="mean"`, the mean over patches) and a dense layer of logits.

    Args:
        num_classes: int. Number of classes.
        preset: str or None. A key of `VIT_PRESETS`.
        name: str. The model's name.
        **overrides: configuration keys, see `vit_backbone`.

    Returns:
        keras.Model: input `images` `(batch, size, size, channels)`, output
        `(batch, num_classes)` logits. Its backbone is the layer named
        "vit_backbone".

    Example:

    >>> import numpy as np
    >>> model = vit_classifier(10, "vit_digits")
    >>> model(np.zeros((2, 8, 8, 1), "float32")).shape
    TensorShape([2, 10])
    """
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(
            f"`num_classes` must be a positive int; received {num_classes!r}."
        )
    config = vit_config(preset, **overrides)
    backbone = vit_backbone(**config)
    logits = classifier_logits(backbone, num_classes)  # (B, C)
    return keras.Model(backbone.input, logits, name=name)


def classifier_logits(backbone, num_classes):
    """The classifier head's logits on `backbone.input`, `(batch, classes)`:
    the class token's output (or, without one, the mean over patches) and
    a dense layer. What `vit_classifier` and the `ImageClassifier` task
    share."""
    x = backbone(backbone.input)  # (B, T, D)
    if backbone.get_layer("patch_embedding").use_class_token:
        pooled = x[:, 0]  # (B, D)
    else:
        pooled = ops.mean(x, axis=1)  # (B, D)
    return keras.layers.Dense(num_classes, name="logits")(pooled)  # (B, C)
