"""The Vision Transformer image classifier as a functional Keras model."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import assign
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


def _patch_embeddings(model):
    """Every `PatchEmbedding` inside `model`, nested models included."""
    found = []
    for layer in model.layers:
        if isinstance(layer, layers.PatchEmbedding):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(_patch_embeddings(layer))
    return found


def _resized_config(config, image_size):
    """A copy of a serialized model with every image input and
    `PatchEmbedding` at `image_size`; stale build shapes are dropped so
    that the layers build on the new shapes."""
    if isinstance(config, list):
        return [_resized_config(item, image_size) for item in config]
    if not isinstance(config, dict):
        return config
    config = {
        key: _resized_config(value, image_size)
        for key, value in config.items()
        if key != "build_config"
    }
    inner = config.get("config")
    if isinstance(inner, dict):
        kind = config.get("class_name")
        shape = inner.get("batch_shape")
        if kind == "InputLayer" and shape is not None and len(shape) == 4:
            inner["batch_shape"] = (shape[0], image_size, image_size, shape[3])
        if kind == "PatchEmbedding":
            inner["image_size"] = image_size
    return config


def vit_resize(model, image_size, name=None):
    """A copy of a ViT built for another image size, weights included.

    Rebuilds `model` (from `vit_classifier` or `vit_backbone`, or one
    loaded from a `.keras` file) at `image_size` with the same
    configuration and copies every weight. The position table of the
    patches is the old one resized to the new patch grid with the
    `PatchEmbedding`'s `interpolation` (bicubic by default); the class
    token's position is kept. This is how a ViT is fine-tuned at a higher
    resolution than it was trained at (Dosovitskiy et al., 2021, section
    3.2). The new model gives the outputs the old one gives when its
    `PatchEmbedding` interpolates on the fly, without resizing the table on
    every call, and trains the resized table.

    Args:
        model: a ViT model: exactly one `PatchEmbedding` (nested models
            included) and an image input `(batch, size, size, channels)`.
        image_size: int. The new height and width; a multiple of the patch
            size.
        name: str or None. The new model's name; None keeps the old one.

    Returns:
        keras.Model of the same kind, input `(batch, image_size,
        image_size, channels)`; `model` is left unchanged.

    Example:

    >>> import numpy as np
    >>> model = vit_classifier(10, "vit_digits")
    >>> bigger = vit_resize(model, 12)
    >>> bigger(np.zeros((2, 12, 12, 1), "float32")).shape
    TensorShape([2, 10])
    >>> table = bigger.get_layer("vit_backbone").get_layer(
    ...     "patch_embedding").position_embeddings
    >>> tuple(table.shape)  # the class token and a 6 x 6 grid
    (37, 64)

    References:
        - Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers
          for Image Recognition at Scale", 2021.
          https://arxiv.org/abs/2010.11929
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`model` must be a keras.Model from vit_classifier or "
            f"vit_backbone; received {type(model).__name__}."
        )
    found = _patch_embeddings(model)
    if len(found) != 1:
        raise ValueError(
            "vit_resize expects a model with exactly one PatchEmbedding, as "
            f"vit_classifier and vit_backbone build; received {model.name!r} "
            f"with {len(found)}."
        )
    patches = found[0]
    patch = patches.patch_size
    if (
        isinstance(image_size, bool)
        or not isinstance(image_size, int)
        or image_size <= 0
        or any(image_size % p for p in patches._patch_hw)
    ):
        raise ValueError(
            "`image_size` must be a positive int divisible by the patch "
            f"size; received image_size={image_size!r} with "
            f"patch_size={patch!r}."
        )
    config = _resized_config(
        keras.saving.serialize_keras_object(model), image_size
    )
    if name is not None:
        config["config"]["name"] = name
    resized = keras.saving.deserialize_keras_object(config)

    grid = tuple(image_size // p for p in patches._patch_hw)
    table = ops.convert_to_numpy(patches._positions(grid))  # (P'[+1], D)
    old, new = model.weights, resized.weights
    if [w.path for w in old] != [w.path for w in new]:
        raise ValueError(
            f"Rebuilding {model.name!r} at image_size={image_size} gave "
            "other weights; vit_resize expects a model from vit_classifier "
            "or vit_backbone."
        )
    for source, target in zip(old, new, strict=True):
        value = table if source is patches.position_embeddings else source
        assign(target, ops.convert_to_numpy(value), source.path)
    return resized
