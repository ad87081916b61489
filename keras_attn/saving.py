"""Loading saved models with errors that name the file.

`keras.saving.load_model` on a damaged `.keras` file says "File not found"
for a truncated one, `BadZipFile: Bad CRC-32` or an HDF5 message for a
damaged one, and loads NaN weights without a word. `load_model` checks the
archive first, loads in Keras's `safe_mode` (no code from the file runs),
and refuses a model whose weights are not finite, so the caller gets the
whole model or a `CorruptModelError` naming the file.

Floor 3: it imports `keras_attn.models` (their classes must be registered
before Keras reads a file, and a folder is a `Translator`); the file
checks themselves sit on floor 1 in `keras_attn._keras_file`, where
`Translator.load` reaches them without importing this module.
"""

import os
import pathlib

from keras_attn import _keras_file


def load_model(path, safe_mode=True, compile=True):
    """Loads a `.keras` file, or a run or `Translator` folder, or says why
    not.

    The archive is checked before Keras reads it (a zip with intact CRCs,
    a `config.json` that parses, a weights file), Keras loads it in
    `safe_mode` unless told otherwise, and every weight must be finite.

    Args:
        path: a `.keras` file, a `keras-attn train` run folder (see
            `keras_attn.models.load_task`) or a folder written by
            `Translator.save`.
        safe_mode: bool. Keras's safe mode: refuse files that would run
            code (Lambda layers) when loaded. Defaults to True; turn it off
            only for files whose maker you trust.
        compile: bool. Restore the compiled loss and optimizer.

    Returns:
        A `keras.Model`; for a folder, the task it holds (a
        `keras_attn.models.Translator` for a translator's).

    Raises:
        FileNotFoundError: if there is nothing at `path`.
        CorruptModelError: naming the file, if it is empty, truncated,
            damaged or incomplete, or holds NaN or infinite weights.
        ValueError: if safe mode refuses the file.

    Example:

    >>> import keras, os, tempfile
    >>> import keras_attn
    >>> from keras_attn import models
    >>> path = os.path.join(tempfile.mkdtemp(), "vit.keras")
    >>> models.vit_classifier(10, "vit_digits").save(path)
    >>> keras_attn.load_model(path).name
    'vit_classifier'
    >>> _ = open(path, "r+b").truncate(1000)
    >>> try:
    ...     keras_attn.load_model(path)
    ... except keras_attn.CorruptModelError as error:
    ...     print("it may be truncated" in str(error))
    True
    """
    import keras_attn.models  # noqa: F401  registers the models' classes
    from keras_attn.models import load_task

    path = pathlib.Path(os.fspath(path))
    if path.is_dir():
        return load_task(path, safe_mode=safe_mode)
    return _keras_file.load_keras_file(
        path, safe_mode=safe_mode, compile=compile
    )
