"""keras_attn: reusable Keras 3 attention layers and the models they make."""

__version__ = "0.1.0"

from keras_attn import layers  # noqa: E402
from keras_attn.errors import CorruptModelError  # noqa: E402
from keras_attn.saving import load_model  # noqa: E402

__all__ = ["CorruptModelError", "layers", "load_model", "__version__"]
