"""The pieces of the attention variants' lowered forms (private): the
scoring functions other than scaled dot-product, local (`window`)
attention in blocks and hard attention, written the way `.tflite`
targets run them (the conventions are `export/_forms.py`'s). The
attention form that puts them together is
`_attention_forms.attention`.

- `"general"` (`q^T W k`) folds `W` into the query projection's kernel
  and bias (constants the converter folds), so its file is a dot-product
  file with other weights;
- `"additive"` (`v^T tanh(q + k)`) adds `(B, T, 1, H Kd)` and `(B, 1, S,
  H Kd)`, and takes each head's `v` with one matrix product against a
  block-diagonal `(H Kd, H)` constant: rank 4 throughout (the layer's
  `(B, T, S, H, Kd)` is rank 5);
- `window` attention cuts the sequence into blocks with
  `keras_attn.layers._local_attention` on tensors whose heads are
  flattened into the last axis (rank <= 4), the blocks folded into the
  batch axis, with the band as a float keep-factor constant: no
  MATRIX_BAND_PART, no gathers;
- `hard="argmax"` compares the scores with the row maximum, masked
  keys put below the row's smallest score, ties to the first key as the
  layer's `argmax` breaks them (`hard_weights` says why not ARG_MAX and
  ONE_HOT); `hard="sample"` adds Gumbel noise from RANDOM_UNIFORM first
  (new draws on every call of the file).
"""

import numpy as np
import tensorflow as tf
from keras import ops

from keras_attn.export._forms import reshape
from keras_attn.export._forms import shape_of
from keras_attn.layers import _local_attention as local

# --- scores -------------------------------------------------------------


def general_query(layer, query, dtype):
    """The query projection times the `"general"` score's `W` per head,
    `(B, T, H, Kd)`: `(x Wq + bq) W = x (Wq W) + bq W`, with `Wq W` and
    `bq W` constants, so the logits are one dot product as for `"dot"`."""
    weight = ops.cast(ops.convert_to_tensor(layer.score_kernel), dtype)
    kernel = ops.cast(ops.convert_to_tensor(layer.query_kernel), dtype)
    kernel = tf.einsum("dhk,hke->dhe", kernel, weight)
    bias = layer.query_bias
    if bias is not None:
        bias = ops.cast(ops.convert_to_tensor(bias), dtype)
        bias = tf.einsum("hk,hke->he", bias, weight)
    return layer._project(query, kernel, bias)


def additive_logits(layer, q, k):
    """`v_h^T tanh(q + k)` of projected `q` `(B, T, H, Kd)` and `k` `(B,
    S, H, Kd)` as `(B, H, T, S)`, rank 4 throughout: the heads stay
    flattened, `(B, T, 1, H Kd) + (B, 1, S, H Kd)`, and a block-diagonal
    `(H Kd, H)` constant takes each head's sum with its own `v`."""
    batch, length, heads, size = shape_of(q)
    key_length = shape_of(k)[1]
    hidden = tf.tanh(
        reshape(q, [batch, length, 1, heads * size])
        + reshape(k, [batch, 1, key_length, heads * size])
    )  # (B, T, S, H Kd)
    vector = ops.cast(ops.convert_to_tensor(layer.score_vector), q.dtype)
    eye = tf.eye(heads, dtype=q.dtype)  # (H, H)
    pick = tf.reshape(vector[:, :, None] * eye[:, None, :], [-1, heads])
    # One 2-D product (FULLY_CONNECTED): TensorFlow 2.21's eager rank-4
    # by rank-2 BatchMatMulV2 crashed on CPU for some shapes.
    logits = tf.matmul(tf.reshape(hidden, [-1, heads * size]), pick)
    logits = reshape(logits, [batch, length, key_length, heads])
    return tf.transpose(logits, [0, 3, 1, 2])  # (B, H, T, S)


# --- hard attention -----------------------------------------------------


def hard_weights(layer, scores, keep):
    """One-hot `(B, H, T, S)` float32 weights on the best allowed key of
    `scores` (`hard="argmax"`) or on a key drawn from their softmax
    (`"sample"`: Gumbel-max), rows with no allowed key zero. `keep`: the
    float keep-factor `(B|1, 1, T|1, S)` or None.

    Comparisons with the row maximum, in float: `hit` marks the keys at
    the maximum, and of those the first is kept (each hit weighted by
    `S - s`, and compared with that row's maximum), so ties go to the
    first key, as the layer's `argmax` breaks them. ARG_MAX and ONE_HOT
    would say the same on the CPU, but LiteRT 2.3's GPU accelerator
    took them and gave other keys (0.86 off in float32), and Qualcomm's
    compiler left one of them on the CPU (two partitions). A masked key
    gets the row's smallest score minus 1, with `scores * keep + lowest
    * (1 - keep)`, which leaves allowed scores exactly as they are (no
    SELECT_V2). The first-key weights are exact integers in float16 up
    to 2048 keys."""
    if layer.hard == "sample":
        shape = shape_of(scores)
        if not all(isinstance(size, int) for size in shape):
            shape = tf.stack(shape)
        uniform = tf.random.uniform(
            shape, minval=1e-20, maxval=1.0, dtype=scores.dtype
        )
        scores = scores - tf.math.log(-tf.math.log(uniform))
    allowed = scores
    if keep is not None:
        lowest = tf.reduce_min(scores, axis=-1, keepdims=True) - 1.0
        allowed = scores * keep + lowest * (1.0 - keep)
    top = tf.reduce_max(allowed, axis=-1, keepdims=True)
    hit = tf.cast(allowed >= top, scores.dtype)  # (B, H, T, S)
    first = np.arange(scores.shape[-1], 0, -1).astype("float32")  # S..1
    ranked = hit * tf.constant(first, scores.dtype)
    best = tf.reduce_max(ranked, axis=-1, keepdims=True)
    chosen = tf.cast(ranked >= best, scores.dtype)
    if keep is not None:
        chosen = chosen * tf.reduce_max(keep, axis=-1, keepdims=True)
    return chosen


# --- local attention ----------------------------------------------------


def band_keep(layer, length, key_length, causal):
    """The `window` band as a float `(1, 1, T, S)` keep-factor constant
    (the layer's dense fallback)."""
    if not isinstance(length, int) or not isinstance(key_length, int):
        raise ValueError(
            f"{layer.name}: `window` attention needs static query and key "
            f"lengths in an export; received {length} and {key_length}."
        )
    allowed = local.band_array(length, key_length, layer.window, causal)
    return tf.constant(allowed.astype("float32")[None, None])


def _flat(x):
    """`(B, L, H, K)` -> `(B, L, H K)`."""
    shape = shape_of(x)
    return reshape(x, shape[:2] + [shape[2] * shape[3]])


def block_queries(q, window):
    """`(B, T, H, Kd)` -> `(B n, r, H, Kd)`, the heads flattened while the
    blocks are cut (rank <= 4)."""
    blocks = local.block_queries(_flat(q), window)  # (B n, r, H Kd)
    return reshape(blocks, [-1, window] + list(q.shape[2:]))


def block_keys(k, window, causal):
    """`(B, S, H, Kd)` -> `(B n, 3r | 2r, H, Kd)`, the heads flattened
    while the blocks are cut (rank <= 4)."""
    blocks = local.block_keys(_flat(k), window, causal)  # (B n, 3r, H Kd)
    return reshape(blocks, [-1, blocks.shape[1]] + list(k.shape[2:]))


def unblock(context, length):
    """`(B n, r, H, Vd)` -> `(B, T, H, Vd)`."""
    heads, size = context.shape[2:]
    flat = reshape(context, [-1, context.shape[1], heads * size])
    joined = local.unblock(flat, length)  # (B, T, H Vd)
    return reshape(joined, shape_of(joined)[:2] + [heads, size])


def block_keep(layer, key_keep, causal):
    """The float keep-factor of the blocks, `(B n, 1, r, 3r | 2r)`: the
    band inside a block (a constant) times the keys that exist and are
    kept (`key_keep` float `(B, S, 1)`, not `(B, S)`: the GPU
    accelerator pads rank 3 or 4 only; zero past either end)."""
    window = layer.window
    near = local.block_band(window, causal).astype("float32")  # (r, 3r)
    valid = local.block_keys(key_keep, window, causal)  # (B n, 3r, 1)
    width = near.shape[1]
    return reshape(valid, [-1, 1, 1, width]) * near[None, None]
