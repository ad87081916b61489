"""Plots of attention: token heatmaps, one per head, and image overlays.

The arrays come from `keras_attn.models.attention_maps()` (or any
`(batch, heads, query, key)` probabilities). matplotlib is imported only
when a plotting function runs, and its backend is left as the user set it:
nothing here calls `plt.show()` or `matplotlib.use()`. The plotting
functions draw on a given `ax` or make a new figure with `pyplot` and
return the Axes or Figure; close it with `plt.close(fig)` when done.

`attention_rollout` and `class_token_attention` are NumPy only.
"""

import numpy as np


def _pyplot():
    """`matplotlib.pyplot`, or an ImportError that says how to get it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(
            "keras_attn.viz needs matplotlib to plot, and it could not be "
            "imported. Install it with `pip install matplotlib`."
        ) from error
    return plt


def _to_numpy(name, x):
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


def _check_rank(name, array, ranks, description):
    if array.ndim not in ranks:
        raise ValueError(
            f"`{name}` must be {description}; received an array of shape "
            f"{array.shape}."
        )


def _tokens(name, tokens, length, axis):
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


def plot_attention(
    scores,
    query_tokens=None,
    key_tokens=None,
    ax=None,
    title=None,
    cmap="viridis",
    vmin=None,
    vmax=None,
    colorbar=True,
):
    """Heatmap of one attention matrix: keys across, queries down.

    Args:
        scores: array-like `(query, key)`, e.g. one head of one example:
            `maps["transformer_layer_0"][0, head]`.
        query_tokens: sequence of `query` strings for the y axis, or None
            for positions.
        key_tokens: sequence of `key` strings for the x axis. Defaults to
            `query_tokens` (self-attention).
        ax: matplotlib Axes to draw on; None makes a new figure.
        title: str or None. The Axes title.
        cmap: str or Colormap. Defaults to `"viridis"`.
        vmin: float or None. Bottom of the colour scale (None: the data's).
        vmax: float or None. Top of the colour scale (None: the data's).
        colorbar: bool. Add a colorbar next to the Axes. Defaults to True.

    Returns:
        matplotlib Axes; the heatmap is `ax.images[-1]`.

    Raises:
        ValueError: `scores` is not 2-D, or a token list does not match its
            side of the matrix.
        ImportError: matplotlib is not installed.

    Example:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> tokens = ["[CLS]", "hello", "world", "[SEP]"]
    >>> scores = np.full((4, 4), 0.25)
    >>> ax = plot_attention(scores, tokens, title="layer 0, head 0")
    >>> [label.get_text() for label in ax.get_xticklabels()]
    ['[CLS]', 'hello', 'world', '[SEP]']
    >>> ax.images[-1].get_array().shape
    (4, 4)
    >>> plt.close(ax.figure)
    """
    scores = _to_numpy("scores", scores)
    _check_rank(
        "scores",
        scores,
        (2,),
        "a 2-D (query, key) matrix (use plot_attention_heads for "
        "(heads, query, key))",
    )
    if key_tokens is None:
        key_tokens = query_tokens
    query_tokens = _tokens("query_tokens", query_tokens, scores.shape[0], "row")
    key_tokens = _tokens("key_tokens", key_tokens, scores.shape[1], "column")
    if ax is None:
        _, ax = _pyplot().subplots()
    else:
        _pyplot()  # the same clear error if matplotlib is missing

    image = ax.imshow(
        scores, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
    )
    if key_tokens is not None:
        ax.set_xticks(np.arange(len(key_tokens)), labels=key_tokens)
        ax.tick_params(axis="x", labelrotation=90)
    if query_tokens is not None:
        ax.set_yticks(np.arange(len(query_tokens)), labels=query_tokens)
    ax.set_xlabel("key")
    ax.set_ylabel("query")
    if title is not None:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax)
    return ax


def plot_attention_heads(
    scores,
    tokens=None,
    layer_name=None,
    key_tokens=None,
    columns=4,
    cmap="viridis",
    figsize=None,
):
    """A grid of heatmaps, one per attention head, on one colour scale.

    Args:
        scores: array-like `(heads, query, key)`: one example of one layer,
            e.g. `maps["transformer_layer_0"][0]`.
        tokens: sequence of `query` strings, or None for positions.
        layer_name: str or None. The figure's title.
        key_tokens: sequence of `key` strings. Defaults to `tokens`.
        columns: int >= 1. Heads per row. Defaults to 4.
        cmap: str or Colormap. Defaults to `"viridis"`.
        figsize: `(width, height)` in inches, or None for about 3 inches
            per head.

    Returns:
        matplotlib Figure with one Axes per head (titled "head 0", ...)
        and one shared colorbar.

    Raises:
        ValueError: `scores` is not 3-D, `columns` is not a positive int,
            or a token list does not match the matrix.
        ImportError: matplotlib is not installed.

    Example:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> scores = np.random.default_rng(0).dirichlet(np.ones(3), (2, 3))
    >>> fig = plot_attention_heads(scores, ["a", "b", "c"], "layer 0")
    >>> [ax.get_title() for ax in fig.axes if ax.images]
    ['head 0', 'head 1']
    >>> plt.close(fig)
    """
    scores = _to_numpy("scores", scores)
    _check_rank(
        "scores",
        scores,
        (3,),
        "a 3-D (heads, query, key) array (for a batch, pick one example: "
        "scores[i])",
    )
    if (
        not isinstance(columns, int)
        or isinstance(columns, bool)
        or (columns < 1)
    ):
        raise ValueError(
            f"`columns` must be an int >= 1; received {columns!r}."
        )
    heads = scores.shape[0]
    if key_tokens is None:
        key_tokens = tokens
    # Checked before any figure exists, so a bad call leaves none open.
    _tokens("tokens", tokens, scores.shape[1], "row")
    _tokens("key_tokens", key_tokens, scores.shape[2], "column")

    plt = _pyplot()
    cols = min(columns, heads)
    rows = -(-heads // cols)
    if figsize is None:
        figsize = (3.0 * cols + 1.0, 3.0 * rows + 0.5)
    fig = plt.figure(figsize=figsize, layout="constrained")
    grid = fig.subplots(rows, cols, squeeze=False)
    axes = list(grid.ravel())
    for extra in axes[heads:]:
        extra.remove()
    vmin, vmax = float(scores.min()), float(scores.max())
    for head, ax in enumerate(axes[:heads]):
        plot_attention(
            scores[head],
            tokens,
            key_tokens,
            ax=ax,
            title=f"head {head}",
            cmap=cmap,
            vmin=vmin,
            vmax=vmax,
            colorbar=False,
        )
    fig.colorbar(axes[0].images[-1], ax=axes[:heads])
    if layer_name is not None:
        fig.suptitle(str(layer_name))
    return fig


def _pair(name, value):
    """An int or a pair of ints as `(height, width)`."""
    pair = value if isinstance(value, (list, tuple)) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0
        for v in pair
    ):
        raise ValueError(
            f"`{name}` must be a positive int or a pair (height, width) of "
            f"them; received {value!r}."
        )
    return int(pair[0]), int(pair[1])


def _display_image(image):
    """`(H, W)` or `(H, W, C)` numbers as an array imshow draws right."""
    image = _to_numpy("image", image)
    _check_rank(
        "image",
        image,
        (2, 3),
        "(height, width) or (height, width, channels) with 1, 3 or 4 "
        "channels, channels last",
    )
    if image.ndim == 3:
        if image.shape[-1] not in (1, 3, 4):
            raise ValueError(
                "`image` must have 1, 3 or 4 channels, channels last; "
                f"received an array of shape {image.shape}."
            )
        if image.shape[-1] == 1:
            image = image[..., 0]
    # Any numeric range (0-255, 0-1, standardised) shown as 0-1.
    low, high = float(image.min()), float(image.max())
    if high > low:
        image = (image - low) / (high - low)
    else:
        image = np.zeros_like(image)
    return image


def upsample_attention(attention, image_size, patch_size):
    """A patch-grid attention map at pixel resolution (nearest patch).

    Args:
        attention: array-like, one value per patch: `(rows * cols,)` in
            row-major order (the ViT token order, class token removed), or
            a `(rows, cols)` grid.
        image_size: int or `(height, width)` of the image in pixels.
        patch_size: int or `(height, width)` of a patch in pixels; must
            divide `image_size`.

    Returns:
        NumPy array `(height, width)`: each patch's value over its pixels.

    Raises:
        ValueError: the sizes do not divide, or `attention` does not have
            one value per patch.

    Example:

    >>> upsample_attention([1.0, 2.0, 3.0, 4.0], 4, 2)
    array([[1., 1., 2., 2.],
           [1., 1., 2., 2.],
           [3., 3., 4., 4.],
           [3., 3., 4., 4.]])
    """
    height, width = _pair("image_size", image_size)
    patch_h, patch_w = _pair("patch_size", patch_size)
    if height % patch_h or width % patch_w:
        raise ValueError(
            "The patch size must divide the image size; received an image "
            f"of {height}x{width} pixels and patch_size={patch_size!r}."
        )
    rows, cols = height // patch_h, width // patch_w
    attention = _to_numpy("attention", attention)
    if attention.ndim == 1:
        if attention.size != rows * cols:
            hint = ""
            if attention.size == rows * cols + 1:
                hint = (
                    " It has one value too many: drop the class token, "
                    "e.g. scores[..., 0, 1:]."
                )
            raise ValueError(
                f"`attention` must have one value per patch: expected "
                f"{rows * cols} ({rows}x{cols} patches of {patch_h}x"
                f"{patch_w} pixels), received {attention.size}.{hint}"
            )
        attention = attention.reshape(rows, cols)
    elif attention.ndim == 2:
        if attention.shape != (rows, cols):
            raise ValueError(
                f"`attention` as a grid must have shape ({rows}, {cols}), "
                f"the patches of a {height}x{width} image at patch size "
                f"{patch_h}x{patch_w}; received shape {attention.shape}."
            )
    else:
        raise ValueError(
            "`attention` must be 1-D (one value per patch) or a 2-D "
            f"(rows, cols) grid; received an array of shape "
            f"{attention.shape}."
        )
    return np.kron(attention, np.ones((patch_h, patch_w)))


def plot_image_attention(
    image,
    attention,
    patch_size,
    ax=None,
    alpha=0.5,
    cmap="inferno",
    title=None,
    interpolation="nearest",
):
    """An attention map over the patches of an image, drawn over it.

    Args:
        image: array-like `(height, width)` (grayscale) or
            `(height, width, channels)` with 1, 3 (RGB) or 4 (RGBA)
            channels, in any numeric range (shown rescaled to 0-1).
        attention: array-like, one value per patch: `(rows * cols,)` in
            the ViT token order without the class token (e.g.
            `class_token_attention(scores)` or `attention_rollout(...)[0,
            1:]`), or a `(rows, cols)` grid.
        patch_size: int or `(height, width)`: the model's patch size in
            pixels of `image`.
        ax: matplotlib Axes to draw on; None makes a new figure.
        alpha: float in [0, 1]. Opacity of the attention map. Defaults to
            0.5.
        cmap: str or Colormap of the attention map. Defaults to
            `"inferno"`.
        title: str or None. The Axes title.
        interpolation: how matplotlib smooths the map on screen
            (`"nearest"` shows the patches, `"bilinear"` blends them);
            the data stays one value per patch.

    Returns:
        matplotlib Axes: `ax.images[0]` is the image and `ax.images[1]` the
        upsampled `(height, width)` map.

    Raises:
        ValueError: wrong image rank or channels, a patch size that does not
            divide the image, attention with a wrong number of patches, or
            `alpha` outside [0, 1].
        ImportError: matplotlib is not installed.

    Example:

    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> image = np.random.default_rng(0).uniform(0, 255, (8, 8, 3))
    >>> attention = np.zeros(16)
    >>> attention[5] = 1.0  # second row of patches, second column
    >>> ax = plot_image_attention(image, attention, patch_size=2)
    >>> overlay = ax.images[1].get_array()
    >>> row, col = np.unravel_index(np.argmax(overlay), overlay.shape)
    >>> overlay.shape, (int(row), int(col))  # top-left pixel of patch 5
    ((8, 8), (2, 2))
    >>> plt.close(ax.figure)
    """
    shown = _display_image(image)
    height, width = shown.shape[:2]
    upsampled = upsample_attention(attention, (height, width), patch_size)
    if (
        isinstance(alpha, bool)
        or not isinstance(alpha, (int, float))
        or not (0.0 <= alpha <= 1.0)
    ):
        raise ValueError(f"`alpha` must be in [0, 1]; received {alpha!r}.")
    if ax is None:
        _, ax = _pyplot().subplots()
    else:
        _pyplot()

    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
    ax.imshow(upsampled, cmap=cmap, alpha=alpha, interpolation=interpolation)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax


def _layer_scores(scores):
    """Per-layer score arrays from a dict (in order) or a sequence."""
    if isinstance(scores, dict):
        names, arrays = list(scores), list(scores.values())
    elif isinstance(scores, (list, tuple)):
        names, arrays = [f"scores[{i}]" for i in range(len(scores))], scores
    else:
        arrays = _to_numpy("scores", scores)
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
    arrays = [_to_numpy(name, a) for name, a in zip(names, arrays, strict=True)]
    first = arrays[0].shape
    for name, array in zip(names, arrays, strict=True):
        _check_rank(
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
    array = _to_numpy("scores", scores)
    _check_rank(
        "scores", array, (3, 4), "(heads, T, T) or (batch, heads, T, T)"
    )
    if array.shape[-1] != array.shape[-2] or array.shape[-1] < 2:
        raise ValueError(
            "`scores` must be square self-attention over the class token "
            f"and at least one patch; received shape {array.shape}."
        )
    row = array[..., 0, 1:]  # ([B,] H, T - 1)
    return row.mean(axis=-2) if average_heads else row


__all__ = [
    "attention_rollout",
    "class_token_attention",
    "plot_attention",
    "plot_attention_heads",
    "plot_image_attention",
    "upsample_attention",
]
