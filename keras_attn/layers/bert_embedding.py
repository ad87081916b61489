import keras
from keras import ops

from keras_attn.layers import _validation as check
from keras_attn.layers.positional_embedding import PositionalEmbedding
from keras_attn.layers.token_embedding import TokenEmbedding


@keras.saving.register_keras_serializable(package="keras_attn")
class BertEmbedding(keras.layers.Layer):
    """BERT's input layer: token + segment + position embeddings, summed,
    then layer norm and dropout.

    Args:
        vocabulary_size: int. Number of token ids.
        hidden_dim: int. Embedding size.
        max_sequence_length: int. Number of learned positions. Defaults to
            512.
        num_segments: int. Number of segment (token type) ids; 0 for none.
            Defaults to 2.
        dropout: float in [0, 1). Defaults to 0.
        layer_norm_epsilon: float. Defaults to 1e-12 (BERT's value).
        embeddings_initializer: initializer of the three tables. Defaults to
            a truncated normal with standard deviation 0.02 (BERT's).
        mask_zero: bool. If True, token id 0 is padding and the output
            carries a Keras mask `token_ids != 0`. Defaults to False.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        token_ids: int `(batch, T)` tensor.
        segment_ids: optional int `(batch, T)` tensor; zeros when omitted.
        start_index: int or scalar tensor; position of the first token.
            Defaults to 0.
        training: bool. Enables dropout.

    Returns:
        `(batch, T, hidden_dim)` tensor.

    Masking:
        With `mask_zero=True` the output carries the implicit mask
        `token_ids != 0`, which the encoder blocks pick up.

    Attributes:
        embeddings: the `(vocabulary_size, hidden_dim)` token table, for
            tying an output (masked-LM) head to it.

    Example:

    >>> import numpy as np
    >>> layer = BertEmbedding(vocabulary_size=100, hidden_dim=16)
    >>> ids = np.array([[2, 7, 9, 3, 0]])
    >>> tuple(layer(ids, segment_ids=np.zeros_like(ids)).shape)
    (1, 5, 16)

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019, section 3.
          https://arxiv.org/abs/1810.04805
    """

    def __init__(
        self,
        vocabulary_size,
        hidden_dim,
        max_sequence_length=512,
        num_segments=2,
        dropout=0.0,
        layer_norm_epsilon=1e-12,
        embeddings_initializer=None,
        mask_zero=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.vocabulary_size = check.positive_int(
            "vocabulary_size", vocabulary_size
        )
        self.hidden_dim = check.positive_int("hidden_dim", hidden_dim)
        self.max_sequence_length = check.positive_int(
            "max_sequence_length", max_sequence_length
        )
        if num_segments != 0:
            check.positive_int("num_segments", num_segments)
        self.num_segments = num_segments
        self.dropout = check.rate("dropout", dropout)
        self.layer_norm_epsilon = check.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon
        )
        if embeddings_initializer is None:
            embeddings_initializer = keras.initializers.TruncatedNormal(
                stddev=0.02
            )
        self.embeddings_initializer = keras.initializers.get(
            embeddings_initializer
        )
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero

    def _initializer(self):
        return keras.initializers.get(
            keras.initializers.serialize(self.embeddings_initializer)
        )

    def build(self, token_ids_shape, segment_ids_shape=None):
        name = self.__class__.__name__
        check.check_rank(
            name, "token_ids", token_ids_shape, 2, "(batch, sequence_length)"
        )
        if segment_ids_shape is not None:
            if self.num_segments == 0:
                raise ValueError(
                    f"{name} was created with num_segments=0; received "
                    "segment_ids of shape "
                    f"{check.shape_str(segment_ids_shape)}."
                )
            check.check_rank(
                name,
                "segment_ids",
                segment_ids_shape,
                2,
                "(batch, sequence_length)",
            )
        embedded_shape = tuple(token_ids_shape) + (self.hidden_dim,)
        self.token_embedding = TokenEmbedding(
            self.vocabulary_size,
            self.hidden_dim,
            ids_name="token_ids",
            embeddings_initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="token_embedding",
        )
        self.token_embedding.build(token_ids_shape)
        self.segment_embedding = None
        if self.num_segments:
            self.segment_embedding = TokenEmbedding(
                self.num_segments,
                self.hidden_dim,
                ids_name="segment_ids",
                embeddings_initializer=self._initializer(),
                dtype=self.dtype_policy,
                name="segment_embedding",
            )
            self.segment_embedding.build(token_ids_shape)
        self.position_embedding = PositionalEmbedding(
            self.max_sequence_length,
            initializer=self._initializer(),
            dtype=self.dtype_policy,
            name="position_embedding",
        )
        self.position_embedding.build(embedded_shape)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="layer_norm",
        )
        self.layer_norm.build(embedded_shape)
        self.dropout_layer = keras.layers.Dropout(
            self.dropout, dtype=self.dtype_policy, name="dropout"
        )
        self.built = True

    @property
    def embeddings(self):
        """The `(vocabulary_size, hidden_dim)` token embedding table."""
        return self.token_embedding.embeddings

    def call(self, token_ids, segment_ids=None, start_index=0, training=None):
        x = self.token_embedding(token_ids)  # (B, T, D)
        if self.segment_embedding is not None:
            if segment_ids is None:
                segment_ids = ops.zeros_like(token_ids)
            x = x + self.segment_embedding(segment_ids)  # (B, T, D)
        x = x + self.position_embedding(x, start_index=start_index)
        x = self.layer_norm(x)
        return self.dropout_layer(x, training=training)  # (B, T, D)

    def compute_mask(self, token_ids, segment_ids=None, mask=None):
        if not self.mask_zero:
            return None
        return ops.not_equal(token_ids, 0)

    def compute_output_shape(self, token_ids_shape, segment_ids_shape=None):
        shape = tuple(token_ids_shape) + (self.hidden_dim,)
        if self.built:
            self.position_embedding.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "hidden_dim": self.hidden_dim,
                "max_sequence_length": self.max_sequence_length,
                "num_segments": self.num_segments,
                "dropout": self.dropout,
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "embeddings_initializer": keras.initializers.serialize(
                    self.embeddings_initializer
                ),
                "mask_zero": self.mask_zero,
            }
        )
        return config
