"""BERT's masked-language-model pretraining head, tied to the token table."""

import keras
from keras import ops

from keras_attn import layers
from keras_attn.layers import _validation as check
from keras_attn.layers._activations import get_activation
from keras_attn.models.bert.backbone import initializer as _bert_initializer

_BACKBONE_INPUTS = ("token_ids", "segment_ids", "padding_mask")


@keras.saving.register_keras_serializable(package="keras_attn")
class MaskedLMHead(keras.layers.Layer):
    """Masked-LM head: gather, dense, activation, layer norm, vocabulary.

    Gathers the encoder outputs at `mask_positions`, applies a dense layer
    with `activation` and a layer norm, then projects onto the vocabulary:
    with the transposed table of `token_embedding` when given (weight
    tying; the head then holds the embedding layer itself, not a copy), or
    with its own `(hidden, vocabulary_size)` kernel otherwise; plus a
    learned output bias. The BERT pretraining head
    (`cls.predictions` in Hugging Face checkpoints) and keras-hub's
    `MaskedLMHead`.

    Args:
        vocabulary_size: int or None. Output size; may be None when
            `token_embedding` is given, and must equal its `input_dim`
            otherwise.
        token_embedding: a built or unbuilt `keras.layers.Embedding` (for
            example `BertEmbedding.token_embedding`) whose table is reused,
            transposed, as the output projection; None for an untied
            kernel. A config round trip (`get_config` / `from_config`)
            gives a new, untied copy of it; `bert_masked_lm` models keep
            the tie through `.keras` files.
        activation: the dense layer's activation: a Keras activation name
            or callable, or `"gelu_approximate"`. Defaults to `"gelu"`
            (exact).
        layer_norm_epsilon: float. Defaults to 1e-12 (BERT's value).
        kernel_initializer: initializer of the dense (and untied output)
            kernels. Defaults to a truncated normal with standard deviation
            0.02 (BERT's).
        bias_initializer: initializer of the biases. Defaults to `"zeros"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, sequence, hidden)` encoder output.
        mask_positions: integer `(batch, num_masked)` tensor of positions
            into the sequence axis (each in `[0, sequence)`).

    Returns:
        `(batch, num_masked, vocabulary_size)` logits.

    Example:

    >>> import keras
    >>> import numpy as np
    >>> embedding = keras.layers.Embedding(50, 8)
    >>> head = MaskedLMHead(token_embedding=embedding)
    >>> hidden = np.random.rand(2, 6, 8).astype("float32")
    >>> tuple(head(hidden, np.array([[1, 4], [0, 5]])).shape)
    (2, 2, 50)
    >>> sum(w is embedding.embeddings for w in head.weights)
    1

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019, section 3.1.
          https://arxiv.org/abs/1810.04805
        - Press and Wolf, "Using the Output Embedding to Improve Language
          Models", 2017. https://arxiv.org/abs/1608.05859
    """

    def __init__(
        self,
        vocabulary_size=None,
        token_embedding=None,
        activation="gelu",
        layer_norm_epsilon=1e-12,
        kernel_initializer=None,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if token_embedding is not None:
            if not isinstance(token_embedding, keras.layers.Embedding):
                raise TypeError(
                    "`token_embedding` must be a keras.layers.Embedding or "
                    "None; received "
                    f"{type(token_embedding).__name__}."
                )
            if vocabulary_size not in (None, token_embedding.input_dim):
                raise ValueError(
                    "`vocabulary_size` must equal the input_dim of "
                    f"`token_embedding` ({token_embedding.input_dim}); "
                    f"received vocabulary_size={vocabulary_size!r}."
                )
            vocabulary_size = token_embedding.input_dim
        elif vocabulary_size is None:
            raise ValueError(
                "MaskedLMHead needs `vocabulary_size` or `token_embedding`; "
                "received neither."
            )
        self.vocabulary_size = check.positive_int(
            "vocabulary_size", vocabulary_size
        )
        self.token_embedding = token_embedding
        self.activation = get_activation(activation)
        self.layer_norm_epsilon = check.positive_float(
            "layer_norm_epsilon", layer_norm_epsilon
        )
        if kernel_initializer is None:
            kernel_initializer = _bert_initializer()
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def _fresh(self, initializer):
        return keras.initializers.get(keras.initializers.serialize(initializer))

    def build(self, inputs_shape, mask_positions_shape=None):
        name = self.__class__.__name__
        check.check_rank(
            name, "inputs", inputs_shape, 3, "(batch, sequence, hidden)"
        )
        if inputs_shape[-1] is None:
            raise ValueError(
                f"{name} needs a known hidden size; received inputs of "
                f"shape {check.shape_str(inputs_shape)}."
            )
        if mask_positions_shape is not None:
            check.check_rank(
                name,
                "mask_positions",
                mask_positions_shape,
                2,
                "(batch, num_masked)",
            )
        if self.token_embedding is not None:
            if not self.token_embedding.built:
                self.token_embedding.build(None)
            features = self.token_embedding.output_dim
        else:
            features = inputs_shape[-1]
        gathered_shape = (inputs_shape[0], None, inputs_shape[-1])
        self.dense = keras.layers.Dense(
            features,
            activation=self.activation,
            kernel_initializer=self._fresh(self.kernel_initializer),
            bias_initializer=self._fresh(self.bias_initializer),
            dtype=self.dtype_policy,
            name="dense",
        )
        self.dense.build(gathered_shape)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon,
            dtype=self.dtype_policy,
            name="layer_norm",
        )
        self.layer_norm.build(gathered_shape[:-1] + (features,))
        if self.token_embedding is None:
            self.output_kernel = self.add_weight(
                name="output_kernel",
                shape=(features, self.vocabulary_size),
                initializer=self._fresh(self.kernel_initializer),
            )
        self.output_bias = self.add_weight(
            name="output_bias",
            shape=(self.vocabulary_size,),
            initializer=self._fresh(self.bias_initializer),
        )
        self.built = True

    def call(self, inputs, mask_positions):
        dtype = keras.backend.standardize_dtype(mask_positions.dtype)
        if "int" not in dtype:
            raise TypeError(
                f"{self.__class__.__name__} expects integer "
                f"`mask_positions`; received dtype {dtype}."
            )
        index = ops.expand_dims(mask_positions, axis=-1)  # (B, M, 1)
        x = ops.take_along_axis(inputs, index, axis=1)  # (B, M, H)
        x = self.dense(x)  # (B, M, D), activation included
        x = self.layer_norm(x)  # (B, M, D)
        if self.token_embedding is not None:
            table = ops.cast(self.token_embedding.embeddings, x.dtype)
            logits = ops.matmul(x, ops.transpose(table))  # (B, M, V)
        else:
            kernel = ops.cast(self.output_kernel, x.dtype)
            logits = ops.matmul(x, kernel)  # (B, M, V)
        return logits + ops.cast(self.output_bias, x.dtype)  # (B, M, V)

    def compute_output_shape(self, inputs_shape, mask_positions_shape):
        return tuple(mask_positions_shape) + (self.vocabulary_size,)

    def get_config(self):
        config = super().get_config()
        embedding = None
        if self.token_embedding is not None:
            embedding = keras.layers.serialize(self.token_embedding)
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "token_embedding": embedding,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("token_embedding") is not None:
            config["token_embedding"] = keras.layers.deserialize(
                config["token_embedding"]
            )
        return cls(**config)


def _bert_embedding(backbone):
    """The backbone's `BertEmbedding` layer; checks the backbone's shape."""
    if not isinstance(backbone, keras.Model):
        raise TypeError(
            "`backbone` must be a keras.Model from bert_backbone, load_bert "
            f"or from_keras_hub; received {type(backbone).__name__}."
        )
    inputs = backbone.input
    if not isinstance(inputs, dict) or sorted(inputs) != sorted(
        _BACKBONE_INPUTS
    ):
        received = [tensor.name for tensor in backbone.inputs]
        if isinstance(inputs, dict):
            received = sorted(inputs)
        raise ValueError(
            f"`backbone` must take a dict of {list(_BACKBONE_INPUTS)}; "
            f"received a model with inputs {received}."
        )
    outputs = backbone.output
    if not isinstance(outputs, dict) or "sequence_output" not in outputs:
        received = f"{len(backbone.outputs)} unnamed output(s)"
        if isinstance(outputs, dict):
            received = sorted(outputs)
        raise ValueError(
            "`backbone` must output a dict with 'sequence_output'; received "
            f"a model with outputs {received}."
        )
    embedding = next(
        (
            layer
            for layer in backbone.layers
            if isinstance(layer, layers.BertEmbedding)
        ),
        None,
    )
    if embedding is None:
        raise ValueError(
            "`backbone` must contain a BertEmbedding layer whose token "
            f"table the head reuses; received {backbone.name!r} with layers "
            f"{[layer.name for layer in backbone.layers]}."
        )
    return embedding


def _backbone_activation(backbone):
    """The feed-forward activation of the backbone's encoder blocks."""
    for layer in backbone.layers:
        if isinstance(layer, layers.TransformerEncoder):
            return layer.activation
    return "gelu"


def masked_lm_graph(backbone, activation=None, layer_norm_epsilon=None):
    """`(inputs, logits, head)`: the backbone's inputs plus
    `mask_positions`, the tied head's logits `(batch, masked, vocabulary)`
    and the `MaskedLMHead`. What `BertMaskedLM` and the `MaskedLM` task
    share; None takes the backbone's activation and epsilon."""
    embedding = _bert_embedding(backbone)
    if activation is None:
        activation = _backbone_activation(backbone)
    if layer_norm_epsilon is None:
        layer_norm_epsilon = embedding.layer_norm_epsilon
    head = MaskedLMHead(
        token_embedding=embedding.token_embedding,
        activation=activation,
        layer_norm_epsilon=layer_norm_epsilon,
        kernel_initializer=_bert_initializer(),
        dtype=backbone.dtype_policy,
        name="masked_lm_head",
    )
    inputs = dict(backbone.input)
    inputs["mask_positions"] = keras.Input(
        (None,), dtype="int32", name="mask_positions"
    )
    sequence = backbone(backbone.input)["sequence_output"]  # (B, T, D)
    logits = head(sequence, inputs["mask_positions"])  # (B, M, V)
    return inputs, logits, head


@keras.saving.register_keras_serializable(package="keras_attn")
class BertMaskedLM(keras.Model):
    """A BERT backbone with a tied `MaskedLMHead`; what `bert_masked_lm`
    returns.

    A functional model whose config is its backbone plus the head's
    activation and epsilon, so that a `.keras` file rebuilds the head on
    the reloaded backbone's token table: the tie survives saving.

    Args:
        backbone: a model from `bert_backbone`, `load_bert` or
            `from_keras_hub`.
        activation: the head's dense activation; None takes the
            backbone's feed-forward activation.
        layer_norm_epsilon: float or None; None takes the backbone's.
        **kwargs: `name`, `trainable`.

    Example:

    >>> from keras_attn.models.bert import bert_backbone
    >>> model = BertMaskedLM(bert_backbone("bert_tiny", vocabulary_size=40))
    >>> model.output_shape
    (None, None, 40)
    """

    def __init__(
        self,
        backbone,
        activation=None,
        layer_norm_epsilon=None,
        **kwargs,
    ):
        inputs, logits, head = masked_lm_graph(
            backbone, activation, layer_norm_epsilon
        )
        super().__init__(inputs, logits, **kwargs)
        self.backbone = backbone
        self.masked_lm_head = head

    def get_config(self):
        head = self.masked_lm_head
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "activation": keras.activations.serialize(head.activation),
            "layer_norm_epsilon": head.layer_norm_epsilon,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(
            config["backbone"]
        )
        return cls(**config)


def bert_masked_lm(
    backbone,
    name="masked_lm",
    activation=None,
    layer_norm_epsilon=None,
):
    """BERT's masked-LM pretraining model: backbone + tied `MaskedLMHead`.

    Inputs (a dict): the backbone's `token_ids`, `segment_ids` and
    `padding_mask`, plus `mask_positions`, int32 `(batch, num_masked)`,
    the positions whose tokens to predict. Output: logits
    `(batch, num_masked, vocabulary_size)` (train with
    `SparseCategoricalCrossentropy(from_logits=True)` on the original ids
    at those positions). The output projection is the backbone's token
    embedding table, transposed: the same variable, so training moves it
    for both the input and the output side. The backbone's pooler is
    unused, and Keras's optimizer warns that it gets no gradients.
    Positions are cast to int32 like the other inputs and should lie in
    `[0, sequence)`: on TensorFlow a larger one raises on CPU (and gives
    zeros on GPU); a negative one counts from the end.

    Args:
        backbone: a model from `bert_backbone`, `load_bert` or
            `from_keras_hub`.
        name: str. The model's name.
        activation: the head's dense activation; None (default) takes the
            backbone's feed-forward activation, as BERT and Hugging Face
            do. keras-hub's `BertMaskedLM` uses `"gelu"` here (while its
            backbone uses the tanh approximation).
        layer_norm_epsilon: float or None; None (default) takes the
            backbone's (1e-12 for BERT). keras-hub's `BertMaskedLM` uses
            1e-5.

    Returns:
        `BertMaskedLM`, a functional keras.Model.

    Example:

    >>> import numpy as np
    >>> from keras_attn.models.bert import bert_backbone
    >>> backbone = bert_backbone("bert_tiny", vocabulary_size=100)
    >>> model = bert_masked_lm(backbone)
    >>> ids = np.array([[2, 7, 4, 9, 3, 0]], "int32")
    >>> logits = model({"token_ids": ids, "segment_ids": 0 * ids,
    ...                 "padding_mask": ids != 0,
    ...                 "mask_positions": np.array([[2]], "int32")})
    >>> tuple(logits.shape)
    (1, 1, 100)
    >>> table = backbone.get_layer("embeddings").embeddings
    >>> sum(w is table for w in model.trainable_weights)
    1

    References:
        - Devlin et al., "BERT: Pre-training of Deep Bidirectional
          Transformers for Language Understanding", 2019.
          https://arxiv.org/abs/1810.04805
    """
    return BertMaskedLM(
        backbone,
        activation=activation,
        layer_norm_epsilon=layer_norm_epsilon,
        name=name,
    )
