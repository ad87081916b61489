"""The RNN encoder-decoder translator with additive attention.

Bahdanau, Cho and Bengio (2015): a bidirectional GRU encoder and a GRU
decoder that attends with the additive score. A model family of its own
beside the Transformer translator, with the same inputs and output, so
that the `Translator` wrapper, greedy and beam decoding and the on-device
export take either.

- `presets`: `RNN_TRANSLATOR_PRESETS`, `rnn_translator_config`;
- `decoder`: `AdditiveAttentionDecoder` (the first state, the attention
  and the GRU cell, with the one `step` training and decoding share);
- `parts`: `RNNTranslatorParts` (what the decoders and the exporter run);
- `model`: `RNNTranslator`, `rnn_translator`, `attention_weights`;
- `alignment`: `translation_alignment`, `word_alignment`,
  `draw_alignment` (the paper's alignment picture).
"""

from keras_attn.models.rnn.alignment import draw_alignment
from keras_attn.models.rnn.alignment import translation_alignment
from keras_attn.models.rnn.alignment import word_alignment
from keras_attn.models.rnn.decoder import AdditiveAttentionDecoder
from keras_attn.models.rnn.model import RNNTranslator
from keras_attn.models.rnn.model import attention_weights
from keras_attn.models.rnn.model import rnn_translator
from keras_attn.models.rnn.parts import RNNTranslatorParts
from keras_attn.models.rnn.parts import maxout
from keras_attn.models.rnn.presets import RNN_TRANSLATOR_DEFAULTS
from keras_attn.models.rnn.presets import RNN_TRANSLATOR_PRESETS
from keras_attn.models.rnn.presets import rnn_translator_config

__all__ = [
    "AdditiveAttentionDecoder",
    "RNNTranslator",
    "RNNTranslatorParts",
    "RNN_TRANSLATOR_DEFAULTS",
    "RNN_TRANSLATOR_PRESETS",
    "attention_weights",
    "draw_alignment",
    "maxout",
    "rnn_translator",
    "rnn_translator_config",
    "translation_alignment",
    "word_alignment",
]
