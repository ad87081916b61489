import keras
from keras import ops

from keras_attn.layers import _validation as check


@keras.saving.register_keras_serializable(package="keras_attn")
class PositionalEmbedding(keras.layers.Layer):
    """Learned position vectors, one per position up to `sequence_length`.

    Returns the position vectors for the positions of its input, broadcast
    to the input's shape, ready to be added to token embeddings.

    Args:
        sequence_length: int. Number of positions in the table (the longest
            sequence the layer accepts).
        initializer: initializer of the table. Defaults to
            `"glorot_uniform"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` tensor (typically token embeddings);
            only its shape is used.
        start_index: int or scalar tensor. Position of the first element,
            for incremental decoding. Defaults to 0.

    Returns:
        `(batch, T, hidden)` tensor: rows `start_index ... start_index + T - 1`
        of the table.

    Masking:
        The positions do not depend on the tokens; the input's mask passes
        through unchanged.

    Raises:
        ValueError: if `start_index + T` exceeds `sequence_length` (checked
        whenever both are known when the layer is called). A tensor
        `start_index` under XLA cannot be checked; the slice is clamped there.

    Example:

    >>> import numpy as np
    >>> layer = PositionalEmbedding(sequence_length=16)
    >>> tokens = np.random.rand(2, 10, 8).astype("float32")
    >>> tuple((tokens + layer(tokens)).shape)
    (2, 10, 8)

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019.
          https://arxiv.org/abs/1810.04805
    """

    def __init__(self, sequence_length, initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        self.sequence_length = check.positive_int(
            "sequence_length", sequence_length
        )
        self.initializer = keras.initializers.get(initializer)
        self.supports_masking = True

    def _check_length(self, length, start_index=0):
        if length is None or not isinstance(start_index, int):
            return
        if start_index < 0:
            raise ValueError(
                f"`start_index` must be >= 0; received {start_index}."
            )
        if start_index + length > self.sequence_length:
            raise ValueError(
                f"{self.__class__.__name__} holds {self.sequence_length} "
                f"positions (sequence_length={self.sequence_length}), but "
                f"received a sequence of length {length}"
                + (f" starting at {start_index}" if start_index else "")
                + "."
            )

    def build(self, inputs_shape):
        check.check_rank(
            self.__class__.__name__,
            "inputs",
            inputs_shape,
            3,
            "(batch, sequence_length, hidden)",
        )
        self._check_length(inputs_shape[1])
        self.embeddings = self.add_weight(
            name="embeddings",
            shape=(self.sequence_length, inputs_shape[-1]),
            initializer=self.initializer,
        )
        self.built = True

    def call(self, inputs, start_index=0):
        length = inputs.shape[1]
        self._check_length(length, start_index)
        if length is None:
            length = ops.shape(inputs)[1]
        hidden = self.embeddings.shape[-1]
        table = ops.convert_to_tensor(self.embeddings)
        positions = ops.slice(
            table, (start_index, 0), (length, hidden)
        )  # (T, D)
        return ops.broadcast_to(
            ops.cast(positions, self.compute_dtype), ops.shape(inputs)
        )  # (B, T, D)

    def compute_output_shape(self, inputs_shape):
        self._check_length(inputs_shape[1])
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sequence_length": self.sequence_length,
                "initializer": keras.initializers.serialize(self.initializer),
            }
        )
        return config
