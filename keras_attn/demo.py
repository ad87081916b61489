"""Kept for old imports: moved to `keras_attn.apps.demo`.

The quick-start demo is an application (floor 5) since issue 18; new
code imports it from `keras_attn.apps.demo`.
"""

from keras_attn.apps.demo import DIGITS_RECIPE
from keras_attn.apps.demo import format_table
from keras_attn.apps.demo import load_digits_split
from keras_attn.apps.demo import minilm_checkpoint
from keras_attn.apps.demo import plot_digit_attention
from keras_attn.apps.demo import plot_training
from keras_attn.apps.demo import run
from keras_attn.apps.demo import run_text
from keras_attn.apps.demo import train_vit_digits

__all__ = [
    "DIGITS_RECIPE",
    "format_table",
    "load_digits_split",
    "minilm_checkpoint",
    "plot_digit_attention",
    "plot_training",
    "run",
    "run_text",
    "train_vit_digits",
]
