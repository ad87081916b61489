"""ViT sizes by name, and the full configuration of a classifier."""

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
