"""The Vision Transformer backbone as a functional Keras model."""

import keras

from keras_attn import layers
from keras_attn.models.vit.presets import vit_config


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
