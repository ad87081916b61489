"""Sound in: an attention audio classifier from raw waveform to label.

A Keyword Transformer / Audio Spectrogram Transformer style model: a
log-mel spectrogram inside the model (`layers.LogMelSpectrogram`), its
frames as tokens (`layers.PatchEmbedding`) with a class token, and the
Transformer encoder; or precomputed frames (MFCCs) of any length with a
padding mask.

- `presets`: `AUDIO_PRESETS`, `audio_config`;
- `backbone`: `audio_backbone`;
- `classifier`: `audio_classifier`;
- `task`: `AudioClassifier` (fit and predict on waveforms),
  `audio_preprocessor` (clips padded or cropped to the model's length).
"""

from keras_attn.models.audio.backbone import audio_backbone
from keras_attn.models.audio.classifier import audio_classifier
from keras_attn.models.audio.presets import AUDIO_DEFAULTS
from keras_attn.models.audio.presets import AUDIO_PRESETS
from keras_attn.models.audio.presets import audio_config
from keras_attn.models.audio.task import AudioClassifier
from keras_attn.models.audio.task import AudioClassifierPreprocessor
from keras_attn.models.audio.task import WaveformConverter
from keras_attn.models.audio.task import audio_preprocessor
from keras_attn.models.audio.task import pad_or_crop

__all__ = [
    "AUDIO_DEFAULTS",
    "AUDIO_PRESETS",
    "AudioClassifier",
    "AudioClassifierPreprocessor",
    "WaveformConverter",
    "audio_backbone",
    "audio_classifier",
    "audio_config",
    "audio_preprocessor",
    "pad_or_crop",
]
