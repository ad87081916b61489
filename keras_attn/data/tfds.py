"""TensorFlow Datasets loaders: text classification, parallel text, images.

Nothing downloads unless asked: every loader passes `download=False` to
`tfds.load` by default and says how to prepare the data when it is
missing. `tensorflow_datasets` is imported only when a loader runs.
"""

import numpy as np

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


_NEEDS_TFDS = (
    "This loader needs tensorflow-datasets: pip install tensorflow-datasets."
)


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
