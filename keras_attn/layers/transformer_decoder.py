import keras
from keras import ops

from keras_attn.layers import _validation as check
from keras_attn.layers._backend import get_keras_mask
from keras_attn.layers._transformer_block import TransformerBlock


@keras.saving.register_keras_serializable(package="keras_attn")
class TransformerDecoder(TransformerBlock):
    """Transformer decoder block: causal self-attention, optional
    cross-attention over encoder outputs, then a feed-forward net.

    Cross-attention exists when the layer is built with an encoder sequence
    (called with `encoder_sequence` the first time); without one the block is
    decoder-only (GPT style). Residuals and layer norms as in
    `TransformerEncoder` (post-norm by default, `normalize_first=True` for
    pre-norm).

    Args:
        intermediate_dim: int. Hidden size of the feed-forward net.
        num_heads: int. Number of attention heads; must divide the decoder's
            hidden size.
        dropout: float in [0, 1). Defaults to 0.
        activation: feed-forward activation (as in `TransformerEncoder`).
            Defaults to `"relu"`.
        layer_norm_epsilon: float. Defaults to 1e-5.
        kernel_initializer: kernel initializer. Defaults to
            `"glorot_uniform"`.
        bias_initializer: bias initializer. Defaults to `"zeros"`.
        normalize_first: bool. Pre-norm when True. Defaults to False.
        score, window, hard: the attention variant of both attention
            sublayers, as in `MultiHeadAttention` (`window` restricts the
            self-attention only: source and target positions do not
            align). Defaults to `"scaled_dot"`, None and None.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        decoder_sequence: `(batch, T, hidden)` tensor.
        encoder_sequence: optional `(batch, S, encoder_hidden)` tensor.
        decoder_padding_mask: optional boolean `(batch, T)` (with a cache:
            `(batch, max_length)`, over the cached positions).
        decoder_attention_mask: optional boolean `(batch, T, T)`.
        encoder_padding_mask: optional boolean `(batch, S)`.
        encoder_attention_mask: optional boolean `(batch, T, S)`.
        self_attention_cache: optional
            `(batch, 2, max_length, num_heads, head_dim)` key/value cache.
        self_attention_cache_update_index: int or scalar tensor; where this
            call's keys and values go in the cache.
        cross_attention_cache: optional `(batch, 2, S, num_heads, head_dim)`
            projected keys and values of the encoder sequence, from
            `compute_cross_attention_cache`; saves projecting the same
            encoder outputs again at every decoding step.
        use_causal_mask: bool. Defaults to True.
        return_attention_scores: bool. Also return the self-attention
            probabilities (and the cross-attention ones when present).
        training: bool. Enables dropout.

    Returns:
        `(batch, T, hidden)`; with `return_attention_scores`,
        `(output, self_scores)` or `(output, self_scores, cross_scores)`;
        with a cache, the updated cache is appended last.

    Masking:
        Explicit masks win; otherwise the implicit Keras masks of the decoder
        and encoder sequences are used as their padding masks.

    Example:

    >>> import numpy as np
    >>> block = TransformerDecoder(intermediate_dim=32, num_heads=2)
    >>> target = np.random.rand(2, 4, 16).astype("float32")
    >>> source = np.random.rand(2, 7, 16).astype("float32")
    >>> tuple(block(target, source).shape)
    (2, 4, 16)

    References:
        - Vaswani et al., "Attention Is All You Need", 2017.
          https://arxiv.org/abs/1706.03762
    """

    def build(self, decoder_sequence_shape, encoder_sequence_shape=None):
        hidden = self._check_hidden(
            "decoder_sequence",
            decoder_sequence_shape,
            "(batch, target_length, hidden)",
        )
        dec = tuple(decoder_sequence_shape)
        # Sublayers in the order of keras_hub's TransformerDecoder, so the
        # two have the same weight order.
        self.self_attention = self._attention("self_attention", dec, dec)
        self.self_attention_layer_norm = self._layer_norm(
            "self_attention_layer_norm", dec
        )
        self.self_attention_dropout = self._dropout("self_attention_dropout")
        self.cross_attention = None
        if encoder_sequence_shape is not None:
            check.check_rank(
                self.__class__.__name__,
                "encoder_sequence",
                encoder_sequence_shape,
                3,
                "(batch, source_length, hidden)",
            )
            self.cross_attention = self._attention(
                "cross_attention", dec, encoder_sequence_shape, local=False
            )
            self.cross_attention_layer_norm = self._layer_norm(
                "cross_attention_layer_norm", dec
            )
            self.cross_attention_dropout = self._dropout(
                "cross_attention_dropout"
            )
        self.feedforward_intermediate_dense = self._dense(
            "feedforward_intermediate_dense",
            self.intermediate_dim,
            dec,
            activation=self.activation,
        )
        self.feedforward_output_dense = self._dense(
            "feedforward_output_dense",
            hidden,
            dec[:-1] + (self.intermediate_dim,),
        )
        self.feedforward_layer_norm = self._layer_norm(
            "feedforward_layer_norm", dec
        )
        self.feedforward_dropout = self._dropout("feedforward_dropout")
        self.built = True

    def call(
        self,
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
        name = self.__class__.__name__
        if encoder_sequence is None and self.cross_attention is not None:
            raise ValueError(
                f"{name} was built with cross-attention, so it needs an "
                "`encoder_sequence`; received encoder_sequence=None."
            )
        if encoder_sequence is not None and self.cross_attention is None:
            raise ValueError(
                f"{name} was built without cross-attention (no "
                "encoder_sequence at build time); received an "
                f"encoder_sequence of shape {tuple(encoder_sequence.shape)}."
            )
        if decoder_padding_mask is None and decoder_attention_mask is None:
            decoder_padding_mask = get_keras_mask(decoder_sequence)
        if (
            encoder_sequence is not None
            and encoder_padding_mask is None
            and encoder_attention_mask is None
        ):
            encoder_padding_mask = get_keras_mask(encoder_sequence)

        x = decoder_sequence  # (B, T, D)
        residual = x
        if self.normalize_first:
            x = self.self_attention_layer_norm(x)
        attended = self.self_attention(
            x,
            x,
            padding_mask=decoder_padding_mask,
            attention_mask=decoder_attention_mask,
            use_causal_mask=use_causal_mask,
            return_attention_scores=return_attention_scores,
            training=training,
            cache=self_attention_cache,
            cache_update_index=self_attention_cache_update_index,
        )
        if not isinstance(attended, tuple):
            attended = (attended,)
        x = attended[0]  # (B, T, D)
        self_scores = attended[1] if return_attention_scores else None
        if self_attention_cache is not None:
            self_attention_cache = attended[-1]
        x = self.self_attention_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = self.self_attention_layer_norm(x)

        cross_scores = None
        if self.cross_attention is not None:
            residual = x
            if self.normalize_first:
                x = self.cross_attention_layer_norm(x)
            attended = self.cross_attention(
                x,
                encoder_sequence,
                padding_mask=encoder_padding_mask,
                attention_mask=encoder_attention_mask,
                return_attention_scores=return_attention_scores,
                training=training,
                cache=cross_attention_cache,
            )
            if cross_attention_cache is not None:
                attended = attended[:-1]  # the cache comes back unchanged
                attended = attended if len(attended) > 1 else attended[0]
            if return_attention_scores:
                x, cross_scores = attended  # (B, T, D), (B, H, T, S)
            else:
                x = attended  # (B, T, D)
            x = self.cross_attention_dropout(x, training=training)
            x = x + residual
            if not self.normalize_first:
                x = self.cross_attention_layer_norm(x)

        x = self._feedforward(x, training)  # (B, T, D)

        results = (x,)
        if return_attention_scores:
            results += (self_scores,)
            if cross_scores is not None:
                results += (cross_scores,)
        if self_attention_cache is not None:
            results += (self_attention_cache,)
        return results[0] if len(results) == 1 else results

    def compute_cross_attention_cache(self, encoder_sequence):
        """Projected keys and values of `encoder_sequence` for decoding.

        Args:
            encoder_sequence: `(batch, S, encoder_hidden)` tensor, what the
                layer is called with as `encoder_sequence`.

        Returns:
            `(batch, 2, S, num_heads, head_dim)` tensor to pass as
            `cross_attention_cache` at every step.
        """
        if self.cross_attention is None:
            raise ValueError(
                f"{self.name} has no cross-attention (it was built without "
                "an encoder sequence), so it has no cross-attention cache."
            )
        attention = self.cross_attention
        keys = attention._project(
            encoder_sequence, attention.key_kernel, attention.key_bias
        )  # (B, S, H, Kd)
        values = attention._project(
            encoder_sequence, attention.value_kernel, attention.value_bias
        )  # (B, S, H, Vd)
        return ops.stack((keys, values), axis=1)

    def compute_output_shape(
        self, decoder_sequence_shape, encoder_sequence_shape=None
    ):
        self._check_hidden(
            "decoder_sequence",
            decoder_sequence_shape,
            "(batch, target_length, hidden)",
        )
        return tuple(decoder_sequence_shape)
