import keras

from keras_attn.layers.multi_head_attention import MultiHeadAttention


@keras.saving.register_keras_serializable(package="keras_attn")
class MultiHeadSelfAttention(MultiHeadAttention):
    """Multi-head self-attention: `MultiHeadAttention` with `query = value`.

    Takes the same constructor arguments as `MultiHeadAttention` and the
    same weights; only the call is shorter.

    Args:
        num_heads: int. Number of attention heads.
        key_dim: int or None. Size of each query/key head. Defaults to the
            hidden size divided by `num_heads` (which must divide).
        value_dim: int or None. Size of each value head. Defaults to
            `key_dim`.
        dropout: float in [0, 1). Dropout on the attention probabilities.
            Defaults to 0.
        use_bias: bool. Whether the projections have biases. Defaults to True.
        output_dim: int or None. Output size. Defaults to the hidden size.
        kernel_initializer: kernel initializer. Defaults to
            `"glorot_uniform"`.
        bias_initializer: bias initializer. Defaults to `"zeros"`.
        score, window, hard, seed: the attention variant, as in
            `MultiHeadAttention` (scoring function, local attention, hard
            attention and its seed).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` tensor.
        padding_mask: optional boolean `(batch, T)`; True marks tokens that
            may be attended to.
        attention_mask: optional boolean `(batch, T, T)`.
        use_causal_mask: bool. Each position attends only to itself and the
            positions before it.
        return_attention_scores: bool. Also return `(batch, heads, T, T)`
            attention probabilities.
        training: bool. Enables dropout.
        cache, cache_update_index: key/value cache for incremental decoding,
            as in `MultiHeadAttention`.

    Returns:
        `(batch, T, output_dim)`; tuples with the scores and/or the cache as
        in `MultiHeadAttention`.

    Masking:
        As `MultiHeadAttention`: an explicit mask wins over the implicit Keras
        mask of `inputs`; a position with nothing to attend to gets a zero
        attended value (the output is the output bias), never NaN.

    Example:

    >>> import numpy as np
    >>> layer = MultiHeadSelfAttention(num_heads=4)
    >>> x = np.random.rand(2, 6, 16).astype("float32")
    >>> tuple(layer(x, use_causal_mask=True).shape)
    (2, 6, 16)

    References:
        - Vaswani et al., "Attention Is All You Need", 2017.
          https://arxiv.org/abs/1706.03762
    """

    def build(self, inputs_shape):
        super().build(inputs_shape, inputs_shape)

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        use_causal_mask=False,
        return_attention_scores=False,
        training=None,
        cache=None,
        cache_update_index=None,
    ):
        return super().call(
            inputs,
            inputs,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            training=training,
            cache=cache,
            cache_update_index=cache_update_index,
        )

    def compute_output_shape(self, inputs_shape):
        return super().compute_output_shape(inputs_shape, inputs_shape)
