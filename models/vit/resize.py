"""A ViT rebuilt at another image size, its position table interpolated."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.models._common import assign


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
