"""Argument checks shared by the layers (private).

Each raises ValueError or TypeError naming what was expected and what was
received, as DESIGN.md asks; none uses `assert`.
"""

import numbers


def positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value <= 0
    ):
        raise ValueError(
            f"`{name}` must be a positive integer"
            + (" or None" if allow_none else "")
            + f"; received {name}={value!r}."
        )
    return value


def rate(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not 0.0 <= value < 1.0
    ):
        raise ValueError(
            f"`{name}` must be a float in [0, 1); received {name}={value!r}."
        )
    return value


def positive_float(name, value):
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not value > 0
    ):
        raise ValueError(
            f"`{name}` must be a positive number; received {name}={value!r}."
        )
    return value


def shape_str(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def check_rank(layer, name, shape, rank, description):
    """Checks that `shape` has `rank` dimensions."""
    shape = tuple(shape)
    if len(shape) != rank:
        raise ValueError(
            f"{layer} expects `{name}` of rank {rank}, {description}; "
            f"received shape {shape_str(shape)}."
        )
