"""The multi-head attention layer, with its scoring functions, local
(windowed) and hard attention. Long because the variants share the
layer's projections, masks, cache and mixed-precision rules, and each
is a branch of the one attention step; the block bookkeeping of local
attention lives in `_local_attention`.
"""

import math

import keras
from keras import ops

from keras_attn.layers import _local_attention as local
from keras_attn.layers import _validation as check
from keras_attn.layers._backend import get_keras_mask
from keras_attn.layers._backend import traced_output_spec
from keras_attn.layers._masking import check_mask_shape
from keras_attn.layers._masking import masked_softmax
from keras_attn.layers._masking import merge_masks

SCORES = ("scaled_dot", "dot", "general", "additive")
HARD = ("argmax", "sample")


def _overflows(dtype):
    """Whether q.k logits in `dtype` can overflow (float16 tops out at 65504).

    Large activations under `mixed_float16` give logits past float16's range
    and then NaN from the softmax, so the logits are formed in float32 for
    float16. bfloat16 has float32's range and keeps the fast path.
    """
    return keras.backend.standardize_dtype(dtype) == "float16"


def check_variant(score, window, hard):
    """Validates the `score`, `window` and `hard` arguments (shared with the
    Transformer blocks, which pass them on); returns them."""
    if score not in SCORES:
        raise ValueError(
            f"`score` must be one of {', '.join(map(repr, SCORES))}; "
            f"received score={score!r}."
        )
    window = check.positive_int("window", window, allow_none=True)
    if hard is not None and hard not in HARD:
        raise ValueError(
            f"`hard` must be None, 'argmax' or 'sample'; received "
            f"hard={hard!r}."
        )
    return score, window, hard


def _use_einsum():
    """Whether the projections run as einsums or as flattened matmuls.

    Measured with benchmarks/layers.py on CPU: TensorFlow runs one matmul
    over the flattened heads 1.1-1.3x faster than its einsum op in graph
    mode (a tie under XLA), while under JAX the matmul form was 0.87-0.92x
    of Keras's einsum layer forward and backward, and the einsum form ties.
    """
    return keras.backend.backend() == "jax"


@keras.saving.register_keras_serializable(package="keras_attn")
class MultiHeadAttention(keras.layers.Layer):
    """Multi-head attention (self- or cross-attention), scaled dot-product
    by default, with the other scoring functions, local and hard attention.

    The query, key and value are projected separately into `num_heads`
    heads, each head computes `softmax(score(q, k)) v` over the allowed
    keys, and the heads are concatenated and projected back. With the
    default score the weights have the same names, shapes and order as
    `keras.layers.MultiHeadAttention`, so `set_weights(other.get_weights())`
    copies a Keras layer in.

    Scores, for a head's projected query `q` and key `k` (of size
    `key_dim`):

    - `"scaled_dot"`: `q . k / sqrt(key_dim)` (Vaswani et al.);
    - `"dot"`: `q . k` (Luong et al.);
    - `"general"`: `q^T W k`, a learned `W` per head (Luong et al.);
    - `"additive"`: `v^T tanh(q + k)`, a learned `v` per head (Bahdanau et
      al.); the query and key projections are the formula's `W_q s` and
      `W_k h`, so only `v` is added.

    Args:
        num_heads: int. Number of attention heads.
        key_dim: int or None. Size of each query/key head. Defaults to the
            query's hidden size divided by `num_heads` (which must divide).
        value_dim: int or None. Size of each value head. Defaults to
            `key_dim`.
        dropout: float in [0, 1). Dropout on the attention probabilities.
            Defaults to 0.
        use_bias: bool. Whether the projections have biases. Defaults to True.
        output_dim: int or None. Size of the output. Defaults to the query's
            hidden size.
        kernel_initializer: initializer for the projection kernels.
            Defaults to `"glorot_uniform"`.
        bias_initializer: initializer for the biases. Defaults to `"zeros"`.
        score: str. The scoring function: `"scaled_dot"` (the default),
            `"dot"`, `"general"` or `"additive"` (above). `"general"` adds a
            weight `score_kernel` `(num_heads, key_dim, key_dim)` and
            `"additive"` a weight `score_vector` `(num_heads, key_dim)`,
            both after the default weights.
        window: int or None. Restricted (local) attention: query `t`
            attends only to keys `s` with `|t - s| <= window` (with
            `use_causal_mask`, `t - window <= s <= t`): the band of
            `keras.layers.MultiHeadAttention(sliding_window=window + 1)`.
            When the query and key lengths are equal and over eight
            windows, and no `attention_mask`, cache or scores are asked
            for, it is computed block by block, with cost and memory
            growing as `length * 3 * window` instead of `length ** 2`;
            otherwise as a band mask over full attention (the same
            numbers). Defaults to
            None (every key).
        hard: None, `"argmax"` or `"sample"`. Hard attention: each query
            attends to one key, the highest-scoring allowed one
            (`"argmax"`) or one drawn from the attention distribution
            (`"sample"`, by the Gumbel-max trick). In training the forward
            pass is the same one-hot choice and the gradient is the
            softmax's (straight-through; for `"sample"` the straight-through
            Gumbel-softmax of Jang et al.). Defaults to None (soft).
        seed: int or None. Seed of the `"sample"` draws. Defaults to None.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        query: `(batch, T, query_dim)` tensor.
        value: `(batch, S, value_dim)` tensor.
        key: optional `(batch, S, key_dim)` tensor; defaults to `value`.
        padding_mask: optional boolean `(batch, S)`; True marks keys that may
            be attended to.
        attention_mask: optional boolean `(batch, T, S)`; True where query
            `t` may attend to key `s`.
        use_causal_mask: bool. Query `t` attends only to keys `<= t` (offset
            by `cache_update_index` when decoding with a cache).
        return_attention_scores: bool. Also return the attention
            weights, `(batch, num_heads, T, S)` (one-hot rows when `hard`).
        training: bool. Enables dropout.
        cache: optional `(batch, 2, max_length, num_heads, key_dim)` tensor
            of projected keys (`cache[:, 0]`) and values (`cache[:, 1]`).
        cache_update_index: int or scalar tensor. Where the keys and values of
            this call are written into `cache`. With `cache` given and this
            None, the cache is used as is (precomputed cross-attention) and
            `key`/`value` are not projected.

    Returns:
        `(batch, T, output_dim)` tensor; with `return_attention_scores` a
        tuple `(output, scores)`; with `cache` given, the updated cache is
        appended: `(output, cache)` or `(output, scores, cache)`.

    Masking:
        Masks are booleans, True means "may attend". An explicit
        `padding_mask` or `attention_mask` wins over the Keras implicit masks
        of the inputs; otherwise the implicit query mask hides padded query
        rows and the implicit value (or key) mask hides padded keys. A query
        with no allowed key attends to nothing: its attended value is exactly
        zero (so the layer returns the output bias), never NaN and never a
        uniform average, with or without dropout; hard attention never
        chooses a masked key.

    Mixed precision:
        The softmax always runs in float32. Under `mixed_float16` the
        logits `q k^T` are formed in float32 as well (float16 overflows past
        65504); `mixed_bfloat16` keeps the backend's fused kernel in
        bfloat16.

    Example:

    >>> import numpy as np
    >>> layer = MultiHeadAttention(num_heads=2)
    >>> x = np.random.rand(3, 5, 8).astype("float32")
    >>> tuple(layer(x, x, padding_mask=np.ones((3, 5), bool)).shape)
    (3, 5, 8)

    >>> local = MultiHeadAttention(num_heads=2, window=1, score="additive")
    >>> tuple(local(x, x, use_causal_mask=True).shape)
    (3, 5, 8)

    References:
        - Vaswani et al., "Attention Is All You Need", 2017.
          https://arxiv.org/abs/1706.03762
        - Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
          Learning to Align and Translate", 2015.
          https://arxiv.org/abs/1409.0473
        - Luong, Pham and Manning, "Effective Approaches to Attention-based
          Neural Machine Translation", 2015.
          https://arxiv.org/abs/1508.04025
        - Xu et al., "Show, Attend and Tell", 2015 (hard attention).
          https://arxiv.org/abs/1502.03044
        - Jang, Gu and Poole, "Categorical Reparameterization with
          Gumbel-Softmax", 2017. https://arxiv.org/abs/1611.01144
    """

    def __init__(
        self,
        num_heads,
        key_dim=None,
        value_dim=None,
        dropout=0.0,
        use_bias=True,
        output_dim=None,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        score="scaled_dot",
        window=None,
        hard=None,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.key_dim = check.positive_int("key_dim", key_dim, allow_none=True)
        self.value_dim = check.positive_int(
            "value_dim", value_dim, allow_none=True
        )
        self.dropout = check.rate("dropout", dropout)
        if not isinstance(use_bias, bool):
            raise TypeError(
                f"`use_bias` must be a bool; received use_bias={use_bias!r}."
            )
        self.use_bias = use_bias
        self.output_dim = check.positive_int(
            "output_dim", output_dim, allow_none=True
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.score, self.window, self.hard = check_variant(score, window, hard)
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, int)
        ):
            raise TypeError(
                f"`seed` must be an int or None; received seed={seed!r}."
            )
        self.seed = seed
        self._seed_generator = None
        if hard == "sample":
            self._seed_generator = keras.random.SeedGenerator(
                seed, name="hard_attention_seed"
            )
        self.supports_masking = True
        self._dropout_layer = keras.layers.Dropout(
            rate=dropout, dtype=self.dtype_policy, name="attention_dropout"
        )

    def _head_dims(self, query_dim):
        """Returns (key_dim, value_dim) for a query of size `query_dim`."""
        key_dim = self.key_dim
        if key_dim is None:
            if query_dim % self.num_heads:
                raise ValueError(
                    f"The query hidden size must be divisible by num_heads="
                    f"{self.num_heads} when key_dim is not given; received "
                    f"a query of hidden size {query_dim}."
                )
            key_dim = query_dim // self.num_heads
        value_dim = key_dim if self.value_dim is None else self.value_dim
        return key_dim, value_dim

    def _check_shapes(self, query_shape, value_shape, key_shape):
        name = self.__class__.__name__
        check.check_rank(
            name, "query", query_shape, 3, "(batch, query_length, hidden)"
        )
        check.check_rank(
            name, "value", value_shape, 3, "(batch, key_length, hidden)"
        )
        if key_shape is not None:
            check.check_rank(
                name, "key", key_shape, 3, "(batch, key_length, hidden)"
            )
            k_len, v_len = key_shape[1], value_shape[1]
            if k_len is not None and v_len is not None and k_len != v_len:
                raise ValueError(
                    f"{name}: `key` and `value` must have the same length; "
                    f"received key shape {check.shape_str(key_shape)} and "
                    f"value shape {check.shape_str(value_shape)}."
                )
        for arg, shape in (("query", query_shape), ("value", value_shape)):
            if shape[-1] is None:
                raise ValueError(
                    f"{name}: the last dimension of `{arg}` must be known; "
                    f"received shape {check.shape_str(shape)}."
                )

    def _projection(self, name, input_dim, heads, head_dim):
        kernel = self.add_weight(
            name=f"{name}_kernel",
            shape=(input_dim, heads, head_dim),
            initializer=self.kernel_initializer,
        )
        bias = None
        if self.use_bias:
            bias = self.add_weight(
                name=f"{name}_bias",
                shape=(heads, head_dim),
                initializer=self.bias_initializer,
            )
        return kernel, bias

    def build(self, query_shape, value_shape, key_shape=None):
        self._check_shapes(query_shape, value_shape, key_shape)
        query_dim = query_shape[-1]
        value_dim = value_shape[-1]
        key_in_dim = value_dim if key_shape is None else key_shape[-1]
        key_dim, head_value_dim = self._head_dims(query_dim)
        self._key_dim, self._value_dim = key_dim, head_value_dim
        self._output_dim = self.output_dim or query_dim
        heads = self.num_heads
        self.query_kernel, self.query_bias = self._projection(
            "query", query_dim, heads, key_dim
        )
        self.key_kernel, self.key_bias = self._projection(
            "key", key_in_dim, heads, key_dim
        )
        self.value_kernel, self.value_bias = self._projection(
            "value", value_dim, heads, head_value_dim
        )
        self.output_kernel = self.add_weight(
            name="output_kernel",
            shape=(heads, head_value_dim, self._output_dim),
            initializer=self.kernel_initializer,
        )
        self.output_bias = None
        if self.use_bias:
            self.output_bias = self.add_weight(
                name="output_bias",
                shape=(self._output_dim,),
                initializer=self.bias_initializer,
            )
        if self.score == "general":
            self.score_kernel = self.add_weight(
                name="score_kernel",
                shape=(heads, key_dim, key_dim),
                initializer=self.kernel_initializer,
            )
        elif self.score == "additive":
            self.score_vector = self.add_weight(
                name="score_vector",
                shape=(heads, key_dim),
                initializer=self.kernel_initializer,
            )
        self._dropout_layer.build(None)
        self.built = True

    def _project(self, x, kernel, bias):
        """`(B, L, D) @ (D, H, K)` -> `(B, L, H, K)`."""
        if _use_einsum():
            y = ops.einsum("bld,dhk->blhk", x, kernel)
            return y if bias is None else y + bias
        in_dim, heads, head_dim = kernel.shape
        y = ops.matmul(x, ops.reshape(kernel, (in_dim, heads * head_dim)))
        if bias is not None:
            y = y + ops.reshape(bias, (heads * head_dim,))
        return ops.reshape(y, ops.shape(y)[:-1] + (heads, head_dim))

    def _output_projection(self, context):
        """`(B, T, H, Vd) @ (H, Vd, O)` -> `(B, T, O)`."""
        if _use_einsum():
            output = ops.einsum("bthd,hdo->bto", context, self.output_kernel)
        else:
            heads, head_dim, out_dim = self.output_kernel.shape
            context = ops.reshape(
                context, ops.shape(context)[:-2] + (heads * head_dim,)
            )  # (B, T, H * Vd)
            output = ops.matmul(
                context,
                ops.reshape(self.output_kernel, (heads * head_dim, out_dim)),
            )
        if self.output_bias is not None:
            output = output + self.output_bias
        return output

    def call(
        self,
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
        query_mask = get_keras_mask(query)
        key_mask = get_keras_mask(value if key is None else key)
        if key is None:
            key = value

        q = self._project(query, self.query_kernel, self.query_bias)
        # q: (B, T, H, Kd)
        if cache is not None and cache_update_index is None:
            # Precomputed keys and values (e.g. encoder outputs).
            k, v = cache[:, 0, ...], cache[:, 1, ...]  # (B, S, H, Kd)
        else:
            k = self._project(key, self.key_kernel, self.key_bias)
            v = self._project(value, self.value_kernel, self.value_bias)
            if cache is not None:
                start = [0, cache_update_index, 0, 0]
                k = ops.slice_update(cache[:, 0, ...], start, k)
                v = ops.slice_update(cache[:, 1, ...], start, v)
                cache = ops.stack((k, v), axis=1)
        key_length = k.shape[1] if k.shape[1] is not None else ops.shape(k)[1]
        start_index = 0 if cache_update_index is None else cache_update_index

        if self._blocks_apply(
            q, k, attention_mask, cache, return_attention_scores
        ):
            context = self._attend_locally(
                q,
                k,
                v,
                padding_mask=padding_mask,
                query_mask=query_mask,
                key_mask=key_mask,
                use_causal_mask=use_causal_mask,
                training=training,
            )  # (B, T, H, Vd)
            scores = None
        else:
            mask = merge_masks(
                query,
                key_length,
                padding_mask=padding_mask,
                attention_mask=attention_mask,
                query_mask=query_mask,
                key_mask=key_mask,
                use_causal_mask=use_causal_mask,
                causal_start_index=start_index,
            )
            if self.window is not None:
                query_length = q.shape[1] or ops.shape(q)[1]
                near = local.band(
                    query_length,
                    key_length,
                    self.window,
                    use_causal_mask,
                    start_index,
                )  # (1, T, S)
                mask = near if mask is None else ops.logical_and(mask, near)
            context, scores = self._attend(
                q, k, v, mask, training, return_attention_scores
            )  # context: (B, T, H, Vd)

        output = self._output_projection(context)  # (B, T, output_dim)

        results = (output,)
        if return_attention_scores:
            results += (scores,)
        if cache is not None:
            results += (cache,)
        return results[0] if len(results) == 1 else results

    def _blocks_apply(self, q, k, attention_mask, cache, return_scores):
        """Whether `window` attention runs block by block: self-aligned
        queries and keys of one length, longer than
        `_local_attention.BLOCKS_BEYOND` windows (where blocks start to
        pay), and nothing that needs the full `(T, S)` layout."""
        if self.window is None or cache is not None or return_scores:
            return False
        if attention_mask is not None:
            return False
        length, key_length = q.shape[1], k.shape[1]
        if length is None or key_length is None:
            return False
        return (
            length == key_length and length > local.BLOCKS_BEYOND * self.window
        )

    def _attend_locally(
        self,
        q,
        k,
        v,
        padding_mask,
        query_mask,
        key_mask,
        use_causal_mask,
        training,
    ):
        """`window` attention over blocks of `window` queries, each against
        its `3 * window` (causal: `2 * window`) neighbouring keys, the
        blocks folded into the batch axis (`_local_attention`)."""
        window, length = self.window, q.shape[1]
        key_keep = key_mask
        if padding_mask is not None:
            check_mask_shape("padding_mask", padding_mask, (q.shape[0], length))
            # An explicit mask wins over the implicit ones.
            key_keep, query_mask = padding_mask, None
        near = ops.convert_to_tensor(
            local.block_band(window, use_causal_mask)[None]
        )  # (1, r, 3r)
        if key_keep is None:
            key_keep = ops.ones(ops.shape(k)[:2], dtype="bool")
        valid = local.block_keys(
            ops.cast(key_keep, "bool"), window, use_causal_mask
        )  # (B * n, 3r): False past either end
        mask = ops.logical_and(near, valid[:, None, :])  # (B * n, r, 3r)
        context, _ = self._attend(
            local.block_queries(q, window),  # (B * n, r, H, Kd)
            local.block_keys(k, window, use_causal_mask),  # (B * n, 3r, ...)
            local.block_keys(v, window, use_causal_mask),
            mask,
            training,
            False,
        )  # (B * n, r, H, Vd)
        context = local.unblock(context, length)  # (B, T, H, Vd)
        if query_mask is not None:
            keep = ops.cast(query_mask, context.dtype)[:, :, None, None]
            context = context * keep
        return context

    def _scores(self, q, k):
        """The attention logits `(B, H, T, S)` of projected queries
        `(B, T, H, Kd)` and keys `(B, S, H, Kd)`, in float32 where the
        compute dtype is float16 (q.k can pass 65504 there)."""
        if _overflows(q.dtype):
            q, k = ops.cast(q, "float32"), ops.cast(k, "float32")
        if self.score == "additive":
            # v^T tanh(q + k) per head: (B, T, 1, H, Kd) + (B, 1, S, H, Kd).
            hidden = ops.tanh(q[:, :, None] + k[:, None])  # (B, T, S, H, Kd)
            vector = ops.cast(self.score_vector, hidden.dtype)
            return ops.einsum("btshd,hd->bhts", hidden, vector)
        if self.score == "scaled_dot":
            q = q * ops.cast(1.0 / math.sqrt(q.shape[-1]), q.dtype)
        elif self.score == "general":
            kernel = ops.cast(self.score_kernel, q.dtype)
            q = ops.einsum("bthd,hde->bthe", q, kernel)  # q^T W
        return ops.einsum("bthd,bshd->bhts", q, k)  # (B, H, T, S)

    def _attend(self, q, k, v, mask, training, return_scores):
        """Attention over heads with the layer's score.

        q: (B, T, H, Kd), k: (B, S, H, Kd), v: (B, S, H, Vd), mask:
        boolean (B|1, T, S) or None. Returns ((B, T, H, Vd), weights or
        None).
        """
        dropout_active = self.dropout > 0 and bool(training)
        same_head_dims = q.shape[-1] == v.shape[-1]  # the fused op needs it
        dtype = q.dtype  # the compute dtype, which the context comes back in
        plain = self.score == "scaled_dot" and self.hard is None
        if plain and not (return_scores or dropout_active) and same_head_dims:
            # The backends' fused kernel (cuDNN flash attention on GPUs
            # where available). Fully masked rows come back as a uniform
            # average there, so they are zeroed explicitly.
            mask4 = None if mask is None else mask[:, None, :, :]
            if _overflows(dtype):
                q, k, v = (ops.cast(t, "float32") for t in (q, k, v))
            context = ops.dot_product_attention(
                q, k, v, mask=mask4, scale=1.0 / math.sqrt(q.shape[-1])
            )
            context = ops.cast(context, dtype)
            if mask is not None:
                has_key = ops.any(mask, axis=-1)  # (B|1, T)
                context = context * ops.cast(
                    has_key[:, :, None, None], context.dtype
                )
            return context, None

        # The softmax runs in float32 under mixed precision.
        scores = ops.cast(self._scores(q, k), "float32")  # (B, H, T, S)
        mask4 = None if mask is None else mask[:, None, :, :]
        if self.hard is None:
            probs = masked_softmax(scores, mask4)
        else:
            probs = self._hard_weights(scores, mask4, training)
        probs = ops.cast(probs, dtype)
        dropped = self._dropout_layer(probs, training=training)
        context = ops.einsum("bhts,bshd->bthd", dropped, v)  # (B, T, H, Vd)
        return context, probs

    def _hard_weights(self, scores, mask, training):
        """One-hot weights on one allowed key per query (zeros for a row
        with none); in training, with the softmax's gradient."""
        if self.hard == "sample":
            # Gumbel-max: argmax(scores + g), g ~ Gumbel(0, 1), is a draw
            # from softmax(scores).
            uniform = keras.random.uniform(
                ops.shape(scores),
                minval=1e-20,
                maxval=1.0,
                seed=self._seed_generator,
            )
            scores = scores - ops.log(-ops.log(uniform))
        soft = masked_softmax(scores, mask)  # (B, H, T, S)
        if mask is None:
            allowed = scores
            has_key = None
        else:
            mask = ops.broadcast_to(mask, ops.shape(scores))
            lowest = ops.min(scores, axis=-1, keepdims=True) - 1.0
            allowed = ops.where(mask, scores, lowest)
            has_key = ops.any(mask, axis=-1, keepdims=True)
        # The first key at the row's maximum, by comparisons rather than
        # argmax + one_hot (TensorFlow's argmax traces an op that LiteRT
        # has only in Flex): each key at the maximum is ranked S..1 from
        # the left, and the highest rank wins.
        length = scores.shape[-1] or ops.shape(scores)[-1]
        top = ops.max(allowed, axis=-1, keepdims=True)
        hit = ops.cast(ops.greater_equal(allowed, top), scores.dtype)
        ranked = hit * ops.cast(ops.arange(length, 0, -1), scores.dtype)
        best = ops.max(ranked, axis=-1, keepdims=True)
        chosen = ops.cast(ops.greater_equal(ranked, best), scores.dtype)
        if has_key is not None:
            chosen = chosen * ops.cast(has_key, chosen.dtype)
        if not training:
            return chosen
        # Straight-through: the forward value is `chosen`, the gradient
        # the soft weights'.
        return soft + ops.stop_gradient(chosen - soft)

    def compute_output_shape(self, query_shape, value_shape, key_shape=None):
        self._check_shapes(query_shape, value_shape, key_shape)
        return tuple(query_shape[:-1]) + (self.output_dim or query_shape[-1],)

    def compute_output_spec(self, *args, **kwargs):
        return traced_output_spec(self, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_heads": self.num_heads,
                "key_dim": self.key_dim,
                "value_dim": self.value_dim,
                "dropout": self.dropout,
                "use_bias": self.use_bias,
                "output_dim": self.output_dim,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "score": self.score,
                "window": self.window,
                "hard": self.hard,
                "seed": self.seed,
            }
        )
        return config
