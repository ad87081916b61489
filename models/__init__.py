"""Model builders assembled from `keras_attn.layers` (BERT, translator, ViT).

Installed as `keras_attn.models`. The builders, presets and weight import are
tracked in the project's models issue; nothing is exported yet.
"""

__all__ = []
