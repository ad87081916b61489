"""Attention rollout and the class token's attention (NumPy only)."""

import numpy as np

from keras_attn.viz._common import check_rank
from keras_attn.viz._common import to_numpy


def _layer_scores(scores):
    """Per-layer score arrays from a dict (in order) or a sequence."""
    if isinstance(scores, dict):
        names, arrays = list(scores), list(scores.values())
    elif isinstance(scores, (list, tuple)):
        names, arrays = [f"scores[{i}]" for i in range(len(scores))], scores
    else:
        arrays = to_numpy("scores", scores)
        if arrays.ndim not in (4, 5):
            raise ValueError(
                "`scores` must be a dict or list of per-layer arrays, or "
                "one array (layers, [batch,] heads, T, T); received an "
                f"array of shape {arrays.shape}."
            )
        names = [f"scores[{i}]" for i in range(len(arrays))]
        arrays = list(arrays)
    if not arrays:
        raise ValueError(
            "`scores` must hold at least one layer; received none."
        )
    arrays = [to_numpy(name, a) for name, a in zip(names, arrays, strict=True)]
    first = arrays[0].shape
    for name, array in zip(names, arrays, strict=True):
        check_rank(
            name,
            array,
            (3, 4),
            "(heads, T, T) or (batch, heads, T, T)",
        )
        if array.shape[-1] != array.shape[-2]:
            raise ValueError(
                f"`{name}` must be self-attention, square in its last two "
                f"axes; received shape {array.shape}."
            )
        if array.shape != first:
            raise ValueError(
                f"Every layer's scores must have the same shape; the first "
                f"has shape {first} and `{name}` has shape {array.shape}."
            )
    return arrays


def attention_rollout(scores, head_fusion="mean"):
    """Attention rollout: how much each token draws on each input token.

    Abnar and Zuidema (2020): per layer, fuse the heads (mean by default),
    add the identity for the residual connection, renormalise each row to
    sum to one, and multiply the layers together, the last layer on the
    left: `R = A_L ... A_2 A_1`. For a ViT with a class token,
    `R[..., 0, 1:]` is the class token's rollout over the patches, the map
    to draw with `plot_image_attention`.

    Args:
        scores: the self-attention probabilities of every layer, first
            layer first: a dict (as `attention_maps` returns, in order), a
            list, or one array `(layers, ...)`; each layer
            `(heads, T, T)` or `(batch, heads, T, T)`.
        head_fusion: `"mean"` (the paper), `"max"` or `"min"` over heads.

    Returns:
        NumPy array `(T, T)` or `(batch, T, T)`; rows sum to one.

    Raises:
        ValueError: no layers, shapes that are not square or not all equal,
            or an unknown `head_fusion`.

    Example:

    >>> import numpy as np
    >>> uniform = np.full((2, 3, 3), 1 / 3)  # 2 heads, 3 tokens
    >>> attention_rollout([uniform, uniform])  # each layer: (A + I) / 2
    array([[0.5 , 0.25, 0.25],
           [0.25, 0.5 , 0.25],
           [0.25, 0.25, 0.5 ]])

    References:
        - Abnar and Zuidema, "Quantifying Attention Flow in Transformers",
          2020. https://arxiv.org/abs/2005.00928
    """
    fusions = {"mean": np.mean, "max": np.max, "min": np.min}
    if head_fusion not in fusions:
        raise ValueError(
            "`head_fusion` must be 'mean', 'max' or 'min'; received "
            f"{head_fusion!r}."
        )
    arrays = _layer_scores(scores)
    tokens = arrays[0].shape[-1]
    identity = np.eye(tokens)
    rollout = None
    for array in arrays:
        fused = fusions[head_fusion](array, axis=-3)  # ([B,] T, T)
        fused = fused + identity
        fused = fused / fused.sum(axis=-1, keepdims=True)
        rollout = fused if rollout is None else fused @ rollout
    return rollout


def class_token_attention(scores, average_heads=True):
    """The class token's attention to every patch, from one layer.

    Args:
        scores: array-like `(heads, T, T)` or `(batch, heads, T, T)` of a
            ViT with the class token first (token 0).
        average_heads: bool. Average over heads. Defaults to True.

    Returns:
        NumPy array over the `T - 1` patches: `(T - 1,)` or
        `(batch, T - 1)` when averaged, else with a heads axis before the
        patches.

    Raises:
        ValueError: `scores` is not 3-D or 4-D or not square.

    Example:

    >>> import numpy as np
    >>> scores = np.zeros((2, 5, 5))  # 2 heads, class token + 4 patches
    >>> scores[0, 0, 3] = scores[1, 0, 4] = 1.0
    >>> class_token_attention(scores)
    array([0. , 0. , 0.5, 0.5])
    """
    array = to_numpy("scores", scores)
    check_rank("scores", array, (3, 4), "(heads, T, T) or (batch, heads, T, T)")
    if array.shape[-1] != array.shape[-2] or array.shape[-1] < 2:
        raise ValueError(
            "`scores` must be square self-attention over the class token "
            f"and at least one patch; received shape {array.shape}."
        )
    row = array[..., 0, 1:]  # ([B,] H, T - 1)
    return row.mean(axis=-2) if average_heads else row
