"""Small bridges to Keras internals (private)."""

try:  # Keras 3 keeps the implicit-mask accessors in its backend package.
    from keras.src.backend import get_keras_mask
except ImportError:  # pragma: no cover - defensive, older layouts

    def get_keras_mask(x):
        return getattr(x, "_keras_mask", None)


def traced_output_spec(layer, *args, **kwargs):
    """Symbolic outputs from tracing `layer.call` itself.

    Used by layers whose output structure depends on call arguments
    (attention scores, caches), where a shape-only rule would have to
    repeat the call's logic.
    """
    import keras

    return super(keras.layers.Layer, layer).compute_output_spec(*args, **kwargs)
