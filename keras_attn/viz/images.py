"""Attention over image patches, upsampled and drawn on the image."""

import numpy as np

from keras_attn.viz._common import check_rank
from keras_attn.viz._common import pyplot
from keras_attn.viz._common import to_numpy


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
    attention = to_numpy("attention", attention)
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


def _display_image(image):
    """`(H, W)` or `(H, W, C)` numbers as an array imshow draws right."""
    image = to_numpy("image", image)
    check_rank(
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
        _, ax = pyplot().subplots()
    else:
        pyplot()

    ax.imshow(shown, cmap="gray" if shown.ndim == 2 else None)
    ax.imshow(upsampled, cmap=cmap, alpha=alpha, interpolation=interpolation)
    ax.set_axis_off()
    if title is not None:
        ax.set_title(title)
    return ax
