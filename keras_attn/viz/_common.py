"""What the plotting modules share: matplotlib on demand, array checks."""

import numpy as np


def pyplot():
    """`matplotlib.pyplot`, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "keras_attn.viz needs matplotlib to plot, and it could not be "
            "imported. Install it with `pip install matplotlib`."
        ) from error
    return plt


def to_numpy(name, x):
    """`x` (a NumPy array, list or backend tensor) as a float64 array."""
    if not isinstance(x, (np.ndarray, list, tuple, int, float)):
        from keras import ops

        x = ops.convert_to_numpy(x)
    try:
        return np.asarray(x).astype("float64")
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"`{name}` must be an array of numbers; received {x!r}."
        ) from error


def check_rank(name, array, ranks, description):
    if array.ndim not in ranks:
        raise ValueError(
            f"`{name}` must be {description}; received an array of shape "
            f"{array.shape}."
        )


def token_labels(name, tokens, length, axis):
    """`tokens` as a list of strings, checked against `length`."""
    if tokens is None:
        return None
    if isinstance(tokens, str):
        raise ValueError(
            f"`{name}` must be a sequence of tokens, one per {axis}; "
            f"received the string {tokens!r}."
        )
    tokens = [str(token) for token in tokens]
    if len(tokens) != length:
        raise ValueError(
            f"`{name}` must have one token per {axis} of the scores: "
            f"expected {length}, received {len(tokens)}."
        )
    return tokens
