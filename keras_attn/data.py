"""Input pipelines: local files, TFDS and bundled sets to `tf.data`.

Three kinds of data feed the training entry points:

- text classification: `read_text_classification` (a local `.tsv` or
  `.csv` with a header, such as GLUE's SST-2) or
  `load_tfds_text_classification` give `(texts, labels)`;
  `text_classification_dataset` tokenizes them with a keras-hub
  preprocessor inside `tf.data` and trims each batch to its longest
  sentence.
- parallel text: `read_parallel_text` (a Tatoeba-style TSV) or
  `load_tfds_parallel_text` give `(source, target)` pairs for
  `keras_attn.models.Translator.dataset`.
- images: `load_digits` (bundled with scikit-learn), `image_folder` (one
  subfolder per class) and `load_tfds_images` give float32 arrays in
  [0, 1] with int32 labels; `image_dataset` batches them.

Nothing here downloads unless asked: the TFDS loaders pass
`download=False` to `tfds.load` by default and say how to prepare the
data when it is missing. `tensorflow_datasets` and `scikit-learn` are
imported only by the functions that need them.
"""

import csv
import re
from pathlib import Path

import numpy as np
import tensorflow as tf

__all__ = [
    "IMAGE_DATASETS",
    "PARALLEL_TEXT_DATASETS",
    "TEXT_CLASSIFICATION_DATASETS",
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

# TFDS name -> (text feature, label feature).
TEXT_CLASSIFICATION_DATASETS = {
    "imdb_reviews": ("text", "label"),
    "glue/sst2": ("sentence", "label"),
}
# Every TED talks pair; `as_supervised=True` gives (source, target).
PARALLEL_TEXT_DATASETS = tuple(
    f"ted_hrlr_translate/{pair}"
    for pair in (
        "az_to_en",
        "aztr_to_en",
        "be_to_en",
        "beru_to_en",
        "es_to_pt",
        "fr_to_pt",
        "gl_to_en",
        "glpt_to_en",
        "he_to_pt",
        "it_to_pt",
        "pt_to_en",
        "ru_to_en",
        "ru_to_pt",
        "tr_to_en",
    )
)
# uint8 images with integer labels under `as_supervised=True`.
IMAGE_DATASETS = ("cifar10", "cifar100", "fashion_mnist", "mnist")

# What `keras.utils.image_dataset_from_directory` reads.
_IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_INT32_MAX = np.iinfo(np.int32).max
_NEEDS_TFDS = (
    "This loader needs tensorflow-datasets: pip install tensorflow-datasets."
)


# ----------------------------------------------------------------- checks


def _check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"`{name}` must be a positive int; received {value!r} "
            f"of type {type(value).__name__}."
        )
    if value < 1:
        raise ValueError(f"`{name}` must be a positive int; received {value}.")
    return int(value)


def _check_fraction(name, value, allow_zero):
    low = "0 <=" if allow_zero else "0 <"
    if isinstance(value, bool) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise TypeError(
            f"`{name}` must be a number with {low} {name} < 1; received "
            f"{value!r} of type {type(value).__name__}."
        )
    if not ((0 <= value if allow_zero else 0 < value) and value < 1):
        raise ValueError(
            f"`{name}` must satisfy {low} {name} < 1; received {value}."
        )
    return float(value)


def _as_texts(texts):
    if isinstance(texts, str | bytes):
        raise TypeError(
            "`texts` must be a list of strings, one per example; received "
            "a single string."
        )
    texts = list(texts)
    if not texts:
        raise ValueError("`texts` is empty; expected at least one example.")
    for index, text in enumerate(texts):
        if not isinstance(text, str | bytes):
            raise TypeError(
                f"`texts` must hold strings; item {index} is "
                f"{type(text).__name__} ({text!r})."
            )
    return texts


def _as_labels(labels, count, what="texts"):
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(
            f"`labels` must be 1-D, one integer per example; received "
            f"shape {labels.shape}."
        )
    if len(labels) != count:
        raise ValueError(
            f"`labels` must have one entry per example: {count} {what}, "
            f"received {len(labels)} labels."
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(
            f"`labels` must be integers (class ids); received dtype "
            f"{labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() > _INT32_MAX):
        bad = labels.min() if labels.min() < 0 else labels.max()
        raise ValueError(
            f"`labels` must be class ids >= 0 that fit in int32; received "
            f"{bad}."
        )
    return labels.astype(np.int32)


# ------------------------------------------------------ text classification


def _tsv_rows(path):
    """(line number, fields) of every non-blank line, split on tabs."""
    with path.open(encoding="utf-8-sig") as file:
        for number, line in enumerate(file, start=1):
            line = line.rstrip("\n")
            if line.strip():
                yield number, line.split("\t")


def _csv_rows(path):
    """(first line number, fields) of every non-blank CSV record."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        start = 1
        for fields in reader:
            if any(field.strip() for field in fields):
                yield start, fields
            start = reader.line_num + 1


def _parse_label(path, number, text):
    text = text.strip()
    if not _INTEGER.fullmatch(text):
        raise ValueError(
            f"{path}, line {number}: expected an integer label, received "
            f"{text!r}."
        )
    value = int(text)
    if not 0 <= value <= _INT32_MAX:
        raise ValueError(
            f"{path}, line {number}: expected a label >= 0 (a class id), "
            f"received {value}."
        )
    return value


def read_text_classification(
    path, text_column="sentence", label_column="label"
):
    """Reads `(texts, labels)` from a `.tsv` or `.csv` file with a header.

    The first non-blank line names the columns, as in GLUE's SST-2
    (`label<TAB>sentence`); every other non-blank line is one example
    with exactly as many fields as the header. A `.tsv` is split on tabs
    with no quoting (a text holding a tab is an error); a `.csv` is read
    with Python's `csv` module, so quoted fields may hold commas, quotes
    and line breaks. The file is UTF-8 (a byte-order mark is allowed).

    Args:
        path: str or Path. A file ending in `.tsv` or `.csv`.
        text_column: str. The header name of the text column.
            Defaults to `"sentence"`.
        label_column: str. The header name of the label column, integer
            class ids >= 0. Defaults to `"label"`.

    Returns:
        `(texts, labels)`: a list of str and an int32 NumPy array of the
        same length, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: another suffix, a non-UTF-8 or empty file, a header
            without the two columns, a line with the wrong number of
            fields, or a label that is not an integer >= 0; the message
            names the file and the line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "train.tsv"
    >>> _ = path.write_text("label\\tsentence\\n1\\ta gem\\n0\\tdull , flat\\n")
    >>> texts, labels = read_text_classification(path)
    >>> texts, labels.tolist()
    (['a gem', 'dull , flat'], [1, 0])
    >>> folder.cleanup()
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".tsv", ".csv"):
        raise ValueError(
            f"{path}: expected a .tsv or .csv file, received the suffix "
            f"{path.suffix!r}."
        )
    if text_column == label_column:
        raise ValueError(
            "`text_column` and `label_column` must differ; both are "
            f"{text_column!r}."
        )
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; expected a {suffix} file with a header row "
            f"naming the columns {text_column!r} and {label_column!r}."
        )
    rows = _tsv_rows(path) if suffix == ".tsv" else _csv_rows(path)
    texts, labels = [], []
    try:
        header = next(rows, None)
        if header is None:
            raise ValueError(
                f"{path} is empty; expected a header row naming the columns "
                f"{text_column!r} and {label_column!r}, then one example per "
                "line."
            )
        header_line, names = header
        names = [name.strip() for name in names]
        for column in (text_column, label_column):
            if column not in names:
                raise ValueError(
                    f"{path}, line {header_line}: the header has no column "
                    f"{column!r}; expected {text_column!r} and "
                    f"{label_column!r}, found {names}."
                )
        text_index = names.index(text_column)
        label_index = names.index(label_column)
        for number, fields in rows:
            if len(fields) != len(names):
                raise ValueError(
                    f"{path}, line {number}: expected {len(names)} fields "
                    f"(as in the header {names}), received {len(fields)}."
                )
            texts.append(fields[text_index])
            labels.append(_parse_label(path, number, fields[label_index]))
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    except csv.Error as error:
        raise ValueError(f"{path} is not valid CSV: {error}") from None
    if not texts:
        raise ValueError(
            f"{path} has a header but no examples; expected one example "
            "per line after it."
        )
    return texts, np.asarray(labels, dtype=np.int32)


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError as error:
        raise ImportError(_NEEDS_TFDS) from error
    return tfds


def _tfds_load(name, split, data_dir, download, **kwargs):
    """`tfds.load` with a clear message when the data is not prepared."""
    tfds = _import_tfds()
    try:
        return tfds.load(
            name, split=split, data_dir=data_dir, download=download, **kwargs
        )
    except AssertionError as error:
        # What tfds.load raises for missing data under download=False.
        where = data_dir if data_dir is not None else "TFDS's default folder"
        raise FileNotFoundError(
            f"The TFDS dataset {name!r} is not prepared in {where}; "
            "expected it there since download=False. Pass download=True to "
            "download and prepare it, or data_dir= the folder that holds "
            f"it. TFDS said: {error}"
        ) from error


def _check_supported(name, supported, what):
    if name not in supported:
        raise ValueError(
            f"Unsupported {what} dataset {name!r}; expected one of "
            f"{sorted(supported)}."
        )


def load_tfds_text_classification(
    name, split="train", data_dir=None, download=False
):
    """Reads `(texts, labels)` from a TensorFlow Datasets classification set.

    Rows labelled -1 (GLUE's hidden test labels, IMDB's `unsupervised`
    split) are dropped; a split where every label is -1 is refused.

    Args:
        name: str. One of `TEXT_CLASSIFICATION_DATASETS`: `"imdb_reviews"`
            (features `text`, `label`) or `"glue/sst2"` (`sentence`,
            `label`).
        split: str. A TFDS split, such as `"train"`, `"validation"` or
            `"train[:10%]"`. Defaults to `"train"`.
        data_dir: str, Path or None. Where the prepared data lives; None
            is TFDS's default (`~/tensorflow_datasets` or `$TFDS_DATA_DIR`).
        download: bool. Whether `tfds.load` may download and prepare the
            data. Defaults to False: nothing is fetched unless asked.

    Returns:
        `(texts, labels)`: a list of str and an int32 NumPy array.

    Raises:
        ValueError: an unsupported name, or a split without any label.
        FileNotFoundError: the data is not prepared and download=False.

    Example, with TFDS's test double standing in for the prepared data:

    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=6):
    ...     texts, labels = load_tfds_text_classification("glue/sst2")
    >>> len(texts), labels.dtype
    (6, dtype('int32'))

    With the real data prepared (`download=True` once):

    >>> texts, labels = load_tfds_text_classification(
    ...     "glue/sst2", "validation")  # doctest: +SKIP
    >>> len(texts), labels[:4].tolist()  # doctest: +SKIP
    (872, [1, 0, 1, 1])
    """
    _check_supported(name, TEXT_CLASSIFICATION_DATASETS, "text classification")
    text_key, label_key = TEXT_CLASSIFICATION_DATASETS[name]
    data = _tfds_load(name, split, data_dir, download)
    texts, labels, rows = [], [], 0
    for batch in data.batch(1024).as_numpy_iterator():
        rows += len(batch[label_key])
        keep = batch[label_key] >= 0
        texts.extend(t.decode("utf-8") for t in batch[text_key][keep])
        labels.extend(batch[label_key][keep].tolist())
    if not texts:
        if rows:
            raise ValueError(
                f"{name!r} split {split!r} has no labels: all its {rows} rows "
                "are labelled -1 (hidden test labels); expected a labelled "
                "split such as 'train' or 'validation'."
            )
        raise ValueError(f"{name!r} split {split!r} has no examples.")
    return texts, np.asarray(labels, dtype=np.int32)


def trim_to_longest(inputs):
    """Cuts a batch of BERT inputs to its longest real row.

    Every tensor of rank 2 or more in the dict is cut along its second
    axis to the largest count of `padding_mask` (at least one column), so
    a batch of short sentences costs what they are, not the fixed length.

    Args:
        inputs: dict of `(batch, sequence, ...)` tensors with a
            `padding_mask`.

    Returns:
        dict of the same tensors, trimmed.

    Example:

    >>> import tensorflow as tf
    >>> mask = tf.constant([[1, 1, 0, 0], [1, 0, 0, 0]])
    >>> trim_to_longest({"padding_mask": mask})["padding_mask"].shape
    TensorShape([2, 2])
    """
    if "padding_mask" not in inputs:
        raise ValueError(
            'pad_to="batch" needs the preprocessor\'s `padding_mask`; '
            f'received only {sorted(inputs)}. Use pad_to="fixed".'
        )
    real = tf.reduce_sum(tf.cast(inputs["padding_mask"], tf.int32), axis=-1)
    length = tf.maximum(tf.reduce_max(real), 1)
    return {
        key: value[:, :length] if value.shape.rank >= 2 else value
        for key, value in inputs.items()
    }


def text_classification_dataset(
    texts,
    labels,
    preprocessor,
    batch_size=32,
    shuffle=True,
    seed=0,
    pad_to="batch",
    deterministic=True,
    repeat=False,
):
    """A batched, tokenized `tf.data.Dataset` of `(inputs, labels)`.

    The order of the steps: shuffle the examples (with `seed`, reshuffled
    every epoch), repeat, batch, tokenize each batch of strings with
    `preprocessor` inside `Dataset.map` (parallel, `AUTOTUNE`), then
    prefetch. With `pad_to="batch"` every tensor of rank 2 or more is cut
    to the batch's longest sentence, the largest row sum of
    `padding_mask` (at least one column), so a batch of short sentences
    costs what they are; this assumes the preprocessor pads at the end,
    as keras-hub's do. The shuffle seed combines with TensorFlow's global
    seed (`keras.utils.set_random_seed`) at the time the dataset is made.

    Args:
        texts: list of str. One text per example.
        labels: 1-D integer array-like of class ids >= 0, one per text.
        preprocessor: a callable mapping a batch of strings (a string
            tensor) to a dict of tensors, such as the keras-hub
            `BertTextClassifierPreprocessor` of
            `keras_attn.models.load_bert_preprocessor(folder, length)`.
        batch_size: int. Examples per batch; the last batch of an epoch
            may be smaller. Defaults to 32.
        shuffle: bool. Defaults to True.
        seed: int. The shuffle seed. Defaults to 0.
        pad_to: `"batch"` (trim to the longest sentence of each batch,
            the default) or `"fixed"` (keep the preprocessor's
            `sequence_length`, for XLA or TPUs that want fixed shapes).
        deterministic: bool. Whether the parallel map and the dataset's
            `options().deterministic` keep the order. Defaults to True.
        repeat: bool. Repeat forever (each pass reshuffled); `model.fit`
            then needs `steps_per_epoch`. Defaults to False.

    Returns:
        A `tf.data.Dataset` yielding `(inputs, labels)`: the
        preprocessor's dict (`token_ids`, `segment_ids`, `padding_mask` of
        shape `(batch, length)` for BERT) and int32 labels `(batch,)`.

    Example:

    >>> import pathlib, tempfile
    >>> from keras_attn.models import load_bert_preprocessor
    >>> folder = tempfile.TemporaryDirectory()
    >>> words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good"]
    >>> _ = (pathlib.Path(folder.name) / "vocab.txt").write_text(
    ...     "\\n".join(words))
    >>> preprocessor = load_bert_preprocessor(folder.name, 16)
    >>> data = text_classification_dataset(
    ...     ["a good good", "good"], [1, 0], preprocessor, shuffle=False)
    >>> inputs, labels = next(iter(data))
    >>> inputs["token_ids"].numpy().tolist()  # trimmed from 16 to 5
    [[2, 5, 6, 6, 3], [2, 6, 3, 0, 0]]
    >>> labels.numpy().tolist()
    [1, 0]
    >>> folder.cleanup()
    """
    texts = _as_texts(texts)
    labels = _as_labels(labels, len(texts))
    batch_size = _check_positive_int("batch_size", batch_size)
    if pad_to not in ("batch", "fixed"):
        raise ValueError(
            f'`pad_to` must be "batch" or "fixed"; received {pad_to!r}.'
        )
    if not callable(preprocessor):
        raise TypeError(
            "`preprocessor` must be callable on a batch of strings (such as "
            "a keras-hub preprocessor); received "
            f"{type(preprocessor).__name__}."
        )

    def encode(batch_texts, batch_labels):
        inputs = preprocessor(batch_texts)
        if not isinstance(inputs, dict):
            raise TypeError(
                "`preprocessor` must return a dict of tensors for a batch of "
                f"strings; it returned {type(inputs).__name__}."
            )
        if pad_to == "batch":
            inputs = trim_to_longest(inputs)
        return inputs, batch_labels

    data = tf.data.Dataset.from_tensor_slices(
        (tf.constant(texts, dtype=tf.string), labels)
    )
    if shuffle:
        data = data.shuffle(
            len(texts), seed=seed, reshuffle_each_iteration=True
        )
    if repeat:
        data = data.repeat()
    data = data.batch(batch_size).map(
        encode,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
    options = tf.data.Options()
    options.deterministic = deterministic
    return data.with_options(options).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------- parallel text


def read_parallel_text(path, max_pairs=None):
    """Reads `(source, target)` pairs from a TSV file without a header.

    Each non-blank line holds two or more tab-separated columns, as in
    the Tatoeba/Anki files (`english<TAB>french<TAB>attribution`); the
    first two are the pair and the rest is ignored. UTF-8, no quoting.

    Args:
        path: str or Path. The TSV file.
        max_pairs: int or None. Stop after this many pairs (the first
            ones of the file); None reads them all.

    Returns:
        A list of `(source, target)` str tuples, in file order.

    Raises:
        FileNotFoundError: the file does not exist.
        ValueError: a line with fewer than two columns or an empty side,
            a non-UTF-8 file, or no pairs at all; the message names the
            file and the line.

    Example:

    >>> import pathlib, tempfile
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = pathlib.Path(folder.name) / "fra.tsv"
    >>> _ = path.write_text("Go.\\tVa !\\tCC-BY\\n\\nHi.\\tSalut !\\n")
    >>> read_parallel_text(path)
    [('Go.', 'Va !'), ('Hi.', 'Salut !')]
    >>> folder.cleanup()
    """
    path = Path(path)
    if max_pairs is not None:
        max_pairs = _check_positive_int("max_pairs", max_pairs)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; expected a TSV file of source<TAB>target lines."
        )
    pairs = []
    try:
        for number, fields in _tsv_rows(path):
            if len(fields) < 2:
                raise ValueError(
                    f"{path}, line {number}: expected at least 2 "
                    "tab-separated columns (source, target), received 1: "
                    f"{fields[0][:60]!r}."
                )
            source, target = fields[0], fields[1]
            if not source.strip() or not target.strip():
                raise ValueError(
                    f"{path}, line {number}: expected a non-empty source and "
                    f"target, received {source!r} and {target!r}."
                )
            pairs.append((source, target))
            if max_pairs is not None and len(pairs) == max_pairs:
                break
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text: {error}") from None
    if not pairs:
        raise ValueError(
            f"{path} holds no pairs; expected source<TAB>target lines."
        )
    return pairs


def load_tfds_parallel_text(
    name="ted_hrlr_translate/pt_to_en",
    split="train",
    data_dir=None,
    download=False,
):
    """Reads `(source, target)` pairs from a TensorFlow Datasets set.

    Args:
        name: str. One of `PARALLEL_TEXT_DATASETS`, the TED talks pairs
            `"ted_hrlr_translate/<source>_to_<target>"`. Defaults to
            Portuguese to English.
        split: str. `"train"`, `"validation"`, `"test"` or a slice such
            as `"train[:1000]"`. Defaults to `"train"`.
        data_dir: str, Path or None. Where the prepared data lives; None
            is TFDS's default.
        download: bool. Whether `tfds.load` may download and prepare the
            data. Defaults to False.

    Returns:
        A list of `(source, target)` str tuples.

    Raises:
        ValueError: an unsupported name or an empty split.
        FileNotFoundError: the data is not prepared and download=False.

    Example, with TFDS's test double standing in for the prepared data:

    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=4):
    ...     pairs = load_tfds_parallel_text(split="validation")
    >>> len(pairs), isinstance(pairs[0][0], str)
    (4, True)

    With the real data prepared (`download=True` once):

    >>> pairs = load_tfds_parallel_text(split="validation")  # doctest: +SKIP
    >>> len(pairs)  # doctest: +SKIP
    1193
    """
    _check_supported(name, PARALLEL_TEXT_DATASETS, "parallel text")
    data = _tfds_load(name, split, data_dir, download, as_supervised=True)
    pairs = [
        (source.decode("utf-8"), target.decode("utf-8"))
        for sources, targets in data.batch(1024).as_numpy_iterator()
        for source, target in zip(sources, targets, strict=True)
    ]
    if not pairs:
        raise ValueError(f"{name!r} split {split!r} has no examples.")
    return pairs


# ----------------------------------------------------------------- images


def load_digits(seed=0, test_fraction=0.2):
    """scikit-learn's bundled 8x8 digits, split for training and testing.

    The split is stratified (every digit keeps its share) and depends
    only on `seed`. With the default fraction it is exactly
    `keras_attn.demo.load_digits_split(seed)`, the quick start's split.

    Args:
        seed: int. The split's `random_state`. Defaults to 0.
        test_fraction: float in (0, 1). The share held out. Defaults to
            0.2 (1,437 training and 360 test images).

    Returns:
        `(x_train, x_test, y_train, y_test)`: float32 images
        `(n, 8, 8, 1)` in [0, 1] and int32 labels 0-9.

    Example:

    >>> x_train, x_test, y_train, y_test = load_digits()
    >>> x_train.shape, x_test.shape, str(y_train.dtype)
    ((1437, 8, 8, 1), (360, 8, 8, 1), 'int32')
    """
    from keras_attn import demo

    test_fraction = _check_fraction("test_fraction", test_fraction, False)
    if test_fraction == 0.2:
        x_train, x_test, y_train, y_test = demo.load_digits_split(seed)
    else:
        # The demo's split (which checks that scikit-learn is there) of
        # all 1,797 images, joined and split again at the asked fraction:
        # the same scaling, with no copy of the loader.
        x_train, x_test, y_train, y_test = demo.load_digits_split(seed)
        from sklearn.model_selection import train_test_split

        images = np.concatenate([x_train, x_test])
        targets = np.concatenate([y_train, y_test])
        x_train, x_test, y_train, y_test = train_test_split(
            images,
            targets,
            test_size=test_fraction,
            stratify=targets,
            random_state=seed,
        )
    return (
        x_train.astype(np.float32),
        x_test.astype(np.float32),
        y_train.astype(np.int32),
        y_test.astype(np.int32),
    )


def _check_image_size(image_size):
    size = tuple(image_size) if isinstance(image_size, list | tuple) else ()
    if len(size) != 2 or not all(
        isinstance(side, int | np.integer)
        and not isinstance(side, bool)
        and side > 0
        for side in size
    ):
        raise ValueError(
            "`image_size` must be (height, width), two positive ints; "
            f"received {image_size!r}."
        )
    return int(size[0]), int(size[1])


def _to_arrays(data):
    images, labels = [], []
    for batch_images, batch_labels in data.as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    images = np.concatenate(images).astype(np.float32) / np.float32(255)
    return images, np.concatenate(labels).astype(np.int32)


def _stratified_split(labels, fraction, seed):
    """(train, validation) indices: each class gives its share, rounded."""
    rng = np.random.default_rng(seed)
    held_out = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        # Round half up, and leave every class one training image.
        count = min(int(fraction * len(members) + 0.5), len(members) - 1)
        held_out[rng.permutation(members)[:count]] = True
    train = rng.permutation(np.flatnonzero(~held_out))
    validation = rng.permutation(np.flatnonzero(held_out))
    return train, validation


def image_folder(
    path, image_size, validation_fraction=0.2, seed=0, grayscale=False
):
    """Reads a folder of images, one subfolder per class, into arrays.

    `path/cats/*.png`, `path/dogs/*.jpg`, ... are read by
    `keras.utils.image_dataset_from_directory`: classes are the
    subfolder names in sorted order (hidden ones skipped) and images are
    resized to `image_size` with bilinear interpolation (the aspect ratio
    is not kept). The split is stratified: each class gives
    `validation_fraction` of its images to validation, rounded half up
    but always leaving it one training image; both parts come out in an
    order shuffled with `seed`. Everything is loaded into memory, which
    suits small folders; for large ones stream with
    `image_dataset_from_directory` itself.

    Args:
        path: str or Path. The folder of class subfolders.
        image_size: (height, width). The size every image is resized to.
        validation_fraction: float in [0, 1). The share of each class
            held out; 0 returns empty validation arrays. Defaults to 0.2.
        seed: int. The split and shuffle seed. Defaults to 0.
        grayscale: bool. One channel instead of three RGB. Defaults to
            False.

    Returns:
        `(x_train, x_val, y_train, y_val, class_names)`: float32 images
        `(n, height, width, channels)` in [0, 1], int32 labels indexing
        `class_names` (a list of str).

    Raises:
        FileNotFoundError: `path` is not a folder.
        ValueError: no class subfolders, or no `.bmp`, `.gif`, `.jpeg`,
            `.jpg` or `.png` files in them.

    Example:

    >>> import pathlib, tempfile
    >>> import keras, numpy as np
    >>> folder = tempfile.TemporaryDirectory()
    >>> for name in ("cat", "dog"):
    ...     (pathlib.Path(folder.name) / name).mkdir()
    ...     for i in range(5):
    ...         keras.utils.save_img(f"{folder.name}/{name}/{i}.png",
    ...                              np.zeros((12, 12, 3)), scale=False)
    >>> x_train, x_val, y_train, y_val, names = image_folder(
    ...     folder.name, (8, 8))
    >>> x_train.shape, x_val.shape, names, sorted(y_val.tolist())
    ((8, 8, 8, 3), (2, 8, 8, 3), ['cat', 'dog'], [0, 1])
    >>> folder.cleanup()
    """
    import keras

    folder = Path(path)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is not a folder; expected a folder with one subfolder "
            "of images per class."
        )
    image_size = _check_image_size(image_size)
    validation_fraction = _check_fraction(
        "validation_fraction", validation_fraction, True
    )
    class_names = sorted(
        child.name
        for child in folder.iterdir()
        if child.is_dir() and not child.name.startswith(".")
    )
    if not class_names:
        found = sorted(child.name for child in folder.iterdir())[:5]
        raise ValueError(
            f"{folder} has no class subfolders; expected one subfolder of "
            f"images per class (such as {folder}/cats/1.png), found "
            f"{found or 'nothing'}."
        )
    has_images = any(
        file.suffix.lower() in _IMAGE_SUFFIXES
        for name in class_names
        for file in (folder / name).rglob("*")
        if file.is_file()
    )
    if not has_images:
        raise ValueError(
            f"{folder} has the class subfolders {class_names} but no images "
            f"in them; expected files ending in {', '.join(_IMAGE_SUFFIXES)}."
        )
    files = keras.utils.image_dataset_from_directory(
        folder,
        labels="inferred",
        label_mode="int",
        class_names=class_names,
        color_mode="grayscale" if grayscale else "rgb",
        batch_size=64,
        image_size=image_size,
        shuffle=False,
        verbose=False,
    )
    images, labels = _to_arrays(files)
    train, validation = _stratified_split(labels, validation_fraction, seed)
    return (
        images[train],
        images[validation],
        labels[train],
        labels[validation],
        class_names,
    )


def load_tfds_images(
    name="cifar10", split="train", data_dir=None, download=False
):
    """Reads a TensorFlow Datasets image set into arrays.

    Args:
        name: str. One of `IMAGE_DATASETS`: `"cifar10"`, `"cifar100"`,
            `"fashion_mnist"` or `"mnist"`. Defaults to `"cifar10"`.
        split: str. `"train"`, `"test"` or a slice such as
            `"train[:10%]"`. Defaults to `"train"`.
        data_dir: str, Path or None. Where the prepared data lives; None
            is TFDS's default.
        download: bool. Whether `tfds.load` may download and prepare the
            data. Defaults to False.

    Returns:
        `(images, labels)`: float32 `(n, height, width, channels)` in
        [0, 1] and int32 `(n,)`. CIFAR-10's training split is 614 MB as
        float32.

    Raises:
        ValueError: an unsupported name or an empty split.
        FileNotFoundError: the data is not prepared and download=False.

    Example, with TFDS's test double standing in for the prepared data:

    >>> import tensorflow_datasets as tfds
    >>> with tfds.testing.mock_data(num_examples=3):
    ...     images, labels = load_tfds_images("cifar10", "test")
    >>> images.shape, images.dtype, labels.dtype
    ((3, 32, 32, 3), dtype('float32'), dtype('int32'))

    With the real data prepared (`download=True` once):

    >>> images, labels = load_tfds_images("cifar10", "test")  # doctest: +SKIP
    >>> images.shape, images.dtype, labels[:3].tolist()  # doctest: +SKIP
    ((10000, 32, 32, 3), dtype('float32'), [7, 2, 4])
    """
    _check_supported(name, IMAGE_DATASETS, "image")
    data = _tfds_load(name, split, data_dir, download, as_supervised=True)
    images, labels = [], []
    for batch_images, batch_labels in data.batch(1024).as_numpy_iterator():
        images.append(batch_images)
        labels.append(batch_labels)
    if not images:
        raise ValueError(f"{name!r} split {split!r} has no examples.")
    # Join as uint8 first: one float32 copy, not two.
    images = np.concatenate(images)
    scaled = np.empty(images.shape, dtype=np.float32)
    np.divide(images, np.float32(255), out=scaled, casting="unsafe")
    return scaled, np.concatenate(labels).astype(np.int32)


def image_dataset(images, labels, batch_size=32, shuffle=True, seed=0):
    """A batched, prefetched `tf.data.Dataset` of `(images, labels)`.

    Args:
        images: array `(n, ...)`, such as `(n, height, width, channels)`
            float32 from `image_folder`; passed on in its dtype.
        labels: 1-D integer array-like of class ids >= 0, one per image.
        batch_size: int. Images per batch; the last batch of an epoch
            may be smaller. Defaults to 32.
        shuffle: bool. Shuffled with `seed` and reshuffled every epoch.
            Defaults to True.
        seed: int. Defaults to 0.

    Returns:
        A `tf.data.Dataset` of `(images, labels)` batches, labels int32.

    Example:

    >>> import numpy as np
    >>> data = image_dataset(np.zeros((10, 8, 8, 1), "float32"),
    ...                      np.arange(10), batch_size=4, shuffle=False)
    >>> [tuple(x.shape) for x, _ in data]
    [(4, 8, 8, 1), (4, 8, 8, 1), (2, 8, 8, 1)]
    """
    images = np.asarray(images)
    if images.ndim < 2 or len(images) == 0:
        raise ValueError(
            "`images` must be an array (n, height, width, channels) with at "
            f"least one image; received shape {images.shape}."
        )
    labels = _as_labels(labels, len(images), what="images")
    batch_size = _check_positive_int("batch_size", batch_size)
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        data = data.shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True
        )
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
