"""The five training jobs behind `keras-attn train`.

(Named `keras_attn.tasks` before issue 18; keras-hub's "tasks" are model
heads, so the jobs moved here. `keras_attn.tasks` stays for old imports.)

Each reads local data (`keras_attn.data`), trains with
`keras_attn.training.train` under the strategy and precision asked for,
evaluates on `eval` (or on a held-out tenth of the training rows) and
writes one folder:

- `model.keras` (the best epoch on the held-out data), and what the model
  needs beside it: `vocab.txt` and `classes.json` (text classifier), the
  SentencePiece model and `translator.json` (translator), `classes.json`
  (ViT), `vocab.txt` and `classes.json` (the tags; tagger),
  `classes.json` (audio classifier).
  `classes.json` is a JSON list of the class names, index = the model's
  output (`["neg", "pos"]`; `["0", "1"]` for integer labels);
  `task.json` names the task and its preprocessing, so that
  `keras_attn.models.load_task(folder)` gives one task model that
  predicts on strings, pixels or waveforms;
- `history.json` (one record per epoch), `metrics.json` (accuracy, or
  BLEU for the translator), `eval_predictions.tsv` (input, reference,
  prediction per evaluation example; word, gold and predicted tag per
  word for the tagger), `training_curves.png` (and the tagger's and
  audio classifier's `confusion_matrix.png`), and TensorBoard logs in
  `logs/`.
"""

from keras_attn.apps.jobs.audio import train_audio_classifier
from keras_attn.apps.jobs.tagger import train_token_classifier
from keras_attn.apps.jobs.text_classifier import SPECIAL_TOKENS  # noqa: F401
from keras_attn.apps.jobs.text_classifier import train_text_classifier
from keras_attn.apps.jobs.translator import train_translator
from keras_attn.apps.jobs.vit import train_vit

__all__ = [
    "train_audio_classifier",
    "train_text_classifier",
    "train_token_classifier",
    "train_translator",
    "train_vit",
]
