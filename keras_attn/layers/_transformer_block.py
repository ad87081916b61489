"""Shared constructor, sublayer factory and config of the Transformer
encoder and decoder blocks (private)."""

import keras

from keras_attn.layers import _validation as check
from keras_attn.layers._activations import get_activation
from keras_attn.layers._backend import traced_output_spec
from keras_attn.layers.multi_head_attention import MultiHeadAttention
from keras_attn.layers.multi_head_attention import check_variant


class TransformerBlock(keras.layers.Layer):
    """Base of `TransformerEncoder` and `TransformerDecoder`."""

    def __init__(
        self,
        intermediate_dim,
        num_heads,
        dropout=0.0,
        activation="relu",
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        normalize_first=False,
        score="scaled_dot",
        window=None,
        hard=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.intermediate_dim = check.positive_int(
            "intermediate_dim", intermediate_dim
        )
        self.num_heads = check.positive_int("num_heads", num_heads)
        self.dropout = check.rate("dropout", dropout)
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = check.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        if not isinstance(normalize_first, bool):
            raise TypeError(
                "`normalize_first` must be a bool; received "
                f"normalize_first={normalize_first!r}."
            )
        self.normalize_first = normalize_first
        self.score, self.window, self.hard = check_variant(score, window, hard)
        self.supports_masking = True

    def _check_hidden(self, arg, shape, description):
        """Checks a `(batch, length, hidden)` shape; returns `hidden`."""
        name = self.__class__.__name__
        check.check_rank(name, arg, shape, 3, description)
        hidden = shape[-1]
        if hidden is None or hidden % self.num_heads:
            raise ValueError(
                f"{name}: the hidden size of `{arg}` must be known and "
                f"divisible by num_heads={self.num_heads}; received shape "
                f"{check.shape_str(shape)}."
            )
        return hidden

    def _initializers(self):
        # Fresh initializer objects per sublayer, so that no two weights
        # share a seeded initializer's stream.
        return {
            "kernel_initializer": keras.initializers.get(
                keras.initializers.serialize(self.kernel_initializer)
            ),
            "bias_initializer": keras.initializers.get(
                keras.initializers.serialize(self.bias_initializer)
            ),
        }

    def _attention(self, name, query_shape, value_shape, local=True):
        """The block's attention; `local=False` leaves `window` out (the
        decoder's cross-attention: source and target positions do not
        align)."""
        layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=query_shape[-1] // self.num_heads,
            dropout=self.dropout,
            score=self.score,
            window=self.window if local else None,
            hard=self.hard,
            dtype=self.dtype_policy,
            name=name,
            **self._initializers(),
        )
        layer.build(tuple(query_shape), tuple(value_shape))
        return layer

    def _layer_norm(self, name, shape):
        layer = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy, name=name
        )
        layer.build(tuple(shape))
        return layer

    def _dropout(self, name):
        return keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name=name
        )

    def _dense(self, name, units, input_shape, activation=None):
        layer = keras.layers.Dense(
            units,
            activation=activation,
            dtype=self.dtype_policy,
            name=name,
            **self._initializers(),
        )
        layer.build(tuple(input_shape))
        return layer

    def _feedforward(self, x, training):
        """The position-wise feed-forward sub-block with its residual."""
        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = self.feedforward_intermediate_dense(x)  # (B, T, intermediate)
        x = self.feedforward_output_dense(x)  # (B, T, D)
        x = self.feedforward_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            x = self.feedforward_layer_norm(x)
        return x

    def compute_output_spec(self, *args, **kwargs):
        return traced_output_spec(self, *args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "intermediate_dim": self.intermediate_dim,
                "num_heads": self.num_heads,
                "dropout": self.dropout,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "normalize_first": self.normalize_first,
                "score": self.score,
                "window": self.window,
                "hard": self.hard,
            }
        )
        return config
