"""Kept for old imports: moved to `keras_attn.models.translator.text`.

The `Translator` class (text in, text out) and its tokenizer trainer live
in `keras_attn.models.translator` since issue 18; new code imports them
from there (or from `keras_attn.models`).
"""

from keras_attn.models.translator.text import END_ID
from keras_attn.models.translator.text import PAD_ID
from keras_attn.models.translator.text import START_ID
from keras_attn.models.translator.text import UNKNOWN_ID
from keras_attn.models.translator.text import Translator
from keras_attn.models.translator.text import _to_str
from keras_attn.models.translator.text import train_translation_tokenizer
from keras_attn.models.translator.text import trim_batch

_trim = trim_batch

__all__ = [
    "END_ID",
    "PAD_ID",
    "START_ID",
    "UNKNOWN_ID",
    "Translator",
    "train_translation_tokenizer",
    "_to_str",
]
