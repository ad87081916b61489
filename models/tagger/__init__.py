"""Sequence labelling (one label per word): a BERT tagger.

- `heads`: `bert_token_classifier` (per-word logits from each word's
  first piece);
- `words`: words to word pieces, rows for the network, windows for long
  sentences;
- `task`: `TokenClassifier` (fit and predict on lists of words).
"""

from keras_attn.models.tagger.heads import bert_token_classifier
from keras_attn.models.tagger.task import TokenClassifier
from keras_attn.models.tagger.words import word_windows

__all__ = ["bert_token_classifier", "TokenClassifier", "word_windows"]
