"""Restricted (local) attention computed block by block (private).

Vaswani et al. (2017, section 4) let each position attend only to a
neighbourhood of size r, at O(n r) cost instead of O(n^2). Here the
queries are cut into blocks of `r` positions; block `i` (positions
`[i r, i r + r)`) can only reach keys in `[i r - r, i r + 2 r)`, that
is blocks `i - 1`, `i` and `i + 1` (only `i - 1` and `i` when causal).
So each block of queries is attended against `3 r` keys (`2 r` causal),
and the blocks are folded into the batch axis: the result is ordinary
attention over `(batch * blocks, r, ...)` queries and `(batch * blocks,
3 r, ...)` keys with a constant band mask, computed by the same code as
full attention. Cost and memory grow as `n * 3 r`.

Everything here is static reshapes, pads, slices and concatenations
(no gathers, no band-part op), so the same functions serve the layer
and its exported forms, with `keras.ops` on every backend.
"""

import numpy as np
from keras import ops

# Blocks are used when the length is over this many windows. Below it the
# 3r keys of a block and the bookkeeping cost more than full attention
# saves: benchmarks/local_attention.py measured window=64 at 512
# positions (8 windows) 1.3x the time of full attention forward and 1.7x
# forward and backward, and 0.46x and 0.70x at 2,048.
BLOCKS_BEYOND = 8


def band(query_length, key_length, window, causal, start_index=0):
    """Boolean `(1, T, S)`: query `t` (at `start_index + t`) may attend to
    key `s` when `|t - s| <= window` (and `s <= t` when causal)."""
    rows = ops.arange(query_length, dtype="int32")
    rows = rows + ops.cast(start_index, "int32")
    cols = ops.arange(key_length, dtype="int32")
    offset = rows[:, None] - cols[None, :]  # t - s
    allowed = ops.less_equal(ops.abs(offset), window)
    if causal:
        allowed = ops.logical_and(allowed, ops.greater_equal(offset, 0))
    return ops.expand_dims(allowed, axis=0)


def band_array(query_length, key_length, window, causal, key_start=0):
    """`band` as a NumPy bool `(T, S)`, for constants: query `t` against
    key `key_start + s`."""
    rows = np.arange(query_length)[:, None]
    cols = np.arange(key_length)[None, :] + key_start
    offset = rows - cols
    allowed = np.abs(offset) <= window
    if causal:
        allowed &= offset >= 0
    return allowed


def block_band(window, causal):
    """The band inside one block, as a NumPy bool `(r, 3 r)` (`(r, 2 r)`
    causal): row `t` is query `i r + t`, column `j` is key `i r - r + j`."""
    width = (2 if causal else 3) * window
    return band_array(window, width, window, causal, key_start=-window)


def num_blocks(length, window):
    """`ceil(length / window)`; `length` may be a scalar tensor."""
    return (length + window - 1) // window


def block_queries(x, window):
    """`(B, T, ...)` -> `(B * n, r, ...)`, T padded with zeros to `n r`."""
    length = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    blocks = num_blocks(length, window)
    x = _pad_time(x, 0, blocks * window - length)
    return ops.reshape(x, (-1, window) + tuple(x.shape[2:]))


def block_keys(x, window, causal):
    """`(B, S, ...)` -> `(B * n, 3 r, ...)` (`2 r` causal): each block's
    neighbours in order, the sequence padded with zeros (or False) at
    both ends. `x` may be a key mask `(B, S)`."""
    length = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
    blocks = num_blocks(length, window)
    after = blocks * window - length + (0 if causal else window)
    x = _pad_time(x, window, after)  # (B, (n + 2|1) r, ...)
    rest = tuple(x.shape[2:])
    x = ops.reshape(x, (-1, blocks + (1 if causal else 2), window) + rest)
    if causal:
        parts = (x[:, :-1], x[:, 1:])
    else:
        parts = (x[:, :-2], x[:, 1:-1], x[:, 2:])
    x = ops.concatenate(parts, axis=2)  # (B, n, 3r|2r, ...)
    return ops.reshape(x, (-1, x.shape[2]) + rest)


def unblock(x, length):
    """`(B * n, r, ...)` -> `(B, T, ...)`: the blocks back in sequence
    order and the padding cut."""
    window = x.shape[1]
    padded = num_blocks(length, window) * window
    x = ops.reshape(x, (-1, padded) + tuple(x.shape[2:]))
    return x[:, :length]


def _pad_time(x, before, after):
    if isinstance(after, int) and before == 0 and after == 0:
        return x
    widths = [(0, 0)] * len(x.shape)
    widths[1] = (before, after)
    if x.dtype == "bool":
        return ops.cast(ops.pad(ops.cast(x, "int32"), widths), "bool")
    return ops.pad(x, widths)
