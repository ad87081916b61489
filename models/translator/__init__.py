"""The Transformer translator: presets, the model, decoding, text in/out.

Serves the old module path `keras_attn.models.translator` too (the
builder, its presets and `embed` lived in one `translator.py`).

- `presets`: `TRANSLATOR_PRESETS`, `translator_config`;
- `model`: `TransformerTranslator` (a functional model whose layers are
  attributes by role), `transformer_translator`, `translator_encoder`;
- `parts`: `TranslatorParts` (the encoder pass, the full decoder pass and
  the cached decoder step, every layer call through one `call` hook) and
  `embed`;
- `decoding`: `greedy_decode`, `beam_search` and the loop `greedy_tokens`;
- `text`: `Translator` (SentencePiece text in and out, save and load) and
  `train_translation_tokenizer`.
"""

from keras_attn.models.translator.decoding import beam_search
from keras_attn.models.translator.decoding import greedy_decode
from keras_attn.models.translator.decoding import greedy_tokens
from keras_attn.models.translator.model import TransformerTranslator
from keras_attn.models.translator.model import transformer_translator
from keras_attn.models.translator.model import translator_encoder
from keras_attn.models.translator.parts import TranslatorParts
from keras_attn.models.translator.parts import embed
from keras_attn.models.translator.presets import TRANSLATOR_DEFAULTS
from keras_attn.models.translator.presets import TRANSLATOR_PRESETS
from keras_attn.models.translator.presets import translator_config
from keras_attn.models.translator.text import END_ID
from keras_attn.models.translator.text import PAD_ID
from keras_attn.models.translator.text import START_ID
from keras_attn.models.translator.text import UNKNOWN_ID
from keras_attn.models.translator.text import Translator
from keras_attn.models.translator.text import train_translation_tokenizer
from keras_attn.models.translator.text import trim_batch

__all__ = [
    "END_ID",
    "PAD_ID",
    "START_ID",
    "TRANSLATOR_DEFAULTS",
    "TRANSLATOR_PRESETS",
    "TransformerTranslator",
    "Translator",
    "TranslatorParts",
    "UNKNOWN_ID",
    "beam_search",
    "embed",
    "greedy_decode",
    "greedy_tokens",
    "train_translation_tokenizer",
    "transformer_translator",
    "translator_config",
    "translator_encoder",
    "trim_batch",
]
