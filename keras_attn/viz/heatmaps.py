"""Token-by-token attention heatmaps: one map, or one per head."""

import numpy as np

from keras_attn.viz._common import check_rank
from keras_attn.viz._common import pyplot
from keras_attn.viz._common import to_numpy
from keras_attn.viz._common import token_labels


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
    scores = to_numpy("scores", scores)
    check_rank(
        "scores",
        scores,
        (2,),
        "a 2-D (query, key) matrix (use plot_attention_heads for "
        "(heads, query, key))",
    )
    if key_tokens is None:
        key_tokens = query_tokens
    query_tokens = token_labels(
        "query_tokens", query_tokens, scores.shape[0], "row"
    )
    key_tokens = token_labels(
        "key_tokens", key_tokens, scores.shape[1], "column"
    )
    if ax is None:
        _, ax = pyplot().subplots()
    else:
        pyplot()  # the same clear error if matplotlib is missing

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
    scores = to_numpy("scores", scores)
    check_rank(
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
    token_labels("tokens", tokens, scores.shape[1], "row")
    token_labels("key_tokens", key_tokens, scores.shape[2], "column")

    plt = pyplot()
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
