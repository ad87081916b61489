"""How Keras's layer normalization is traced for int8 `.tflite` files
(private).

Keras's `LayerNormalization` traces `ops.moments` (a SQUARED_DIFFERENCE)
and folds the mean into the shift with a NEG. In a full-int8 file those
two run slowly: an all-MiniLM-L6-v2 classifier at sequence 64 took
9.7 ms per call with them and 7.3 ms without (2 threads). While a model
is traced for a full-int8 file, `quantizable_layer_norm()` makes the
layer trace the same arithmetic as

    centered = x - mean(x)
    y = (centered * gamma) * rsqrt(mean(centered * centered) + epsilon) + beta

(SUB, MUL, MEAN, ADD, RSQRT). gamma comes before the per-token scale: it
is small on the few outlier channels of a BERT's residual stream, so
`centered * gamma` is no wider than the input. (`centered * centered` is
wider, but only its mean is used, and the outlier channels dominate that
mean in float32 too.)
The layer's weights and config are unchanged, and outside the context so
are its results; inside it they differ from Keras's by rounding only.
"""

import contextlib
import threading

import keras
from keras import ops

_LOCK = threading.Lock()


def _normalize(layer, inputs):
    x = ops.cast(inputs, "float32")
    mean = ops.mean(x, axis=-1, keepdims=True)
    centered = x - mean
    variance = ops.mean(centered * centered, axis=-1, keepdims=True)
    outputs = centered
    if layer.gamma is not None:
        # gamma first: it is small on the few outlier channels, so this
        # product is no wider than the input (see the module doc).
        outputs = outputs * ops.cast(layer.gamma, "float32")
    outputs = outputs * ops.rsqrt(variance + layer.epsilon)
    if layer.beta is not None:
        outputs = outputs + ops.cast(layer.beta, "float32")
    return ops.cast(outputs, layer.compute_dtype)


def _last_axis_only(layer, inputs):
    axis = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    rank = len(inputs.shape)
    return [a % rank for a in axis] == [rank - 1]


@contextlib.contextmanager
def quantizable_layer_norm():
    """Traces `keras.layers.LayerNormalization` as described above."""
    original = keras.layers.LayerNormalization.call

    def call(self, inputs):
        if self.rms_scaling or not _last_axis_only(self, inputs):
            return original(self, inputs)
        return _normalize(self, inputs)

    with _LOCK:
        keras.layers.LayerNormalization.call = call
        try:
            yield
        finally:
            keras.layers.LayerNormalization.call = original
