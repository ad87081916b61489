"""Attention in the operators MediaPipe's GPU delegate computes (private).

MediaPipe's `delegate: "GPU"` does not run LiteRT's GPU accelerator: on
the web it is ML Drift's WebGL 2 back end (`ml_drift/gl30`, OpenGL ES
3.0 without compute shaders), behind the TFLite GPU delegate's model
builder. Tried in Chromium 156 with `@mediapipe/tasks-vision` 1.1.0, one
operator per file (`tests/web/test_mediapipe_gpu.py` keeps the claims):

- BATCH_MATMUL, of any rank: "No support of batched_matmul".
- A FULLY_CONNECTED or CONV_2D whose weights are a tensor, not a
  constant: refused or hangs the page.
- An ADD or MUL whose inputs have different ranks: "Doesn't support
  broadcasting" (the model builder), and the model then fails to load.
- A MUL whose inputs are BOTH broadcast, `(1, T, 1, C) * (1, 1, S, C)`:
  accepted, and computed wrongly (errors of the size of the result).
- A MUL broadcasting one input along one axis, TILE, TRANSPOSE, SUM over
  any axis, SOFTMAX over the last axis and CONV_2D with constant weights:
  right, to float16's precision (the delegate computes in float16).

So the two products of attention are written here as what it computes:
`q k^T` as the query tiled over the keys, times the keys broadcast over
the queries, summed per head by a constant 1x1 convolution (whose ones
pick each head's channels); `p v` as the weights widened to each head's
channels by the transposed convolution, times the values broadcast over
the queries, summed over the keys. Tensors stay at rank 4, `(B, T, S,
channels)`. Memory is `T S H d` per product instead of `H T S`: a
fixed, small cost at the sequence lengths MediaPipe files have (the ViT
of the demo: 17 tokens; MiniLM at 128: 25 MB in float32).
"""

import numpy as np
import tensorflow as tf

from keras_attn.export._forms import last_axis_only
from keras_attn.export._forms import reshape
from keras_attn.export._forms import shape_of


def _head_sums(heads, width):
    """The constant `(1, 1, heads * width, heads)` 1x1 convolution that
    sums each head's `width` channels (and its transpose, which copies a
    head's value to its channels)."""
    picker = np.kron(np.eye(heads), np.ones((width, 1))).astype("float32")
    return picker.reshape(1, 1, heads * width, heads)


def _conv(x, kernel):
    return tf.nn.conv2d(x, tf.constant(kernel, x.dtype), 1, "VALID")


def _spread(x, length, keys):
    """`x` `(B, T|1, S|1, C)` repeated to `(B, T, S, C)` by a nearest
    RESIZE: the converter folds a TILE or a broadcast into the MUL after
    it, dropping the unit axes (`(1, 1, S, C)` becomes `(S, C)`), and the
    delegate refuses that MUL."""
    if isinstance(length, int) and isinstance(keys, int):
        size = [length, keys]
    else:
        size = tf.stack([length, keys])
    return tf.image.resize(x, size, method="nearest")


def scores(q, k):
    """`(B, T, S, H)` attention logits `q . k` of `q` `(B, T, H, d)` and
    `k` `(B, S, H, d)` (any scale is in `q` already)."""
    batch, length, heads, width = shape_of(q)
    keys = shape_of(k)[1]
    q = reshape(q, [batch, length, 1, heads * width])
    k = reshape(k, [batch, 1, keys, heads * width])
    products = _spread(q, length, keys) * _spread(k, length, keys)
    return _conv(products, _head_sums(heads, width))  # (B, T, S, H)


def context(weights, v):
    """`(B, T, H, d)` context of `weights` `(B, T, S, H)` over the values
    `v` `(B, S, H, d)`."""
    batch, keys, heads, width = shape_of(v)
    length = shape_of(weights)[1]
    spread = _conv(weights, _head_sums(heads, width).transpose(0, 1, 3, 2))
    v = _spread(reshape(v, [batch, 1, keys, heads * width]), length, keys)
    mixed = tf.reduce_sum(spread * v, axis=2)  # (B, T, H d)
    return reshape(mixed, [batch, length, heads, width])


def _keep_grid(keep, length, keys):
    """The keep-factor `(B|1, 1, T|1, S)` as `(B|1, T, S, 1)`, beside the
    `(B, T, S, H)` logits: a `(1, 1, 1, S)` factor would meet them at
    rank 2 once converted (the converter drops its unit axes)."""
    batch, _, rows, _ = shape_of(keep)
    grid = reshape(keep, [batch, rows, keys, 1])
    return grid if rows != 1 else _spread(grid, length, keys)


def attend(q, k, v, keep, fill):
    """`(context (B, T, H, Vd), weights (B, H, T, S))` without
    BATCH_MATMUL, with the float files' masked softmax: `fill` added
    where the keep-factor `keep` `(B|1, 1, T|1, S)` is 0, SOFTMAX over
    the keys (its last axis), then the weights times `keep`."""
    logits = scores(q, k)  # (B, T, S, H)
    if keep is not None:
        _, length, keys, _ = shape_of(logits)
        keep = _keep_grid(keep, length, keys)  # (B|1, T, S, 1)
        logits = logits + (1.0 - keep) * fill
    weights = tf.nn.softmax(tf.transpose(logits, [0, 3, 1, 2]), axis=-1)
    weights = tf.transpose(weights, [0, 2, 3, 1])  # (B, T, S, H)
    if keep is not None:
        weights = weights * keep
    return context(weights, v), tf.transpose(weights, [0, 3, 1, 2])


def output_projection(layer, mixed):
    """The layer's output projection of `(B, T, H, Vd)` as a rank-3
    product (Keras's einsum traces a rank-2 FULLY_CONNECTED whose output
    the residual ADD then meets at another rank)."""
    heads, width, out_dim = layer.output_kernel.shape
    batch, length = shape_of(mixed)[:2]
    mixed = reshape(mixed, [batch, length, heads * width])
    kernel = tf.reshape(
        tf.convert_to_tensor(layer.output_kernel), [heads * width, out_dim]
    )
    output = tf.matmul(mixed, tf.cast(kernel, mixed.dtype))
    if layer.output_bias is not None:
        output = output + tf.cast(layer.output_bias, mixed.dtype)
    return output


def layer_norm(lower, layer, inputs):
    """`keras.layers.LayerNormalization` over the last axis with every
    broadcast one-sided: Keras's form multiplies the `(B, T, 1)`
    reciprocal deviation by the `(D,)` gamma first, a `(B, T, 1) x (1, 1,
    D)` MUL that the delegate computes wrongly (NaN in the ViT). Here the
    centred input is scaled first, then by gamma; the same arithmetic to
    float32's rounding. Other layer norms are called as they are."""
    if layer.rms_scaling or not last_axis_only(layer, inputs):
        return layer(inputs)
    x = tf.cast(inputs, "float32")
    centered = x - tf.reduce_mean(x, axis=-1, keepdims=True)
    variance = tf.reduce_mean(tf.square(centered), axis=-1, keepdims=True)
    outputs = centered * tf.math.rsqrt(variance + layer.epsilon)
    if layer.gamma is not None:
        outputs = outputs * tf.cast(layer.gamma, "float32")
    if layer.beta is not None:
        outputs = outputs + tf.cast(layer.beta, "float32")
    return tf.cast(outputs, layer.compute_dtype)
