"""BERT: backbone, heads, presets, checkpoint import and preprocessing.

Serves the old module path `keras_attn.models.bert` too (the backbone,
its presets and the two heads lived in one `bert.py`).

- `presets`: `BERT_PRESETS`, `bert_config`;
- `backbone`: `bert_backbone`;
- `heads`: `bert_sentence_embedder`, `bert_text_classifier`;
- `masked_lm`: `MaskedLMHead`, `BertMaskedLM`, `bert_masked_lm`;
- `huggingface`: `load_bert` (a local Hugging Face folder);
- `preprocessing`: `load_bert_preprocessor` (its WordPiece tokenizer);
- `tasks`: `TextClassifier`, `SentenceEmbedder`, `MaskedLM` (fit and
  predict on strings), `bert_preprocessor`;
- `keras_hub_conversion`: `bert_from_keras_hub`.
"""

from keras_attn.models.bert.backbone import bert_backbone
from keras_attn.models.bert.heads import bert_sentence_embedder
from keras_attn.models.bert.heads import bert_text_classifier
from keras_attn.models.bert.huggingface import load_bert
from keras_attn.models.bert.keras_hub_conversion import bert_from_keras_hub
from keras_attn.models.bert.masked_lm import BertMaskedLM
from keras_attn.models.bert.masked_lm import MaskedLMHead
from keras_attn.models.bert.masked_lm import bert_masked_lm
from keras_attn.models.bert.preprocessing import load_bert_preprocessor
from keras_attn.models.bert.presets import BERT_DEFAULTS
from keras_attn.models.bert.presets import BERT_PRESETS
from keras_attn.models.bert.presets import bert_config
from keras_attn.models.bert.tasks import MaskedLM
from keras_attn.models.bert.tasks import SentenceEmbedder
from keras_attn.models.bert.tasks import TextClassifier
from keras_attn.models.bert.tasks import bert_preprocessor

__all__ = [
    "BERT_DEFAULTS",
    "BERT_PRESETS",
    "BertMaskedLM",
    "MaskedLM",
    "MaskedLMHead",
    "SentenceEmbedder",
    "TextClassifier",
    "bert_backbone",
    "bert_config",
    "bert_from_keras_hub",
    "bert_masked_lm",
    "bert_preprocessor",
    "bert_sentence_embedder",
    "bert_text_classifier",
    "load_bert",
    "load_bert_preprocessor",
]
