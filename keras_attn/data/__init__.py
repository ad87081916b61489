"""Input pipelines: local files, TFDS and bundled sets to `tf.data`.

Three kinds of data feed the training entry points:

- text classification (`text`): `read_text_classification` (a local
  `.tsv` or `.csv` with a header, such as GLUE's SST-2) or
  `load_tfds_text_classification` give `(texts, labels)`;
  `text_classification_dataset` tokenizes them with a keras-hub
  preprocessor inside `tf.data` and trims each batch to its longest
  sentence.
- parallel text (`parallel_text`): `read_parallel_text` (a Tatoeba-style
  TSV) or `load_tfds_parallel_text` give `(source, target)` pairs for
  `keras_attn.models.Translator.dataset`.
- images (`images`): `load_digits` (bundled with scikit-learn),
  `image_folder` (one subfolder per class) and `load_tfds_images` give
  float32 arrays in [0, 1] with int32 labels; `image_dataset` batches
  them.

The TensorFlow Datasets loaders of all three are in `tfds`. Nothing here
downloads unless asked: they pass `download=False` to `tfds.load` by
default and say how to prepare the data when it is missing.
`tensorflow_datasets` and `scikit-learn` are imported only by the
functions that need them.

Floor 3: a library of pipelines; it imports nothing of keras_attn but its
own modules (the models it feeds are passed in, such as a preprocessor).
"""

from keras_attn.data.images import digits_split
from keras_attn.data.images import image_dataset
from keras_attn.data.images import image_folder
from keras_attn.data.images import load_digits
from keras_attn.data.parallel_text import read_parallel_text
from keras_attn.data.text import read_text_classification
from keras_attn.data.text import text_classification_dataset
from keras_attn.data.text import trim_to_longest
from keras_attn.data.tfds import IMAGE_DATASETS
from keras_attn.data.tfds import PARALLEL_TEXT_DATASETS
from keras_attn.data.tfds import TEXT_CLASSIFICATION_DATASETS
from keras_attn.data.tfds import load_tfds_images
from keras_attn.data.tfds import load_tfds_parallel_text
from keras_attn.data.tfds import load_tfds_text_classification

__all__ = [
    "IMAGE_DATASETS",
    "PARALLEL_TEXT_DATASETS",
    "TEXT_CLASSIFICATION_DATASETS",
    "digits_split",
    "image_dataset",
    "image_folder",
    "load_digits",
    "load_tfds_images",
    "load_tfds_parallel_text",
    "load_tfds_text_classification",
    "read_parallel_text",
    "read_text_classification",
    "text_classification_dataset",
    "trim_to_longest",
]
