"""Bahdanau's decoder: a GRU fed by additive attention over the source.

`AdditiveAttentionDecoder` holds the decoder's recurrent part (the first
state, the attention and the GRU cell) and one `step`: the teacher-forced
pass over a whole target (`call`, a `keras.ops.scan` of `step`) and the
token-by-token decoders (`RNNTranslatorParts.decode_step`) run that one
function, so they compute one thing.
"""

import keras
from keras import ops

from keras_attn import layers


def _direct(layer, *args, **kwargs):
    return layer(*args, **kwargs)


@keras.saving.register_keras_serializable(package="keras_attn")
class AdditiveAttentionDecoder(keras.layers.Layer):
    """The recurrent decoder of Bahdanau et al. (2015) with its attention.

    At target step i, with the previous state `s_{i-1}`, the previous
    target token's vector `e_{i-1}` and the encoder's annotations `h_j`
    (the concatenated forward and backward GRU states):

    - scores `e_ij = v^T tanh(W s_{i-1} + U h_j)` over the unpadded source
      positions, weights `alpha_ij = softmax_j(e_ij)` and the context
      `c_i = sum_j alpha_ij h_j`, computed by
      `keras_attn.layers.MultiHeadAttention(num_heads=1, score="additive")`
      (its value and output projections, through `attention_dim` values,
      make the context a learned linear map of `sum_j alpha_ij h_j`, which
      the GRU's input weights absorb; full rank when `attention_dim` is at
      least the annotations' size, as in the presets);
    - the state `s_i = GRU([e_{i-1}; c_i], s_{i-1})` (a `GRUCell` with the
      paper's reset gate, `reset_after=False`);
    - the first state `s_0 = tanh(W_s <-h_1)`, from the backward half of
      the first annotation.

    The output layer (reading `s_i`, `c_i` and `e_{i-1}`) is the
    translator's, outside this layer.

    Args:
        units: int. The decoder GRU's units.
        attention_dim: int. Size of `W s` and `U h` in the score.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        target: `(batch, T, embedding_dim)`, the vectors of the decoder's
            input tokens (the target shifted right).
        annotations: `(batch, S, 2 * encoder_units)`.
        source_mask: optional bool `(batch, S)`, True on real tokens.
        return_weights: bool. Also return the attention weights.

    Returns:
        `(states, contexts)`: `(batch, T, units)` and
        `(batch, T, annotation_dim)`; with `return_weights`, also the
        weights `(batch, T, S)`.

    Example:

    >>> import numpy as np
    >>> decoder = AdditiveAttentionDecoder(units=8, attention_dim=4)
    >>> states, contexts = decoder(np.zeros((2, 3, 5), "float32"),
    ...                            np.ones((2, 7, 6), "float32"))
    >>> tuple(states.shape), tuple(contexts.shape)
    ((2, 3, 8), (2, 3, 6))

    References:
        - Bahdanau, Cho and Bengio, "Neural Machine Translation by Jointly
          Learning to Align and Translate", 2015, appendix A.
          https://arxiv.org/abs/1409.0473
    """

    def __init__(self, units, attention_dim, **kwargs):
        super().__init__(**kwargs)
        for key, value in (("units", units), ("attention_dim", attention_dim)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(
                    f"`{key}` must be a positive int; received {value!r}."
                )
            if value < 1:
                raise ValueError(
                    f"`{key}` must be a positive int; received {value!r}."
                )
        self.units = units
        self.attention_dim = attention_dim

    def build(self, target_shape, annotations_shape, source_mask_shape=None):
        embedding_dim = target_shape[-1]
        annotation_dim = annotations_shape[-1]
        if embedding_dim is None or annotation_dim is None:
            raise ValueError(
                "AdditiveAttentionDecoder needs known last dimensions; "
                f"received target {tuple(target_shape)} and annotations "
                f"{tuple(annotations_shape)}."
            )
        if annotation_dim % 2:
            raise ValueError(
                "The annotations are forward and backward states "
                "concatenated, so their size must be even; received "
                f"{annotation_dim}."
            )
        self.annotation_dim = annotation_dim
        self.initial_state = keras.layers.Dense(
            self.units,
            activation="tanh",
            name="initial_state",
            dtype=self.dtype_policy,
        )
        self.initial_state.build((None, annotation_dim // 2))
        self.attention = layers.MultiHeadAttention(
            num_heads=1,
            key_dim=self.attention_dim,
            output_dim=annotation_dim,
            score="additive",
            name="attention",
            dtype=self.dtype_policy,
        )
        self.attention.build(
            (None, 1, self.units), (None, None, annotation_dim)
        )
        self.cell = keras.layers.GRUCell(
            self.units, reset_after=False, name="cell", dtype=self.dtype_policy
        )
        self.cell.build((None, embedding_dim + annotation_dim))
        self.built = True

    def start(self, annotations, call=None):
        """What a decoding keeps for the whole sentence, computed once.

        Args:
            annotations: `(batch, S, annotation_dim)`.
            call: None, or `call(layer, *args, **kwargs)` for the layer
                call (the first state's `Dense`).

        Returns:
            `(attention_cache, first_state)`: the projected keys and values
            `(batch, 2, S, 1, ...)` (what `MultiHeadAttention` takes as a
            precomputed `cache`) and `s_0` `(batch, units)`.
        """
        call = call or _direct
        # The attention's own projections, as
        # `TransformerDecoder.compute_cross_attention_cache` takes them.
        attention = self.attention
        keys = attention._project(
            annotations, attention.key_kernel, attention.key_bias
        )  # (B, S, 1, A)
        values = attention._project(
            annotations, attention.value_kernel, attention.value_bias
        )  # (B, S, 1, A)
        cache = ops.stack((keys, values), axis=1)  # (B, 2, S, 1, A)
        half = self.annotation_dim // 2
        backward_first = annotations[:, 0, half:]  # (B, C / 2): <-h_1
        return cache, call(self.initial_state, backward_first)

    def step(
        self,
        embedded,
        state,
        annotations,
        source_mask,
        attention_cache,
        call=None,
        return_weights=False,
    ):
        """One decoder step.

        Args:
            embedded: `(batch, embedding_dim)`, the vector of `y_{i-1}`.
            state: `(batch, units)`, `s_{i-1}`.
            annotations: `(batch, S, annotation_dim)`.
            source_mask: bool `(batch, S)` or None.
            attention_cache: from `start`.
            call: None, or `call(layer, *args, **kwargs)` for every layer
                call (the attention and the cell).
            return_weights: bool. Also return `alpha_i` `(batch, S)`.

        Returns:
            `(s_i, c_i)` `(batch, units)`, `(batch, annotation_dim)`; with
            `return_weights`, `(s_i, c_i, alpha_i)`.
        """
        call = call or _direct
        query = state[:, None, :]  # (B, 1, U)
        outputs = call(
            self.attention,
            query,
            annotations,
            padding_mask=source_mask,
            cache=attention_cache,
            return_attention_scores=return_weights,
        )
        context = outputs[0][:, 0, :]  # (B, C)
        cell_input = ops.concatenate([embedded, context], axis=-1)
        new_state, _ = call(self.cell, cell_input, state)  # (B, U)
        if return_weights:
            return new_state, context, outputs[1][:, 0, 0, :]  # (B, S)
        return new_state, context

    def call(self, target, annotations, source_mask=None, return_weights=False):
        cache, first = self.start(annotations)
        steps = ops.transpose(target, (1, 0, 2))  # (T, B, E)

        units, width = self.units, self.annotation_dim
        # The carry is every output of a step side by side, and the
        # stacked outputs are the carries: Keras's TensorFlow `scan` takes
        # only outputs of the carry's shape (Keras 3.15).
        carry = [first, ops.zeros_like(annotations[:, 0, :])]
        if return_weights:
            carry.append(ops.zeros_like(annotations[:, :, 0]))
        carry = ops.concatenate(carry, axis=-1)  # (B, U + C [+ S])

        def body(carry, embedded):
            outputs = self.step(
                embedded,
                carry[:, :units],
                annotations,
                source_mask,
                cache,
                return_weights=return_weights,
            )
            carry = ops.concatenate(outputs, axis=-1)
            return carry, carry

        _, outputs = ops.scan(body, carry, steps)  # (T, B, U + C [+ S])
        outputs = ops.transpose(outputs, (1, 0, 2))  # (B, T, U + C [+ S])
        results = (
            outputs[..., :units],
            outputs[..., units : units + width],
        )
        if return_weights:
            results += (outputs[..., units + width :],)
        return results

    def compute_output_shape(
        self,
        target_shape,
        annotations_shape,
        source_mask_shape=None,
        return_weights=False,
    ):
        batch, length = target_shape[0], target_shape[1]
        shapes = (
            (batch, length, self.units),
            (batch, length, annotations_shape[-1]),
        )
        if return_weights:
            shapes += ((batch, length, annotations_shape[1]),)
        return shapes

    def compute_output_spec(
        self, target, annotations, source_mask=None, return_weights=False
    ):
        shapes = self.compute_output_shape(
            target.shape, annotations.shape, return_weights=return_weights
        )
        return tuple(
            keras.KerasTensor(shape, dtype=self.compute_dtype)
            for shape in shapes
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {"units": self.units, "attention_dim": self.attention_dim}
        )
        return config
