"""Activation lookup for the feed-forward blocks (private)."""

import keras


@keras.saving.register_keras_serializable(package="keras_attn")
def gelu_approximate(x):
    """GELU with the tanh approximation (GPT-2, some BERT ports)."""
    return keras.activations.gelu(x, approximate=True)


_ALIASES = {"gelu_approximate": gelu_approximate, "gelu_tanh": gelu_approximate}


def get_activation(activation):
    """Accepts a Keras activation name or callable, plus `"gelu_approximate"`.

    `"gelu"` is the exact (erf) GELU of BERT; `"gelu_approximate"` (alias
    `"gelu_tanh"`) the tanh approximation.
    """
    if isinstance(activation, str) and activation in _ALIASES:
        return _ALIASES[activation]
    try:
        return keras.activations.get(activation)
    except (ValueError, TypeError) as error:
        raise ValueError(
            "`activation` must be a Keras activation name or callable, or "
            f"'gelu_approximate'; received activation={activation!r}."
        ) from error
