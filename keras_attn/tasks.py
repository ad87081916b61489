"""Kept for old imports: moved to `keras_attn.apps.jobs`.

The training jobs behind `keras-attn train` are applications (floor 5)
since issue 18, and named jobs: keras-hub's "tasks" are model heads. New
code imports them from `keras_attn.apps.jobs`.
"""

from keras_attn.apps.jobs import SPECIAL_TOKENS  # noqa: F401
from keras_attn.apps.jobs import train_text_classifier
from keras_attn.apps.jobs import train_translator
from keras_attn.apps.jobs import train_vit

__all__ = ["train_text_classifier", "train_translator", "train_vit"]
