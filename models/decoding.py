"""Kept for old imports: moved to `keras_attn.models.translator.decoding`.

`keras_attn.models.decoding` held the decoders and the translator's
layers found by name (`_Parts`); since issue 18 the decoders live in
`keras_attn.models.translator.decoding` and the layers in the model's
`TranslatorParts`. New code imports from there.
"""

from keras_attn.models.translator.decoding import beam_search
from keras_attn.models.translator.decoding import greedy_decode
from keras_attn.models.translator.decoding import greedy_tokens
from keras_attn.models.translator.decoding import length_penalty

__all__ = ["beam_search", "greedy_decode", "greedy_tokens", "length_penalty"]
