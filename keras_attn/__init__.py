"""keras_attn: reusable Keras 3 attention layers and the models they make."""

__version__ = "0.1.0"

from keras_attn import layers  # noqa: E402

__all__ = ["layers", "__version__"]
