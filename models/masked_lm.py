"""Kept for old imports: moved to `keras_attn.models.bert.masked_lm`.

New code imports these from `keras_attn.models` (or
`keras_attn.models.bert`).
"""

from keras_attn.models.bert.masked_lm import BertMaskedLM
from keras_attn.models.bert.masked_lm import MaskedLMHead
from keras_attn.models.bert.masked_lm import bert_masked_lm

__all__ = ["BertMaskedLM", "MaskedLMHead", "bert_masked_lm"]
