"""SavedModel and LiteRT (TFLite) export of `keras_attn` models.

Installed as `keras_attn.export`:

- `to_tflite(model, path, quantization=...)` writes a `.tflite` file with
  TFLite builtin operators only, checks it against the Keras model with
  the LiteRT interpreter and returns an `ExportReport` (a tagger's file
  carries its vocabulary and tags; `tagger.tag_file(path, sentences)`
  tags words with it alone);
- `to_saved_model(model, path, preprocessor=...)` writes a SavedModel whose
  serving signature can take raw strings;
- `inspect_tflite(path)` lists a file's signatures and operators;
- `to_mediapipe(model, path, task, ...)` writes a `.tflite` file with the
  TFLite Metadata (tokenizer, labels, normalization) that MediaPipe Tasks
  reads, so an app passes it strings, images or audio samples;
- `classify_file(path, inputs)` labels strings, images or sound clips
  with a MediaPipe classifier file as MediaPipe Tasks does (its
  tokenizer, labels, normalization and sample rate read back from the
  file);
- `verify_tflite(path)` checks that a file is whole (a checksum for the
  files written here, a bounded trial run for others).
"""

from keras_attn.errors import CorruptModelError
from keras_attn.export.converter import UnsupportedOpsError
from keras_attn.export.integrity import verify_tflite
from keras_attn.export.mediapipe import TASKS as MEDIAPIPE_TASKS
from keras_attn.export.mediapipe import mediapipe_text
from keras_attn.export.mediapipe import to_mediapipe
from keras_attn.export.predict import classify_file
from keras_attn.export.report import ExportReport
from keras_attn.export.report import count_ops
from keras_attn.export.report import inspect_tflite
from keras_attn.export.runtime import LiteRTRunner
from keras_attn.export.saved_model import load_saved_model
from keras_attn.export.saved_model import to_saved_model
from keras_attn.export.tflite import QUANTIZATIONS
from keras_attn.export.tflite import to_tflite
from keras_attn.export.tflite import translator_to_tflite

__all__ = [
    "CorruptModelError",
    "verify_tflite",
    "load_saved_model",
    "QUANTIZATIONS",
    "ExportReport",
    "LiteRTRunner",
    "UnsupportedOpsError",
    "classify_file",
    "count_ops",
    "inspect_tflite",
    "MEDIAPIPE_TASKS",
    "mediapipe_text",
    "to_mediapipe",
    "to_saved_model",
    "to_tflite",
    "translator_to_tflite",
]
