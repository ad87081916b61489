"""Models assembled from `keras_attn.layers`, installed as `keras_attn.models`.

So far: the BERT backbone with its presets, and conversion of keras-hub's
`BertBackbone`. The translator, ViT, task heads, preprocessing and
checkpoint loading are still to come (the project's models issue).
"""

from keras_attn.models.bert import BERT_PRESETS
from keras_attn.models.bert import bert_backbone
from keras_attn.models.bert import bert_config
from keras_attn.models.keras_hub_conversion import from_keras_hub

__all__ = ["BERT_PRESETS", "bert_backbone", "bert_config", "from_keras_hub"]
