"""The Vision Transformer: backbone, classifier, presets, resizing and
keras-hub conversion.

Serves the old module path `keras_attn.models.vit` too (all of it lived
in one `vit.py`).

- `presets`: `VIT_PRESETS`, `vit_config`;
- `backbone`: `vit_backbone`;
- `classifier`: `vit_classifier`;
- `resize`: `vit_resize` (the position table interpolated);
- `keras_hub_conversion`: `vit_from_keras_hub`;
- `task`: `ImageClassifier` (fit and predict on pixels),
  `image_preprocessor`.
"""

from keras_attn.models.vit.backbone import vit_backbone
from keras_attn.models.vit.classifier import vit_classifier
from keras_attn.models.vit.keras_hub_conversion import vit_from_keras_hub
from keras_attn.models.vit.presets import VIT_DEFAULTS
from keras_attn.models.vit.presets import VIT_PRESETS
from keras_attn.models.vit.presets import vit_config
from keras_attn.models.vit.resize import vit_resize
from keras_attn.models.vit.task import ImageClassifier
from keras_attn.models.vit.task import image_preprocessor

__all__ = [
    "ImageClassifier",
    "image_preprocessor",
    "VIT_DEFAULTS",
    "VIT_PRESETS",
    "vit_backbone",
    "vit_classifier",
    "vit_config",
    "vit_from_keras_hub",
    "vit_resize",
]
