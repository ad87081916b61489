"""Images: the bundled digits, a folder of class subfolders, `tf.data`."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_attn.data._common import as_labels
from keras_attn.data._common import check_fraction
from keras_attn.data._common import check_positive_int

# What `keras.utils.image_dataset_from_directory` reads.
_IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")


_NEEDS_SKLEARN = (
    "The digits ship with scikit-learn: pip install scikit-learn (or "
    "pip install 'keras-attn[examples]')."
)


def digits_split(seed=0):
    """scikit-learn's digits as `(x_train, x_test, y_train, y_test)`.

    Images `(n, 8, 8, 1)` float32 in [0, 1] and scikit-learn's integer
    labels; a stratified 80/20 split (1,437 and 360 images) with
    `random_state=seed`. This is the quick start's split
    (`keras_attn.demo.load_digits_split`); `load_digits` gives it with
    int32 labels, or at another fraction.

    Example:

    >>> x_train, x_test, y_train, y_test = digits_split()
    >>> x_train.shape, x_test.shape, float(x_train.max())
    ((1437, 8, 8, 1), (360, 8, 8, 1), 1.0)
    """
    try:
        from sklearn.datasets import load_digits as sklearn_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise ImportError(_NEEDS_SKLEARN) from error

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        images,
        digits.target,
        test_size=0.2,
        stratify=digits.target,
        random_state=seed,
    )


def load_digits(seed=0, test_fraction=0.2):
    """scikit-learn's bundled 8x8 digits, split for training and testing.

    The split is stratified (every digit keeps its share) and depends
    only on `seed`. With the default fraction it is exactly
    `digits_split(seed)`, the quick start's split.

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
    test_fraction = check_fraction("test_fraction", test_fraction, False)
    x_train, x_test, y_train, y_test = digits_split(seed)
    if test_fraction != 0.2:
        # All 1,797 images, in the order of the default split, split
        # again at the asked fraction (the order the split has always
        # been drawn from, so a seed gives the images it gave).
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
    validation_fraction = check_fraction(
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
    labels = as_labels(labels, len(images), what="images")
    batch_size = check_positive_int("batch_size", batch_size)
    data = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        data = data.shuffle(
            len(images), seed=seed, reshuffle_each_iteration=True
        )
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)
