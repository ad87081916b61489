import keras

from keras_attn.layers._backend import get_keras_mask
from keras_attn.layers._transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_attn")
class TransformerEncoder(TransformerBlock):
    """Transformer encoder block: self-attention, then a feed-forward net.

    Each sub-block has a residual connection and a layer norm: after the
    residual (post-norm, BERT and the original paper; the default) or
    before the sub-block (pre-norm, ViT and GPT-2; `normalize_first=True`).
    The head size is the input's hidden size divided by `num_heads`.

    Args:
        intermediate_dim: int. Hidden size of the feed-forward net.
        num_heads: int. Number of attention heads; must divide the hidden
            size of the input.
        dropout: float in [0, 1). Dropout on the attention probabilities and
            on both sub-block outputs. Defaults to 0.
        activation: feed-forward activation: a Keras activation name or
            callable (`"relu"`, `"gelu"` for exact GELU) or
            `"gelu_approximate"` (tanh GELU). Defaults to `"relu"`.
        layer_norm_epsilon: float. Defaults to 1e-5 (BERT uses 1e-12).
        kernel_initializer: kernel initializer. Defaults to
            `"glorot_uniform"`.
        bias_initializer: bias initializer. Defaults to `"zeros"`.
        normalize_first: bool. Pre-norm when True. Defaults to False.
        score, window, hard: the attention variant of every attention
            sublayer, as in `MultiHeadAttention` (scoring function, local
            attention within `window` positions, hard attention). Defaults
            to `"scaled_dot"`, None and None.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` tensor.
        padding_mask: optional boolean `(batch, T)`, True for real tokens.
        attention_mask: optional boolean `(batch, T, T)`.
        training: bool. Enables dropout.
        return_attention_scores: bool. Also return the
            `(batch, num_heads, T, T)` attention probabilities.

    Returns:
        `(batch, T, hidden)` tensor, or `(output, scores)`.

    Masking:
        An explicit `padding_mask`/`attention_mask` wins; otherwise the
        implicit Keras mask of `inputs` is used as the padding mask. Padded
        positions are never attended to, so they never change the outputs
        at real positions; their own outputs are computed but meaningless.

    Example:

    >>> import numpy as np
    >>> block = TransformerEncoder(intermediate_dim=32, num_heads=2)
    >>> x = np.random.rand(2, 5, 16).astype("float32")
    >>> mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    >>> tuple(block(x, padding_mask=mask).shape)
    (2, 5, 16)

    References:
        - Vaswani et al., "Attention Is All You Need", 2017.
          https://arxiv.org/abs/1706.03762
        - Xiong et al., "On Layer Normalization in the Transformer
          Architecture", 2020 (pre-norm). https://arxiv.org/abs/2002.04745
    """

    def build(self, inputs_shape):
        hidden = self._check_hidden(
            "inputs", inputs_shape, "(batch, sequence_length, hidden)"
        )
        shape = tuple(inputs_shape)
        # Sublayers in the order of keras_hub's TransformerEncoder, so the
        # two have the same weight order.
        self.self_attention = self._attention("self_attention", shape, shape)
        self.self_attention_layer_norm = self._layer_norm(
            "self_attention_layer_norm", shape
        )
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self.feedforward_layer_norm = self._layer_norm(
            "feedforward_layer_norm", shape
        )
        self.feedforward_intermediate_dense = self._dense(
            "feedforward_intermediate_dense",
            self.intermediate_dim,
            shape,
            activation=self.activation,
        )
        self.feedforward_output_dense = self._dense(
            "feedforward_output_dense",
            hidden,
            shape[:-1] + (self.intermediate_dim,),
        )
        self.feedforward_dropout = self._dropout("feedforward_dropout")
        self.built = True

    def call(
        self,
        inputs,
        padding_mask=None,
        attention_mask=None,
        training=None,
        return_attention_scores=False,
    ):
        if padding_mask is None and attention_mask is None:
            padding_mask = get_keras_mask(inputs)

        x = inputs  # (B, T, D)
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        attended = self.self_attention(
            x,
            x,
            padding_mask=padding_mask,
            attention_mask=attention_mask,
            return_attention_scores=return_attention_scores,
            training=training,
        )
        if return_attention_scores:
            x, scores = attended  # (B, T, D), (B, H, T, T)
        else:
            x = attended  # (B, T, D)
        x = self.self_attention_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        x = self._feedforward(x, training)  # (B, T, D)

        if return_attention_scores:
            return x, scores
        return x

    def compute_output_shape(self, inputs_shape):
        self._check_hidden(
            "inputs", inputs_shape, "(batch, sequence_length, hidden)"
        )
        return tuple(inputs_shape)
