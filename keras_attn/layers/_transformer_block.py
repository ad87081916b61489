"""Shared constructor, sublayer factory and config of the Transformer
encoder and decoder blocks (private)."""

import keras

from keras_attn.layers import _tflite
from keras_attn.layers import _validation as check
from keras_attn.layers._activations import get_activation
from keras_attn.layers._backend import traced_output_spec
from keras_attn.layers.multi_head_attention import MultiHeadAttention


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

    def _attention(self, name, query_shape, value_shape):
        layer = MultiHeadAttention(
            num_heads=self.num_heads,
            key_dim=query_shape[-1] // self.num_heads,
            dropout=self.dropout,
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
        scales = _tflite.residual_scales(self)
        if scales is not None and self._residual_can_be_scaled():
            return self._feedforward_for_integer_files(x, scales)
        residual = x
        if self.normalize_first:
            x = self.feedforward_layer_norm(x)
        x = self.feedforward_intermediate_dense(x)  # (B, T, intermediate)
        x = self.feedforward_output_dense(x)  # (B, T, D)
        x = self.feedforward_dropout(x, training=training)
        x = x + residual
        if not self.normalize_first:
            if _tflite.observing_now() and self._residual_can_be_scaled():
                _tflite.observe(self, x)
            x = self.feedforward_layer_norm(x)
        return x

    def _residual_can_be_scaled(self):
        """Whether `_feedforward_for_integer_files` computes what this
        block computes: post-norm, float32, a plain output projection and
        a layer normalization over the last axis."""
        dense = self.feedforward_output_dense
        norm = self.feedforward_layer_norm
        axis = (
            norm.axis if isinstance(norm.axis, (list, tuple)) else [norm.axis]
        )
        return (
            not self.normalize_first
            and self.compute_dtype == "float32"
            and dense.activation is keras.activations.linear
            and getattr(dense, "quantization_mode", None) is None
            and not getattr(dense, "lora_enabled", False)
            and not norm.rms_scaling
            and list(axis) in ([-1], [2])
        )

    def _feedforward_for_integer_files(self, x, scales):
        """The post-norm feed-forward sub-block as traced for a full-int8
        `.tflite` file: the same function, in a form that quantizes.

        A trained BERT's feed-forward output has a few channels hundreds
        of times larger than the rest (Bondarenko et al., 2021), and in
        an int8 tensor with one scale the other channels of the residual
        sum round to a few steps. Here the sum is computed divided by
        `scales` (one per channel, 1 except on the wide channels): the
        division is folded into the output projection's weights and
        applied to the residual, and layer normalization takes its
        statistics with the scales put back,

            z = (x + f) / s
            mean = (sum(z) + sum((s - 1) * z)) / n
            c = z - mean / s                       # (x + f - mean) / s
            var = (sum(c^2) + sum((s^2 - 1) * c^2)) / n
            y = (c * rsqrt(var + eps)) * (gamma * s) + beta

        The sums weighted by s - 1 and s^2 - 1 are matrix products whose
        weights are 0 on the ordinary channels.
        """
        from keras import ops

        dense = self.feedforward_output_dense
        norm = self.feedforward_layer_norm
        inverse = (1.0 / scales).astype("float32")
        size = scales.shape[0]
        hidden = self.feedforward_intermediate_dense(x)
        f = ops.matmul(hidden, ops.convert_to_tensor(dense.kernel) * inverse)
        if dense.bias is not None:
            f = f + ops.convert_to_tensor(dense.bias) * inverse
        z = f + x * inverse
        mean = ops.mean(z, axis=-1, keepdims=True) + ops.matmul(
            z, ((scales - 1.0) / size)[:, None]
        )
        centered = z - mean * inverse
        squares = centered * centered
        variance = ops.mean(squares, axis=-1, keepdims=True) + ops.matmul(
            squares, ((scales * scales - 1.0) / size)[:, None]
        )
        outputs = centered * ops.rsqrt(variance + norm.epsilon)
        gamma = scales if norm.gamma is None else norm.gamma * scales
        outputs = outputs * gamma
        if norm.beta is not None:
            outputs = outputs + norm.beta
        return outputs

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
            }
        )
        return config
