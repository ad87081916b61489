"""The Vision Transformer image classifier as a functional Keras model."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import resolve_config

# Dosovitskiy et al. (2021), table 1 (Base), and Touvron et al. (2021,
# DeiT) for Tiny and Small; all at patch 16 on 224x224 RGB images.
# vit_digits and vit_cifar are small shapes for 8x8 and 32x32 images.
VIT_PRESETS = {
    "vit_tiny": {"num_layers": 12, "hidden_dim": 192, "num_heads": 3},
    "vit_small": {"num_layers": 12, "hidden_dim": 384, "num_heads": 6},
    "vit_base": {"num_layers": 12, "hidden_dim": 768, "num_heads": 12},
    "vit_digits": {
        "image_size": 8,
        "patch_size": 2,
        "channels": 1,
        "num_layers": 4,
        "hidden_dim": 64,
        "num_heads": 4,
        "intermediate_dim": 128,
    },
    "vit_cifar": {
        "image_size": 32,
        "patch_size": 4,
        "num_layers": 6,
        "hidden_dim": 192,
        "num_heads": 3,
    },
}
VIT_DEFAULTS = {
    "image_size": 224,
    "patch_size": 16,
    "channels": 3,
    "dropout": 0.0,
    "activation": "gelu",
    "layer_norm_epsilon": 1e-6,
    "pooling": "class_token",
    "intermediate_dim": None,  # None: four times hidden_dim
}
_REQUIRED = ("num_layers", "hidden_dim", "num_heads")


def vit_config(preset=None, **overrides):
    """The full configuration of a ViT classifier (see `vit_classifier`).

    `intermediate_dim` defaults to four times `hidden_dim`.

    Example:

    >>> vit_config("vit_base")["intermediate_dim"]
    3072
    """
    config = resolve_config(
        "ViT",
        VIT_PRESETS,
        VIT_DEFAULTS,
        _REQUIRED,
        preset,
        overrides,
    )
    if config["intermediate_dim"] is None:
        config["intermediate_dim"] = 4 * config["hidden_dim"]
    if config["pooling"] not in ("class_token", "mean"):
        raise ValueError(
            "`pooling` must be 'class_token' or 'mean'; received "
            f"{config['pooling']!r}."
        )
    return config


def vit_backbone(preset=None, name="vit_backbone", **overrides):
    """Builds the Vision Transformer encoder as a functional model.

    Patches (`PatchEmbedding`, with a class token when `pooling` is
    "class_token"), pre-norm `TransformerEncoder` blocks and a final layer
    norm: the output of keras-hub's `ViTBackbone`.

    Args:
        preset: str or None. A key of `VIT_PRESETS`.
        name: str. The model's name.
        **overrides: `image_size`, `patch_size`, `channels`, `num_layers`,
            `hidden_dim`, `num_heads`, `intermediate_dim`, `dropout`,
            `activation`, `layer_norm_epsilon`, `pooling`.

    Returns:
        keras.Model: input `images` `(batch, size, size, channels)`, output
        `(batch, tokens, hidden_dim)`, the class token first if any.

    Example:

    >>> import numpy as np
    >>> backbone = vit_backbone("vit_digits")
    >>> backbone(np.zeros((2, 8, 8, 1), "float32")).shape
    TensorShape([2, 17, 64])

    References:
        - Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers
          for Image Recognition at Scale", 2021.
          https://arxiv.org/abs/2010.11929
    """
    config = vit_config(preset, **overrides)
    size = config["image_size"]
    images = keras.Input((size, size, config["channels"]), name="images")
    x = layers.PatchEmbedding(
        image_size=size,
        patch_size=config["patch_size"],
        hidden_dim=config["hidden_dim"],
        use_class_token=config["pooling"] == "class_token",
        name="patch_embedding",
    )(images)  # (B, 1 + N, D) or (B, N, D)
    x = keras.layers.Dropout(config["dropout"], name="embedding_dropout")(x)
    for index in range(config["num_layers"]):
        x = layers.TransformerEncoder(
            intermediate_dim=config["intermediate_dim"],
            num_heads=config["num_heads"],
            dropout=config["dropout"],
            activation=config["activation"],
            layer_norm_epsilon=config["layer_norm_epsilon"],
            normalize_first=True,
            name=f"transformer_layer_{index}",
        )(x)
    x = keras.layers.LayerNormalization(
        epsilon=config["layer_norm_epsilon"], name="final_layer_norm"
    )(x)
    return keras.Model(images, x, name=name)


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
    images = backbone.input
    x = backbone(images)  # (B, T, D)
    if config["pooling"] == "class_token":
        pooled = x[:, 0]  # (B, D)
    else:
        pooled = ops.mean(x, axis=1)  # (B, D)
    logits = keras.layers.Dense(num_classes, name="logits")(pooled)
    return keras.Model(images, logits, name=name)
