"""Keras 3 attention layers: `from keras_attn import layers`.

Every class here runs on the TensorFlow, JAX and PyTorch backends (they use
`keras.ops` only), is registered for `.keras` saving under the package name
`keras_attn`, and follows one mask convention: boolean masks, True means
"may attend".
"""

from keras_attn.layers.bert_embedding import BertEmbedding
from keras_attn.layers.bert_pooler import BertPooler
from keras_attn.layers.log_mel_spectrogram import LogMelSpectrogram
from keras_attn.layers.multi_head_attention import MultiHeadAttention
from keras_attn.layers.multi_head_self_attention import MultiHeadSelfAttention
from keras_attn.layers.patch_embedding import PatchEmbedding
from keras_attn.layers.positional_embedding import PositionalEmbedding
from keras_attn.layers.sinusoidal_positional_encoding import (
    SinusoidalPositionalEncoding,
)
from keras_attn.layers.token_embedding import TokenEmbedding
from keras_attn.layers.transformer_decoder import TransformerDecoder
from keras_attn.layers.transformer_encoder import TransformerEncoder
from keras_attn.layers.word_gather import WordGather

__all__ = [
    "BertEmbedding",
    "BertPooler",
    "LogMelSpectrogram",
    "MultiHeadAttention",
    "MultiHeadSelfAttention",
    "PatchEmbedding",
    "PositionalEmbedding",
    "SinusoidalPositionalEncoding",
    "TokenEmbedding",
    "TransformerDecoder",
    "TransformerEncoder",
    "WordGather",
]
