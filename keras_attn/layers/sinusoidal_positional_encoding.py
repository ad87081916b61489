import keras
import numpy as np
from keras import ops

from keras_attn.layers import _validation as check


@keras.saving.register_keras_serializable(package="keras_attn")
class SinusoidalPositionalEncoding(keras.layers.Layer):
    """The fixed sine/cosine position encoding of the Transformer.

    For position `p` and channel `c` of a `hidden`-wide input,
    `angle = p / max_wavelength ** (2 * (c // 2) / hidden)`; even channels
    hold `sin(angle)` and odd channels `cos(angle)`. There are no weights and
    no length limit.

    Args:
        max_wavelength: float. The longest wavelength, `10000` in the paper.
            Defaults to 10000.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: `(batch, T, hidden)` tensor; only its shape is used.
        start_index: int or scalar tensor. Position of the first element,
            for incremental decoding. Defaults to 0.

    Returns:
        `(batch, T, hidden)` tensor of encodings, to add to embeddings.

    Masking:
        The encodings do not depend on the tokens; the input's mask passes
        through unchanged.

    Example:

    >>> import numpy as np
    >>> layer = SinusoidalPositionalEncoding()
    >>> enc = layer(np.zeros((1, 3, 4), "float32"))
    >>> [round(float(v), 3) for v in np.asarray(enc)[0, 1]]
    [0.841, 0.54, 0.01, 1.0]

    References:
        - Vaswani et al., "Attention Is All You Need", 2017, section 3.5.
          https://arxiv.org/abs/1706.03762
    """

    def __init__(self, max_wavelength=10000, **kwargs):
        super().__init__(**kwargs)
        self.max_wavelength = check.positive_float(
            "max_wavelength", max_wavelength
        )
        self.supports_masking = True

    def build(self, inputs_shape):
        check.check_rank(
            self.__class__.__name__,
            "inputs",
            inputs_shape,
            3,
            "(batch, sequence_length, hidden)",
        )
        if inputs_shape[-1] is None:
            raise ValueError(
                f"{self.__class__.__name__} needs a known hidden size; "
                f"received shape {check.shape_str(inputs_shape)}."
            )
        self.built = True

    def _inverse_timescales(self, hidden):
        # Computed in float64 once, so each float32 entry is correctly
        # rounded; the call then rounds only the product and the sine.
        channels = np.arange(hidden)
        exponent = (2 * (channels // 2)).astype("float64") / hidden
        return np.power(float(self.max_wavelength), -exponent).astype("float32")

    def call(self, inputs, start_index=0):
        hidden = inputs.shape[-1]
        length = inputs.shape[1]
        if length is None:
            length = ops.shape(inputs)[1]
        positions = ops.cast(
            ops.arange(length) + ops.cast(start_index, "int32"), "float32"
        )  # (T,)
        angles = positions[:, None] * self._inverse_timescales(hidden)
        even = np.arange(hidden) % 2 == 0
        encoding = ops.where(even, ops.sin(angles), ops.cos(angles))  # (T, D)
        return ops.broadcast_to(
            ops.cast(encoding, self.compute_dtype), ops.shape(inputs)
        )  # (B, T, D)

    def compute_output_shape(self, inputs_shape):
        return tuple(inputs_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"max_wavelength": self.max_wavelength})
        return config
