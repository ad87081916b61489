import keras

from keras_attn.layers import _validation as check


@keras.saving.register_keras_serializable(package="keras_attn")
class BertPooler(keras.layers.Layer):
    """BERT's pooler: a dense layer with tanh on the first ([CLS]) token.

    Args:
        kernel_initializer: kernel initializer. Defaults to a truncated
            normal with standard deviation 0.02 (BERT's).
        bias_initializer: bias initializer. Defaults to `"zeros"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` sequence output of the encoder.

    Returns:
        `(batch, hidden)` tensor, `tanh(inputs[:, 0] @ W + b)`.

    Masking:
        Consumes the sequence; the pooled output carries no mask.

    Example:

    >>> import numpy as np
    >>> pooler = BertPooler()
    >>> tuple(pooler(np.random.rand(2, 7, 16).astype("float32")).shape)
    (2, 16)

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019.
          https://arxiv.org/abs/1810.04805
    """

    def __init__(
        self, kernel_initializer=None, bias_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        if kernel_initializer is None:
            kernel_initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.supports_masking = True

    def build(self, inputs_shape):
        check.check_rank(
            self.__class__.__name__,
            "inputs",
            inputs_shape,
            3,
            "(batch, sequence_length, hidden)",
        )
        self.dense = keras.layers.Dense(
            inputs_shape[-1],
            activation="tanh",
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build((inputs_shape[0], inputs_shape[-1]))
        self.built = True

    def call(self, inputs):
        return self.dense(inputs[:, 0, :])  # (B, D)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, inputs_shape):
        return (inputs_shape[0], inputs_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config
