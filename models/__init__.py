"""Models assembled from `keras_attn.layers`, installed as `keras_attn.models`.

So far: the BERT backbone with its presets, loading a local Hugging Face
BERT folder and its tokenizer, and conversion of keras-hub's
`BertBackbone`, BERT task heads, and the ViT classifier. The translator
and the masked-LM head are still to come (the models issue).
"""

from keras_attn.models.bert import BERT_PRESETS
from keras_attn.models.bert import bert_backbone
from keras_attn.models.bert import bert_config
from keras_attn.models.bert import bert_sentence_embedder
from keras_attn.models.bert import bert_text_classifier
from keras_attn.models.bert_preprocessing import load_bert_preprocessor
from keras_attn.models.hf_bert import load_bert
from keras_attn.models.keras_hub_conversion import from_keras_hub
from keras_attn.models.vit import VIT_PRESETS
from keras_attn.models.vit import vit_backbone
from keras_attn.models.vit import vit_classifier
from keras_attn.models.vit import vit_config

__all__ = [
    "BERT_PRESETS",
    "bert_backbone",
    "bert_config",
    "bert_sentence_embedder",
    "bert_text_classifier",
    "from_keras_hub",
    "load_bert",
    "load_bert_preprocessor",
    "VIT_PRESETS",
    "vit_backbone",
    "vit_classifier",
    "vit_config",
]
