"""Kept for old imports: moved to `keras_attn.models.bert.huggingface`.

New code imports `load_bert` from `keras_attn.models` (or
`keras_attn.models.bert`).
"""

from keras_attn.models.bert.huggingface import load_bert

__all__ = ["load_bert"]
