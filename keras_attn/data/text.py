"""Text classification: a local TSV or CSV, and tokenized `tf.data`."""

import csv
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_attn.data._common import as_labels
from keras_attn.data._common import as_texts
from keras_attn.data._common import check_positive_int
from keras_attn.data._common import csv_rows
from keras_attn.data._common import parse_label
from keras_attn.data._common import tsv_rows


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
    rows = tsv_rows(path) if suffix == ".tsv" else csv_rows(path)
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
            labels.append(parse_label(path, number, fields[label_index]))
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
    texts = as_texts(texts)
    labels = as_labels(labels, len(texts))
    batch_size = check_positive_int("batch_size", batch_size)
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
