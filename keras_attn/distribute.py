"""Kept for old imports: moved to `keras_attn.training.distribute`.

Strategies and precision policies by name belong to training since issue
18; new code imports them from `keras_attn.training.distribute`.
"""

from keras_attn.training.distribute import PRECISIONS
from keras_attn.training.distribute import STRATEGIES
from keras_attn.training.distribute import get_strategy
from keras_attn.training.distribute import is_chief
from keras_attn.training.distribute import precision

__all__ = [
    "PRECISIONS",
    "STRATEGIES",
    "get_strategy",
    "is_chief",
    "precision",
]
