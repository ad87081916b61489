"""Kept for old imports: moved to `keras_attn.models.bert.preprocessing`.

New code imports `load_bert_preprocessor` from `keras_attn.models` (or
`keras_attn.models.bert`).
"""

from keras_attn.models.bert.preprocessing import BertWordPieceTokenizer
from keras_attn.models.bert.preprocessing import load_bert_preprocessor

__all__ = ["BertWordPieceTokenizer", "load_bert_preprocessor"]
