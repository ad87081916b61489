"""Small bridges to Keras internals (private)."""

from keras_attn._compat import get_keras_mask

__all__ = ["get_keras_mask", "traced_output_spec"]


def traced_output_spec(layer, *args, **kwargs):
    """Symbolic outputs from tracing `layer.call` itself.

    Used by layers whose output structure depends on call arguments
    (attention scores, caches), where a shape-only rule would have to
    repeat the call's logic.
    """
    import keras

    return super(keras.layers.Layer, layer).compute_output_spec(*args, **kwargs)
