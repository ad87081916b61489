"""Input pipelines: local files, TFDS and bundled sets to `tf.data`.

Five kinds of data feed the training entry points:

- text classification: `read_text_classification` and
  `read_labelled_texts` (`labelled_text`: a local `.tsv` or `.csv` with a
  header, such as GLUE's SST-2 or a user's `review,sentiment` file, with
  class ids or class names) or `load_tfds_text_classification` give
  `(texts, labels)`; `text`:
  `text_classification_dataset` tokenizes them with a keras-hub
  preprocessor inside `tf.data` and trims each batch to its longest
  sentence.
- parallel text (`parallel_text`): `read_parallel_text` (a Tatoeba-style
  TSV) or `load_tfds_parallel_text` give `(source, target)` pairs for
  `keras_attn.models.Translator.dataset`.
- part-of-speech tagged text (`tagged_text`): `read_tagged` reads a
  CoNLL-U (Universal Dependencies) or Brown corpus file or folder into
  `TaggedSentence`s, with the tags as written or mapped to the 12
  universal tags (`tagsets`: `to_universal`, `universal_tags`).
- images (`images`): `load_digits` (bundled with scikit-learn),
  `image_folder` (one subfolder per class) and `load_tfds_images` give
  float32 arrays in [0, 1] with int32 labels; `image_dataset` batches
  them.
- sound (`audio`): `read_audio` decodes WAV and FLAC files with NumPy
  alone, `load_clip` makes one mono clip at a model's rate and length,
  `audio_folder` reads a folder of class subfolders into an `AudioSet`
  (`AudioFileError` for a file that is not audio, is empty or is
  silent); `audio_dataset` batches it.

The TensorFlow Datasets loaders of all three are in `tfds`. Nothing here
downloads unless asked: they pass `download=False` to `tfds.load` by
default and say how to prepare the data when it is missing.
`tensorflow_datasets` and `scikit-learn` are imported only by the
functions that need them.

The names load on first use (as `keras_attn`'s do): `import
keras_attn.data` and `labelled_text` load no TensorFlow, so the command
line reads a user's text file before it starts TensorFlow.

Floor 3: a library of pipelines; it imports nothing of keras_attn but its
own modules (the models it feeds are passed in, such as a preprocessor).
"""

# Each public name and the module that defines it, loaded on first use.
_MODULES = {
    "AudioFileError": "audio",
    "AudioSet": "audio",
    "audio_dataset": "audio",
    "audio_folder": "audio",
    "load_clip": "audio",
    "read_audio": "audio",
    "resample_audio": "audio",
    "digits_split": "images",
    "image_dataset": "images",
    "image_folder": "images",
    "load_digits": "images",
    "read_parallel_text": "parallel_text",
    "ColumnError": "labelled_text",
    "read_labelled_texts": "labelled_text",
    "read_text_classification": "labelled_text",
    "text_classification_dataset": "text",
    "trim_to_longest": "text",
    "TaggedSentence": "tagged_text",
    "read_tagged": "tagged_text",
    "tagged_files": "tagged_text",
    "tagged_format": "tagged_text",
    "UNIVERSAL_TAGS": "tagsets",
    "to_universal": "tagsets",
    "universal_tags": "tagsets",
    "IMAGE_DATASETS": "tfds",
    "PARALLEL_TEXT_DATASETS": "tfds",
    "TEXT_CLASSIFICATION_DATASETS": "tfds",
    "load_tfds_images": "tfds",
    "load_tfds_parallel_text": "tfds",
    "load_tfds_text_classification": "tfds",
}

__all__ = sorted(_MODULES)


def _module(name):
    # Spelled out (not importlib) so that tests/test_architecture.py sees
    # each import.
    if name == "images":
        from keras_attn.data import images as module
    elif name == "audio":
        from keras_attn.data import audio as module
    elif name == "parallel_text":
        from keras_attn.data import parallel_text as module
    elif name == "labelled_text":
        from keras_attn.data import labelled_text as module
    elif name == "text":
        from keras_attn.data import text as module
    elif name == "tagged_text":
        from keras_attn.data import tagged_text as module
    elif name == "tagsets":
        from keras_attn.data import tagsets as module
    else:
        from keras_attn.data import tfds as module
    return module


def __getattr__(name):
    if name not in _MODULES:
        raise AttributeError(
            f"module 'keras_attn.data' has no attribute {name!r}"
        )
    value = getattr(_module(_MODULES[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
