"""Tasks from files: a `.keras` file saved from a task, or the folder a
`keras-attn train` run writes.

A run folder holds the trained functional model (`model.keras`), what
its inputs need (`vocab.txt`, `tokenizer_config.json`), the class names
(`classes.json`) and `task.json`, which names the task and its
preprocessing (sequence length; image size and pixel scaling; sample
rate and clip length).
`load_task` puts them together as one task over the functional model's
weights; a translator's folder loads as a `Translator`.
"""

import json
import os
import pathlib

import keras_hub

from keras_attn._keras_file import load_keras_file
from keras_attn.models._common import read_json
from keras_attn.models.audio.task import AudioClassifier
from keras_attn.models.bert.tasks import TextClassifier
from keras_attn.models.bert.tasks import bert_preprocessor
from keras_attn.models.tagger.task import TokenClassifier
from keras_attn.models.translator import Translator
from keras_attn.models.vit.task import ImageClassifier
from keras_attn.models.vit.task import image_preprocessor

TASK_FILE = "task.json"
_FORMAT = 1
_KINDS = (
    "text_classifier",
    "image_classifier",
    "token_classifier",
    "audio_classifier",
)


def write_task_file(folder, task, **settings):
    """Writes `folder/task.json`: the task's kind and its preprocessing.

    Args:
        folder: the run folder.
        task: `"text_classifier"` or `"token_classifier"` (settings:
            `sequence_length`) or `"image_classifier"` (settings:
            `image_size`, `scale`, `offset`) or `"audio_classifier"`
            (settings: `sample_rate`, `clip_samples`).
        **settings: what the task's preprocessor needs.
    """
    if task not in _KINDS:
        raise ValueError(f"`task` must be one of {_KINDS}; received {task!r}.")
    record = {"format": _FORMAT, "task": task, **settings}
    path = pathlib.Path(folder) / TASK_FILE
    path.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")


def load_task(path, safe_mode=True):
    """A task from a run folder of `keras-attn train`, or a `.keras` file.

    Args:
        path: a run folder (`model.keras`, `task.json`, `classes.json`,
            and `vocab.txt` for text), a translator's folder, or a `.keras`
            file saved from a task (`TextClassifier`, `ImageClassifier`,
            `SentenceEmbedder`).
        safe_mode: bool. Keras's safe mode (no code from the file runs).

    Returns:
        `TextClassifier`, `TokenClassifier`, `ImageClassifier`,
        `AudioClassifier`, `SentenceEmbedder` or `Translator`, ready for
        `predict`, `classify` (or `tag`), `evaluate` and more `fit`.

    Raises:
        FileNotFoundError: nothing at `path`, or a folder without a run.
        ValueError: a `.keras` file that holds a functional model, not a
            task; a `task.json` this version does not know.
        keras_attn.CorruptModelError: a damaged model file.

    Example:

    >>> task = load_task("sst-run")  # doctest: +SKIP
    >>> task.classify(["a fine film"])  # doctest: +SKIP
    [[('pos', 0.97)]]
    """
    path = pathlib.Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder.")
    if path.is_file():
        model = load_keras_file(path, safe_mode=safe_mode)
        if not isinstance(model, keras_hub.models.Task):
            raise ValueError(
                f"{path} holds a {type(model).__name__} model, not a task; "
                "load it with keras_attn.load_model, or give the run folder "
                "that holds it (with its task.json)."
            )
        return model
    if (path / "translator.json").is_file():
        return Translator.load(path, safe_mode=safe_mode)
    if not (path / TASK_FILE).is_file():
        found = sorted(p.name for p in path.iterdir())[:8]
        raise FileNotFoundError(
            f"{path} is not a run folder: expected {TASK_FILE} and "
            f"model.keras (as `keras-attn train` writes), found {found}."
        )
    settings = read_json(path / TASK_FILE)
    kind = settings.get("task")
    if settings.get("format") != _FORMAT or kind not in _KINDS:
        raise ValueError(
            f"{path / TASK_FILE}: expected format {_FORMAT} and a task in "
            f"{_KINDS}; received format {settings.get('format')!r}, task "
            f"{kind!r}."
        )
    model = load_keras_file(path / "model.keras", safe_mode=safe_mode)
    classes = path / "classes.json"
    class_names = read_json(classes) if classes.is_file() else None
    if kind in ("text_classifier", "token_classifier"):
        preprocessor = bert_preprocessor(path, settings["sequence_length"])
        task = TextClassifier if kind == "text_classifier" else TokenClassifier
        return task.from_network(model, preprocessor, class_names)
    if kind == "audio_classifier":
        return _audio_task(path, model, settings, class_names)
    preprocessor = image_preprocessor(
        settings["image_size"], settings["scale"], settings.get("offset")
    )
    return ImageClassifier.from_network(model, preprocessor, class_names)


def _audio_task(path, model, settings, class_names):
    """An `AudioClassifier` over a run's network (its preprocessor pads or
    crops to the network's clip), with task.json's clip length and sample
    rate checked against the network's."""
    task = AudioClassifier.from_network(model, None, class_names)
    for key in ("sample_rate", "clip_samples"):
        if settings.get(key) != getattr(task, key):
            raise ValueError(
                f"{path / TASK_FILE} says {key}={settings.get(key)!r} but "
                f"{path / 'model.keras'} was built for {getattr(task, key)!r}."
            )
    return task
