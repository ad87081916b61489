"""Text classification as tokenized `tf.data` (the files are read by
`labelled_text`)."""

import tensorflow as tf

from keras_attn.data._common import as_labels
from keras_attn.data._common import as_texts
from keras_attn.data._common import check_positive_int

# Read without TensorFlow since issue 21 (the command line checks files
# before it loads TensorFlow); kept importable from here.
from keras_attn.data.labelled_text import read_text_classification  # noqa


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
