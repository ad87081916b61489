"""SavedModel and LiteRT export of `keras_attn` models.

Installed as `keras_attn.export`. The exporters are tracked in the project's
export issue; nothing is exported yet.
"""

__all__ = []
