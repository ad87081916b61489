"""Plots of attention: token heatmaps, one per head, and image overlays.

The arrays come from `keras_attn.models.attention_maps()` (or any
`(batch, heads, query, key)` probabilities). matplotlib is imported only
when a plotting function runs, and its backend is left as the user set it:
nothing here calls `plt.show()` or `matplotlib.use()`. The plotting
functions draw on a given `ax` or make a new figure with `pyplot` and
return the Axes or Figure; close it with `plt.close(fig)` when done.

- `heatmaps`: `plot_attention`, `plot_attention_heads`;
- `images`: `upsample_attention`, `plot_image_attention`;
- `rollout`: `attention_rollout` and `class_token_attention` (NumPy only).

Floor 1: it imports nothing of keras_attn outside itself (arrays in,
figures out), so any floor may draw with it.
"""

from keras_attn.viz._common import pyplot as _pyplot  # noqa: F401
from keras_attn.viz.heatmaps import plot_attention
from keras_attn.viz.heatmaps import plot_attention_heads
from keras_attn.viz.images import plot_image_attention
from keras_attn.viz.images import upsample_attention
from keras_attn.viz.rollout import attention_rollout
from keras_attn.viz.rollout import class_token_attention

__all__ = [
    "attention_rollout",
    "class_token_attention",
    "plot_attention",
    "plot_attention_heads",
    "plot_image_attention",
    "upsample_attention",
]
