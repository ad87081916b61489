"""The lowered forms of attention, layer normalization and Transformer
blocks (private; the conventions and what the forms avoid are in
`export/_forms.py`'s docstring). Long because the full-int8 forms of
one Transformer block (masked softmax, two-round layer norm, residual
scales, norm and hidden splits) share their helpers and read best in
one place: split across modules each would import the others' privates.

The attention variants (`score`, `window`, `hard`) go through the same
`attention` form; their own pieces (scores, blocks, one-hot choices) are
in `export/_variant_forms.py`.
"""

import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from keras_attn import _compat
from keras_attn.export import _gpu_delegate_forms
from keras_attn.export import _variant_forms
from keras_attn.export._forms import last_axis_only
from keras_attn.export._forms import reshape
from keras_attn.export._forms import shape_of
from keras_attn.layers._masking import check_mask_shape

# The fill added to masked attention scores in float files. After the
# row's maximum is subtracted a masked score is below -29,000, whose exp is
# 0 in float32 and float16 alike, so rows with an allowed key get Keras's
# weights; fully masked rows are zeroed by the keep-factor afterwards. It
# stays well inside float16's range (65504) with room for the scores.
MASK_FILL = -30000.0

# How far below a row's largest allowed score the masked scores are put in
# full-int8 files: e^-16 (about 1e-7) of the largest weight each, far
# below int8's step of 1/256, and inside the scores' own range, so the
# filled tensor's calibrated range is no wider than the scores'.
INTEGER_FILL_MARGIN = 16.0


# --- masks --------------------------------------------------------------


def _as_keep(mask, dtype):
    return tf.cast(tf.convert_to_tensor(mask), dtype)


def _rows(keep):
    """The batch size of a `(B, L)` mask: an int where known, else a
    scalar tensor (a second -1 beside the length's would be refused)."""
    return keep.shape[0] if keep.shape[0] is not None else tf.shape(keep)[0]


def keep_factors(
    query,
    key_length,
    *,
    padding_mask=None,
    attention_mask=None,
    query_mask=None,
    key_mask=None,
    use_causal_mask=False,
    dtype="float32",
):
    """Every mask source as one float `(B|1, 1, T|1, S)` keep-factor (1
    may attend, 0 not), or None: `keras_attn.layers._masking.merge_masks`
    in float, with the same rules (an explicit mask wins over the
    implicit ones), and each mask reshaped to rank 4 before it is
    combined."""
    batch, length = query.shape[0], query.shape[1]
    factors = []
    if padding_mask is not None or attention_mask is not None:
        if padding_mask is not None:
            check_mask_shape("padding_mask", padding_mask, (batch, key_length))
            keep = _as_keep(padding_mask, dtype)  # (B, S)
            factors.append(reshape(keep, [_rows(keep), 1, 1, -1]))
        if attention_mask is not None:
            check_mask_shape(
                "attention_mask", attention_mask, (batch, length, key_length)
            )
            keep = _as_keep(attention_mask, dtype)  # (B, T, S)
            shape = shape_of(keep)
            factors.append(reshape(keep, [shape[0], 1, shape[1], shape[2]]))
    else:
        if query_mask is not None:
            keep = _as_keep(query_mask, dtype)  # (B, T)
            factors.append(reshape(keep, [_rows(keep), 1, -1, 1]))
        if key_mask is not None:
            keep = _as_keep(key_mask, dtype)  # (B, S)
            factors.append(reshape(keep, [_rows(keep), 1, 1, -1]))
    if use_causal_mask:
        if not isinstance(length, int) or not isinstance(key_length, int):
            raise ValueError(
                "A causal mask needs static query and key lengths in an "
                f"export; received {length} and {key_length}."
            )
        rows = tf.range(length)[:, None]
        cols = tf.range(key_length)[None, :]
        causal = tf.cast(rows >= cols, dtype)
        factors.append(tf.reshape(causal, [1, 1, length, key_length]))
    if not factors:
        return None
    keep = factors[0]
    for other in factors[1:]:
        keep = keep * other
    return keep


def softmax_float(scores, keep, zero_masked=True):
    """`masked_softmax` for float files: `MASK_FILL` added where masked,
    the builtin SOFTMAX, and a multiply by the keep-factor, which zeroes
    masked keys and fully masked rows exactly (`zero_masked=False`
    leaves that multiply to the caller)."""
    if keep is None:
        return tf.nn.softmax(scores, axis=-1)
    weights = tf.nn.softmax(scores + (1.0 - keep) * MASK_FILL, axis=-1)
    return weights * keep if zero_masked else weights


def _scaled_query(layer, query, dtype):
    """The query projection divided by `sqrt(Kd)`, with the division put
    in its kernel and bias: constants the converter folds, so no MUL runs
    over the `(B, H, T, S)` scores."""
    scale = 1.0 / math.sqrt(layer.query_kernel.shape[-1])
    kernel = ops.cast(ops.convert_to_tensor(layer.query_kernel), dtype)
    bias = layer.query_bias
    if bias is not None:
        bias = ops.cast(ops.convert_to_tensor(bias), dtype) * scale
    return layer._project(query, kernel * scale, bias)


def softmax_integer(scores, keep):
    """`masked_softmax` for full-int8 files: masked scores are capped at
    the row's largest allowed score minus `INTEGER_FILL_MARGIN` (in the
    scores' own range, so calibration gives the capped tensor the scores'
    scale; a fill of -3e4 would leave one int8 step for all the allowed
    scores), then the builtin SOFTMAX and the keep-factor. The cap is a
    MINIMUM with `allowed_max - margin * (1 - k)`, which leaves allowed
    scores (never above `allowed_max`) exactly as they are: no SELECT_V2
    (refused by the GPU for a non-float condition, and Qualcomm's compiler
    failed on it after an int8 BATCH_MATMUL), and no rounding of the
    allowed scores by a blend."""
    if keep is None:
        return tf.nn.softmax(scores, axis=-1)
    drop = 1.0 - keep
    row_min = tf.reduce_min(scores, axis=-1, keepdims=True)
    allowed_max = tf.reduce_max(
        scores * keep + row_min * drop, axis=-1, keepdims=True
    )
    capped = tf.minimum(scores, allowed_max - INTEGER_FILL_MARGIN * drop)
    return tf.nn.softmax(capped, axis=-1) * keep


# --- attention ----------------------------------------------------------


def _overflows(dtype):
    return keras.backend.standardize_dtype(dtype) == "float16"


def attention(
    lower,
    layer,
    query,
    value,
    key=None,
    padding_mask=None,
    attention_mask=None,
    use_causal_mask=False,
    return_attention_scores=False,
    training=None,
    cache=None,
    cache_update_index=None,
):
    """`MultiHeadAttention` at inference without a cache: the explicit
    softmax path of `MultiHeadAttention._attend` (Keras's fused kernel
    traces a LOGICAL_AND with a constant the size of the scores and a
    SELECT_V2), with the target's masked softmax, and the layer's
    `score`, `window` and `hard` in the forms of `_variant_forms` (the
    default scaled dot-product traces the ops it always did). `window`
    attention runs in blocks where the layer's does
    (`MultiHeadAttention._blocks_apply`), else with the band as a
    keep-factor."""
    if cache is not None:
        return layer(
            query,
            value,
            key=key,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            cache=cache,
            cache_update_index=cache_update_index,
        )
    query_mask = _compat.get_keras_mask(query)
    key_mask = _compat.get_keras_mask(value if key is None else key)
    if key is None:
        key = value
    k = layer._project(key, layer.key_kernel, layer.key_bias)
    v = layer._project(value, layer.value_kernel, layer.value_bias)
    q = _query(lower, layer, query, k.dtype)
    # q: (B, T, H, Kd), k: (B, S, H, Kd), v: (B, S, H, Vd)
    if layer.window is not None and layer._blocks_apply(
        q, k, attention_mask, None, return_attention_scores
    ):
        context = _attend_locally(
            lower,
            layer,
            q,
            k,
            v,
            padding_mask=padding_mask,
            query_mask=query_mask,
            key_mask=key_mask,
            use_causal_mask=use_causal_mask,
        )  # (B, T, H, Vd)
        return layer._output_projection(context)
    keep = keep_factors(
        query,
        k.shape[1],
        padding_mask=padding_mask,
        attention_mask=attention_mask,
        query_mask=query_mask,
        key_mask=key_mask,
        use_causal_mask=use_causal_mask,
    )  # (B|1, 1, T|1, S) or None
    if layer.window is not None:
        band = _variant_forms.band_keep(
            layer, q.shape[1], k.shape[1], use_causal_mask
        )  # (1, 1, T, S)
        keep = band if keep is None else keep * band
    context, probs = _attend(
        lower, layer, q, k, v, keep, return_attention_scores
    )  # (B, T, H, Vd), (B, H, T, S)
    if lower.target == "gpu_delegate":
        output = _gpu_delegate_forms.output_projection(layer, context)
    else:
        output = layer._output_projection(context)  # (B, T, output_dim)
    if return_attention_scores:
        return output, probs
    return output


def _query(lower, layer, query, dtype):
    """The projected query `(B, T, H, Kd)` as `_logits` takes it: divided
    by `sqrt(Kd)` in its weights for scaled dot-product in float files,
    times the `"general"` score's `W` in its weights."""
    if layer.score == "general":
        return _variant_forms.general_query(layer, query, dtype)
    if layer.score == "scaled_dot" and lower.target != "int8":
        return _scaled_query(layer, query, dtype)  # q / sqrt(Kd)
    return layer._project(query, layer.query_kernel, layer.query_bias)


def _logits(lower, layer, q, k):
    """The attention logits `(B, H, T, S)` of `_query`'s `q` and `k`."""
    if layer.score == "additive":
        return _variant_forms.additive_logits(layer, q, k)
    if lower.target == "int8" and layer.score == "scaled_dot":
        # q scaled first, as Keras does: the product's int8 range is then
        # the scores' own (one rounding fewer than a MUL after it).
        scale = ops.cast(1.0 / math.sqrt(q.shape[-1]), q.dtype)
        q = q * scale
    return ops.einsum("bthd,bshd->bhts", q, k)  # (B, H, T, S)


def _by_products(lower, layer):
    """Whether the attention products are traced without BATCH_MATMUL
    (`_gpu_delegate_forms`): for MediaPipe's GPU delegate, and for the
    scores a query and key projection give (not `additive`'s, which
    have no product, nor `hard`'s choices, which it cannot compute)."""
    return (
        lower.target == "gpu_delegate"
        and layer.score != "additive"
        and layer.hard is None
    )


def _attend(lower, layer, q, k, v, keep, return_scores):
    """`(context (B, T, H, Vd), weights (B, H, T, S))` with the
    float keep-factor `keep` `(B|1, 1, T|1, S)` or None."""
    if lower.target == "int8" and layer.hard == "sample":
        raise ValueError(
            f"Layer {layer.name!r} (hard='sample') cannot be exported to a "
            "full-int8 file: its Gumbel noise, -log(-log(u)) of uniform "
            "draws, would be quantized to int8 (256 levels of u on one "
            "calibrated range, which cuts the noise's tails and biases "
            "the draws). Export it in float32, float16 or dynamic_int8, "
            "or use hard='argmax'; received quantization='int8'."
        )
    dtype = q.dtype
    if _overflows(dtype):
        q, k = ops.cast(q, "float32"), ops.cast(k, "float32")
    if _by_products(lower, layer):
        context, probs = _gpu_delegate_forms.attend(q, k, v, keep, MASK_FILL)
        return ops.cast(context, dtype), ops.cast(probs, dtype)
    scores = ops.cast(_logits(lower, layer, q, k), "float32")
    if layer.hard is not None:
        probs = _variant_forms.hard_weights(layer, scores, keep)
    elif lower.target == "int8":
        probs = softmax_integer(scores, keep)
    else:
        # A keep-factor of keys alone zeroes the values of masked keys
        # (S rows) instead of their weights (T x S per head): the same
        # context, fully masked rows included, in a smaller multiply.
        on_values = (
            keep is not None and keep.shape[2] == 1 and not return_scores
        )
        probs = softmax_float(
            scores, keep, zero_masked=not on_values
        )  # (B, H, T, S)
        if on_values:
            shape = shape_of(keep)  # (B|1, 1, 1, S)
            v = v * ops.cast(reshape(keep, [shape[0], shape[3], 1, 1]), v.dtype)
    probs = ops.cast(probs, dtype)
    context = ops.einsum("bhts,bshd->bthd", probs, v)  # (B, T, H, Vd)
    return context, probs


def _attend_locally(
    lower,
    layer,
    q,
    k,
    v,
    padding_mask,
    query_mask,
    key_mask,
    use_causal_mask,
):
    """`MultiHeadAttention._attend_locally`: blocks of `window` queries
    against their `3 window` (causal `2 window`) neighbouring keys, the
    blocks folded into the batch axis, the band a float keep-factor
    (`_variant_forms`); `(B, T, H, Vd)`."""
    window, length = layer.window, q.shape[1]
    key_keep = padding_mask if padding_mask is not None else key_mask
    if padding_mask is not None:
        check_mask_shape("padding_mask", padding_mask, (q.shape[0], length))
        query_mask = None  # an explicit mask wins over implicit ones
    if key_keep is None:
        key_keep = tf.ones(shape_of(k)[:2], "float32")
    # Reshaped to (B, S, 1) before the cast: a float (B, S) mask shared
    # with a dense attention layer's keep-factor left that layer's MULs
    # in float32 in a full-int8 file.
    key_keep = tf.convert_to_tensor(key_keep)
    key_keep = _as_keep(reshape(key_keep, shape_of(key_keep) + [1]), "float32")
    keep = _variant_forms.block_keep(
        layer, key_keep, use_causal_mask
    )  # (B n, 1, r, 3r)
    context, _ = _attend(
        lower,
        layer,
        _variant_forms.block_queries(q, window),  # (B n, r, H, Kd)
        _variant_forms.block_keys(k, window, use_causal_mask),
        _variant_forms.block_keys(v, window, use_causal_mask),
        keep,
        False,
    )  # (B n, r, H, Vd)
    context = _variant_forms.unblock(context, length)  # (B, T, H, Vd)
    if query_mask is not None:
        keep_rows = _as_keep(query_mask, context.dtype)  # (B, T)
        context = context * reshape(keep_rows, shape_of(keep_rows) + [1, 1])
    return context


def self_attention(lower, layer, inputs, **kwargs):
    """`MultiHeadSelfAttention`: `attention` with query = value."""
    return attention(lower, layer, inputs, inputs, **kwargs)


# --- layer normalization (full int8) ------------------------------------


def mean_square(centered, pick=None):
    """Each token's mean square over the last axis of `centered` (B, T, D),
    `(B, T, 1)`, as a batched dot product of each token with itself: one
    BATCH_MATMUL that adds the products in 32-bit integers in a full-int8
    file. The squares are never a tensor of their own: an int8 tensor of
    squares has the range of the widest channel squared (115 where a
    fine-tuned all-MiniLM-L6-v2's ordinary tokens have squares near
    0.3), and rounds most of a token's squares to 0 or one step.

    With `pick` (D, k), the squares of `centered @ pick` are added to each
    token's sum before the mean over D (the 1/D goes into the pick, so
    that those sums have the mean's scale)."""
    size = centered.shape[-1]
    shape = shape_of(centered)[:-1] + [1]

    def sums(x):
        width = x.shape[-1]
        rows = reshape(x, [-1, 1, width])
        return ops.matmul(rows, reshape(x, [-1, width, 1]))  # (N, 1, 1)

    total = sums(centered) * (1.0 / size)
    if pick is not None:  # 1/D folded into the pick: sums at mean scale
        scaled = (pick / math.sqrt(size)).astype("float32")
        total = total + sums(ops.matmul(centered, scaled))
    return reshape(total, shape)


# In `normalized`, the first guess of each token's scale is taken with
# this fraction of the largest token's mean square added.
FIRST_GUESS_OFFSET = 1.0 / 16.0


def normalized(centered, epsilon, pick=None):
    """`(n, r)` with `n * r == centered * rsqrt(v + epsilon)` (`v` each
    token's `mean_square(centered, pick)`), in two rounds for int8:

        v0 = mean_square(centered)
        r0 = rsqrt(v0 + max_t(v0) / 16 + epsilon)      # a first guess
        n = centered * r0
        r = rsqrt(mean_square(n) + r0 * (r0 * epsilon))

    One round leaves every token's scale to one int8 tensor of mean
    squares whose range the widest token sets: in a fine-tuned
    all-MiniLM-L6-v2 the class token's feed-forward residual sum has a
    mean square near 124 and the other tokens' near 0.4, which the step of
    that tensor (0.49) cannot tell apart. The guess `r0` is off by the
    offset (1/16 of the sequence's largest mean square), which the second
    round takes back: `mean_square(n)` is `v0 / (v0 + offset)`, between
    about 0.05 and 16/17 for those tokens, a range where int8 keeps a few
    per cent, and its rounding of `r0` cancels since `n` carries the
    rounded value."""
    first = mean_square(centered, pick)
    largest = ops.max(first, axis=-2, keepdims=True)  # (B, 1, 1)
    guess = ops.rsqrt(first + largest * FIRST_GUESS_OFFSET + epsilon)
    n = centered * guess
    return n, ops.rsqrt(mean_square(n, pick) + guess * (guess * epsilon))


def layer_norm_integer(lower, layer, inputs, divisors=None):
    """`keras.layers.LayerNormalization` over the last axis as

        centered = x - mean(x)
        n, r = normalized(centered, eps)     # n * r = centered / std
        y = (n * gamma) * r + beta

    (SUB, BATCH_MATMUL, MUL, ADD, RSQRT). Keras's form traces
    `ops.moments` (a SQUARED_DIFFERENCE) and a NEG, which run slowly in
    int8: an
    all-MiniLM-L6-v2 classifier at sequence 64 took 9.7 ms per call with
    them and 7.3 ms without (2 threads). gamma comes before the per-token
    scale: it is small on the few outlier channels of a BERT's residual
    stream, so `n * gamma` is no wider than `n`. Other axes
    and RMS scaling are left to Keras. With `divisors` (D,), the outputs
    come divided by them (gamma and beta divided; `norm_output_split`)."""
    if layer.rms_scaling or not last_axis_only(layer, inputs):
        if divisors is not None:
            raise ValueError(
                "`divisors` needs a layer normalization over the last axis "
                f"without RMS scaling; received {layer.name}."
            )
        return layer(inputs)
    x = ops.cast(inputs, "float32")
    mean = ops.mean(x, axis=-1, keepdims=True)
    centered = x - mean
    outputs, scale = normalized(centered, layer.epsilon)
    gamma = None if layer.gamma is None else ops.cast(layer.gamma, "float32")
    beta = None if layer.beta is None else ops.cast(layer.beta, "float32")
    if divisors is not None:
        gamma = 1.0 / divisors if gamma is None else gamma / divisors
        beta = None if beta is None else beta / divisors
    if gamma is not None:
        outputs = outputs * gamma
    outputs = outputs * scale
    if beta is not None:
        outputs = outputs + beta
    return ops.cast(outputs, layer.compute_dtype)


# --- Transformer blocks -------------------------------------------------


def _plain_kernel(dense):
    """Whether `dense` computes with its own float kernel (not quantized
    by Keras, no LoRA), which the forms may read and fold into."""
    return getattr(dense, "quantization_mode", None) is None and not getattr(
        dense, "lora_enabled", False
    )


def _plain_last_axis_norm(norm):
    """Whether `norm` normalizes over the last axis of (B, T, D) without
    RMS scaling, as the forms that take its statistics themselves do."""
    axis = norm.axis if isinstance(norm.axis, (list, tuple)) else [norm.axis]
    return not norm.rms_scaling and list(axis) in ([-1], [2])


def residual_can_be_scaled(block):
    """Whether `feedforward_scaled` computes what `block`'s feed-forward
    sub-block computes: post-norm, float32, a plain output projection and
    a layer normalization over the last axis."""
    dense = block.feedforward_output_dense
    return (
        not block.normalize_first
        and block.compute_dtype == "float32"
        and dense.activation is keras.activations.linear
        and _plain_kernel(dense)
        and _plain_last_axis_norm(block.feedforward_layer_norm)
    )


def hidden_can_be_split(block):
    """Whether `feedforward_product` may compute `block`'s two feed-forward
    dense layers itself: float32, plain kernels, the second without an
    activation."""
    first = block.feedforward_intermediate_dense
    second = block.feedforward_output_dense
    return (
        block.compute_dtype == "float32"
        and second.activation is keras.activations.linear
        and _plain_kernel(first)
        and _plain_kernel(second)
    )


def _dense_weights(dense):
    """`dense`'s kernel and bias as NumPy arrays, read eagerly from inside
    a trace (the forms slice them into constants)."""
    with tf.init_scope():
        kernel = keras.ops.convert_to_numpy(dense.kernel).astype("float32")
        bias = None
        if dense.bias is not None:
            bias = keras.ops.convert_to_numpy(dense.bias).astype("float32")
    return kernel, bias


def _picker(wide, weights=1.0):
    """The (D, k) matrix whose product with a (B, T, D) tensor picks its k
    channels where `wide` is true, each multiplied by its `weights`."""
    picked = np.eye(wide.shape[0], dtype="float32")[:, wide] * weights
    return picked.astype("float32")


def _first_layer(x, kernel, bias, divisors):
    """A function of `columns` that gives `x * divisors` times `kernel[:,
    columns]` plus `bias[columns]`, for `x` the attention norm's output
    divided by `divisors` (None: not divided).

    The wide channels (divisor over 1) are picked out of `x` once, by a
    product with a 0/1 matrix, into a tensor of their own with its own
    int8 range, and multiply their own rows of the kernel put back to
    size: no row of the main product's kernel is scaled up, which would
    widen its per-channel int8 weight ranges."""
    terms = [(x, kernel)]
    if divisors is not None:
        wide = divisors > 1.0
        ordinary = np.where(wide[:, None], 0.0, kernel).astype("float32")
        back = (kernel[wide] * divisors[wide][:, None]).astype("float32")
        terms = [(x, ordinary), (ops.matmul(x, _picker(wide)), back)]

    def product(columns):
        total = None
        for inputs, weights in terms:  # (B, T, D) @ (D, F), (B, T, k) @ (k, F)
            term = ops.matmul(inputs, weights[:, columns])
            total = term if total is None else total + term
        if bias is not None:
            total = total + bias[columns]
        return total

    return product


def feedforward_product(lower, block, x, inverse=None, divisors=None):
    """`block`'s feed-forward dense layers applied to `x` (B, T, D), the
    second's outputs multiplied by `inverse` (D,) when given.

    For a full-int8 file with a hidden split for `block`
    (`calibration.hidden_splits`), the hidden channels are computed in two
    groups, the ordinary ones and the few wide ones, each its own tensor
    with its own int8 range, and the two products are added:

        f = act(x W1[:, o] + b1[o]) W2[o] + act(x W1[:, w] + b1[w]) W2[w] + b2

    With `divisors`, `x` is the attention norm's output divided by them
    (`norm_output_split`), and the first layer takes it as `_first_layer`
    says. While calibrating, the hidden activations of a block whose
    layers this can compute are observed."""
    first = block.feedforward_intermediate_dense
    second = block.feedforward_output_dense
    can_split = hidden_can_be_split(block)
    wide = lower.hidden_split(block) if can_split else None
    if divisors is not None and not can_split:
        raise ValueError(
            f"{block.name}'s feed-forward layers cannot take a divided input."
        )
    if wide is None and divisors is None:
        hidden = lower.call(first, x)  # (B, T, F)
        if can_split:
            lower.observe(block, hidden, kind="hidden")
        if inverse is None:
            return lower.call(second, hidden)
        f = ops.matmul(hidden, ops.convert_to_tensor(second.kernel) * inverse)
        if second.bias is not None:
            f = f + ops.convert_to_tensor(second.bias) * inverse
        return f
    kernel1, bias1 = _dense_weights(first)
    kernel2, bias2 = _dense_weights(second)
    if inverse is not None:
        kernel2 = kernel2 * inverse
        bias2 = None if bias2 is None else bias2 * inverse
    first_product = _first_layer(x, kernel1, bias1, divisors)
    if wide is None:
        wide = np.zeros(kernel1.shape[1], bool)  # one group: all ordinary
    f = None
    for group in (~wide, wide) if wide.any() else (~wide,):
        hidden = first.activation(first_product(group))
        part = ops.matmul(hidden, kernel2[group])
        f = part if f is None else f + part
    if bias2 is not None:
        f = f + bias2
    return f


def feedforward(lower, block, x, divisors=None):
    """The position-wise feed-forward sub-block with its residual, as
    `TransformerBlock._feedforward` at inference, of `x`, or of `x *
    divisors` when given (`norm_output_split`). For full int8 with
    scales for `block` it is `feedforward_scaled`; while calibrating, the
    residual sum of a block that could be scaled is observed."""
    scales = lower.residual_scales(block)
    if scales is not None and residual_can_be_scaled(block):
        return feedforward_scaled(lower, block, x, scales, divisors)
    residual = x if divisors is None else x * divisors
    if block.normalize_first:
        x = lower.call(block.feedforward_layer_norm, x)
    x = feedforward_product(lower, block, x, divisors=divisors)  # (B, T, D)
    x = x + residual
    if not block.normalize_first:
        if residual_can_be_scaled(block):
            lower.observe(block, x)
        x = lower.call(block.feedforward_layer_norm, x)
    return x


def feedforward_scaled(lower, block, x, scales, divisors=None):
    """The post-norm feed-forward sub-block with its residual sum divided
    down, for a full-int8 file: the same function, in a form that
    quantizes.

    A trained BERT's feed-forward output has a few channels hundreds of
    times larger than the rest (Bondarenko et al., 2021), and in an int8
    tensor with one scale the other channels of the residual sum round to
    a few steps. Here the sum is computed divided by `scales` (one per
    channel, 1 except on the wide channels): the division is folded into
    the output projection's weights and applied to the residual, and
    layer normalization takes its statistics with the scales put back,

        z = (x + f) / s
        mean = (sum(z) + sum((s - 1) * z)) / n
        c = z - mean / s                       # (x + f - mean) / s
        var = (sum(c^2) + sum((s^2 - 1) * c^2)) / n
        y = (c * rsqrt(var + eps)) * (gamma * s) + beta

    The sum weighted by s - 1 is a matrix product whose weights are 0 on
    the ordinary channels; the variance is `normalized`'s mean square with
    the wide channels of c picked and weighted by sqrt(s^2 - 1).
    """
    norm = block.feedforward_layer_norm
    inverse = (1.0 / scales).astype("float32")
    size = scales.shape[0]
    f = feedforward_product(lower, block, x, inverse, divisors)
    z = f + x * (inverse if divisors is None else divisors * inverse)
    mean = ops.mean(z, axis=-1, keepdims=True) + ops.matmul(
        z, ((scales - 1.0) / size)[:, None]
    )
    centered = z - mean * inverse
    wide = scales > 1.0
    pick = _picker(wide, np.sqrt(scales[wide] * scales[wide] - 1.0))
    outputs, scale = normalized(centered, norm.epsilon, pick)
    gamma = scales if norm.gamma is None else norm.gamma * scales
    outputs = (outputs * gamma) * scale
    if norm.beta is not None:
        outputs = outputs + norm.beta
    return outputs


def norm_output_can_be_split(block):
    """Whether `norm_output_split` may divide `block`'s attention norm
    output: post-norm, float32, a layer normalization over the last axis
    and feed-forward layers that `feedforward_product` computes itself."""
    norm = block.self_attention_layer_norm
    return (
        not block.normalize_first
        and type(norm) is keras.layers.LayerNormalization
        and _plain_last_axis_norm(norm)
        and hidden_can_be_split(block)
    )


def norm_output_split(lower, block, x):
    """`(y, divisors)`: `block`'s attention layer norm of `x` (post-norm),
    divided by the block's norm divisors in a full-int8 file that has
    them (`calibration.int8_options`), else as it is with None.

    The norm's output is the feed-forward layer's input and its residual.
    A fine-tuned all-MiniLM-L6-v2 gives it one channel near 28 where the
    channels' 90th percentile is near 2.6 (gamma and beta are large
    there), and one int8 scale for all of them leaves the ordinary
    channels about 10 steps. Divided, the tensor has the ordinary
    channels' range; `feedforward_product` takes the wide channels apart
    and the residual is multiplied back. While calibrating, the output of
    a norm that could be divided is observed."""
    norm = block.self_attention_layer_norm
    can_split = norm_output_can_be_split(block)
    divisors = lower.norm_divisors(block) if can_split else None
    if divisors is None:
        y = lower.call(norm, x)
        if can_split:
            lower.observe(block, y, kind="norm")
        return y, None
    return layer_norm_integer(lower, norm, x, divisors), divisors


def encoder(
    lower,
    layer,
    inputs,
    padding_mask=None,
    attention_mask=None,
    training=None,
    return_attention_scores=False,
):
    """`TransformerEncoder` at inference (no dropout), its attention, layer
    norms and feed-forward sub-block in their lowered forms."""
    if padding_mask is None and attention_mask is None:
        padding_mask = _compat.get_keras_mask(inputs)
    x = inputs  # (B, T, D)
    residual = x
    if layer.normalize_first:
        x = lower.call(layer.self_attention_layer_norm, x)
    attended = lower.call(
        layer.self_attention,
        x,
        x,
        padding_mask=padding_mask,
        attention_mask=attention_mask,
        return_attention_scores=return_attention_scores,
    )
    scores = None
    if return_attention_scores:
        attended, scores = attended  # (B, T, D), (B, H, T, T)
    x = attended + residual
    divisors = None
    if not layer.normalize_first:
        x, divisors = norm_output_split(lower, layer, x)
    x = feedforward(lower, layer, x, divisors)  # (B, T, D)
    if return_attention_scores:
        return x, scores
    return x


def decoder(
    lower,
    layer,
    decoder_sequence,
    encoder_sequence=None,
    decoder_padding_mask=None,
    decoder_attention_mask=None,
    encoder_padding_mask=None,
    encoder_attention_mask=None,
    self_attention_cache=None,
    self_attention_cache_update_index=None,
    cross_attention_cache=None,
    use_causal_mask=True,
    return_attention_scores=False,
    training=None,
):
    """`TransformerDecoder` with an attention variant (`score`, `window`
    or `hard`) at inference without caches: its attentions and layer
    norms in their lowered forms (the layer's own hard attention traces
    Keras's `argmax`, whose BitwiseAnd is not a builtin). The default
    block, and any call with a cache, is the layer's own call, as it
    always was."""
    arguments = dict(
        encoder_sequence=encoder_sequence,
        decoder_padding_mask=decoder_padding_mask,
        decoder_attention_mask=decoder_attention_mask,
        encoder_padding_mask=encoder_padding_mask,
        encoder_attention_mask=encoder_attention_mask,
        self_attention_cache=self_attention_cache,
        self_attention_cache_update_index=self_attention_cache_update_index,
        cross_attention_cache=cross_attention_cache,
        use_causal_mask=use_causal_mask,
        return_attention_scores=return_attention_scores,
    )
    plain = (
        layer.score == "scaled_dot" and layer.window is None and not layer.hard
    )
    cached = (
        self_attention_cache is not None or cross_attention_cache is not None
    )
    if plain or cached:
        return layer(decoder_sequence, **arguments)
    if (encoder_sequence is None) != (layer.cross_attention is None):
        return layer(decoder_sequence, **arguments)  # the layer's error
    if decoder_padding_mask is None and decoder_attention_mask is None:
        decoder_padding_mask = _compat.get_keras_mask(decoder_sequence)
    if (
        encoder_sequence is not None
        and encoder_padding_mask is None
        and encoder_attention_mask is None
    ):
        encoder_padding_mask = _compat.get_keras_mask(encoder_sequence)

    def sub_block(attention, norm, x, *args, **kwargs):
        residual = x
        if layer.normalize_first:
            x = lower.call(norm, x)
        attended = lower.call(
            attention,
            x,
            *(args or (x,)),
            return_attention_scores=return_attention_scores,
            **kwargs,
        )
        scores = None
        if return_attention_scores:
            attended, scores = attended
        x = attended + residual
        if not layer.normalize_first:
            x = lower.call(norm, x)
        return x, scores

    x, self_scores = sub_block(
        layer.self_attention,
        layer.self_attention_layer_norm,
        decoder_sequence,
        padding_mask=decoder_padding_mask,
        attention_mask=decoder_attention_mask,
        use_causal_mask=use_causal_mask,
    )  # (B, T, D)
    cross_scores = None
    if layer.cross_attention is not None:
        x, cross_scores = sub_block(
            layer.cross_attention,
            layer.cross_attention_layer_norm,
            x,
            encoder_sequence,
            padding_mask=encoder_padding_mask,
            attention_mask=encoder_attention_mask,
        )
    residual = x
    if layer.normalize_first:
        x = lower.call(layer.feedforward_layer_norm, x)
    x = lower.call(layer.feedforward_intermediate_dense, x)
    x = lower.call(layer.feedforward_output_dense, x) + residual
    if not layer.normalize_first:
        x = lower.call(layer.feedforward_layer_norm, x)
    if not return_attention_scores:
        return x
    if cross_scores is None:
        return x, self_scores
    return x, self_scores, cross_scores
