"""Models assembled from `keras_attn.layers`, installed as `keras_attn.models`.

BERT (backbone, presets, classifier, sentence-embedding and masked-LM heads,
loading a local Hugging Face folder and its tokenizer), the Transformer
translator with greedy and beam-search decoding and the RNN
encoder-decoder with additive attention beside it, the Vision Transformer
with position-table resizing, an audio classifier (a log-mel front end
inside the model, or precomputed frames with a padding mask), conversion
from keras-hub, and attention maps from every model; and task models
(`TextClassifier`, `SentenceEmbedder`, `MaskedLM`, `ImageClassifier`,
`TokenClassifier`, `AudioClassifier`: backbone + preprocessor + head, as
keras-hub's tasks) that fit and predict on strings, pixels and waveforms,
with `load_task` for `.keras` files and `keras-attn train` run folders.

One folder per family: `bert/`, `vit/`, `translator/`, `rnn/`, `tagger/`,
`audio/`; `attention.py` (attention maps of any of them),
`keras_hub_conversion.py` (one table of converters) and `_common.py` (what
the builders share) beside them.
Floor 2: these modules import `keras_attn.layers`, `keras_attn.errors` and
`keras_attn._keras_file`, never the floors above.
"""

from keras_attn.models.attention import attention_maps
from keras_attn.models.attention import attention_model
from keras_attn.models.audio import AUDIO_PRESETS
from keras_attn.models.audio import AudioClassifier
from keras_attn.models.audio import audio_backbone
from keras_attn.models.audio import audio_classifier
from keras_attn.models.audio import audio_config
from keras_attn.models.audio import audio_preprocessor
from keras_attn.models.bert import BERT_PRESETS
from keras_attn.models.bert import BertMaskedLM
from keras_attn.models.bert import MaskedLM
from keras_attn.models.bert import MaskedLMHead
from keras_attn.models.bert import SentenceEmbedder
from keras_attn.models.bert import TextClassifier
from keras_attn.models.bert import bert_backbone
from keras_attn.models.bert import bert_config
from keras_attn.models.bert import bert_masked_lm
from keras_attn.models.bert import bert_preprocessor
from keras_attn.models.bert import bert_sentence_embedder
from keras_attn.models.bert import bert_text_classifier
from keras_attn.models.bert import load_bert
from keras_attn.models.bert import load_bert_preprocessor
from keras_attn.models.keras_hub_conversion import from_keras_hub
from keras_attn.models.rnn import RNN_TRANSLATOR_PRESETS
from keras_attn.models.rnn import RNNTranslator
from keras_attn.models.rnn import rnn_translator
from keras_attn.models.rnn import translation_alignment
from keras_attn.models.rnn import word_alignment
from keras_attn.models.tagger import TokenClassifier
from keras_attn.models.tagger import bert_token_classifier
from keras_attn.models.tasks import load_task
from keras_attn.models.translator import TRANSLATOR_PRESETS
from keras_attn.models.translator import Translator
from keras_attn.models.translator import beam_search
from keras_attn.models.translator import greedy_decode
from keras_attn.models.translator import train_translation_tokenizer
from keras_attn.models.translator import transformer_translator
from keras_attn.models.translator import translator_config
from keras_attn.models.translator import translator_encoder
from keras_attn.models.vit import VIT_PRESETS
from keras_attn.models.vit import ImageClassifier
from keras_attn.models.vit import image_preprocessor
from keras_attn.models.vit import vit_backbone
from keras_attn.models.vit import vit_classifier
from keras_attn.models.vit import vit_config
from keras_attn.models.vit import vit_resize

# isort: split
# The modules of the flat layout before issue 18, kept for old imports;
# imported here so that `keras_attn.models.translation` and the like stay
# reachable as attributes too.
from keras_attn.models import bert_preprocessing  # noqa: F401
from keras_attn.models import decoding  # noqa: F401
from keras_attn.models import hf_bert  # noqa: F401
from keras_attn.models import masked_lm  # noqa: F401
from keras_attn.models import translation  # noqa: F401

__all__ = [
    "attention_maps",
    "attention_model",
    "AUDIO_PRESETS",
    "AudioClassifier",
    "audio_backbone",
    "audio_classifier",
    "audio_config",
    "audio_preprocessor",
    "BERT_PRESETS",
    "bert_backbone",
    "bert_config",
    "bert_masked_lm",
    "bert_preprocessor",
    "BertMaskedLM",
    "bert_sentence_embedder",
    "bert_text_classifier",
    "bert_token_classifier",
    "from_keras_hub",
    "ImageClassifier",
    "image_preprocessor",
    "load_task",
    "load_bert",
    "load_bert_preprocessor",
    "MaskedLM",
    "MaskedLMHead",
    "SentenceEmbedder",
    "TextClassifier",
    "TokenClassifier",
    "RNN_TRANSLATOR_PRESETS",
    "RNNTranslator",
    "rnn_translator",
    "translation_alignment",
    "word_alignment",
    "beam_search",
    "greedy_decode",
    "TRANSLATOR_PRESETS",
    "train_translation_tokenizer",
    "transformer_translator",
    "Translator",
    "translator_config",
    "translator_encoder",
    "VIT_PRESETS",
    "vit_backbone",
    "vit_classifier",
    "vit_config",
    "vit_resize",
]
