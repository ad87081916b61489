"""Reading a `.keras` file with errors that name the file (private).

`keras.saving.load_model` on a damaged `.keras` file says "File not found"
for a truncated one, `BadZipFile: Bad CRC-32` or an HDF5 message for a
damaged one, and loads NaN weights without a word. `load_keras_file`
checks the archive first, loads in Keras's `safe_mode` (no code from the
file runs), and refuses a model whose weights are not finite.

Floor 1 (beside the layers): `keras_attn.models` (`Translator.load`) and
`keras_attn.saving.load_model` both read files through it, and it imports
nothing above the layers.
"""

import json
import pathlib
import warnings
import zipfile

import numpy as np

from keras_attn.errors import CorruptModelError

_WEIGHTS = ("model.weights.h5", "model.weights.npz")
# Keras warns, and goes on, when some layers keep their initial weights.
_PARTIAL_LOAD = ("freshly-initialized", "could not be loaded")


def check_archive(path):
    """Raises CorruptModelError naming `path` unless it is a whole `.keras`
    archive: a zip with intact CRCs, a `config.json` that parses, and a
    weights file."""
    size = path.stat().st_size
    if size == 0:
        raise CorruptModelError(path, "the file is empty.")
    if not zipfile.is_zipfile(path):
        raise CorruptModelError(
            path,
            "not a .keras file: a .keras file is a zip archive, and this "
            "one has no readable zip directory (it may be truncated; "
            f"{size} bytes).",
        )
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            damaged = archive.testzip()
            config = (
                archive.read("config.json") if "config.json" in names else None
            )
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CorruptModelError(
            path, f"damaged zip archive ({error})."
        ) from None
    if damaged is not None:
        raise CorruptModelError(
            path, f"damaged: its member {damaged!r} fails its CRC check."
        )
    missing = [] if "config.json" in names else ["config.json"]
    if not any(name in names for name in _WEIGHTS):
        missing.append(" or ".join(_WEIGHTS))
    if missing:
        raise CorruptModelError(
            path,
            f"not a complete .keras file: it lacks {', '.join(missing)} "
            f"(it holds {sorted(names)}).",
        )
    try:
        json.loads(config)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CorruptModelError(
            path, f"its config.json is not valid JSON ({error})."
        ) from None


def check_finite(path, model):
    """Raises CorruptModelError naming `path` if a weight of `model` holds
    NaN or infinity."""
    for weight in model.weights:
        values = np.asarray(
            weight.numpy() if hasattr(weight, "numpy") else weight
        )
        if (
            np.issubdtype(values.dtype, np.floating)
            and not np.isfinite(values).all()
        ):
            count = int(values.size - np.isfinite(values).sum())
            raise CorruptModelError(
                path,
                f"weight {weight.path!r} holds {count} NaN or infinite "
                "value(s); a model loaded from it would return NaN.",
            )


def load_keras_file(path, safe_mode=True, compile=True):
    """`keras.saving.load_model` after `check_archive`, then `check_finite`.

    Registers keras_attn's layers; the caller imports whatever else the
    file may hold (`keras_attn.saving.load_model` imports the models).
    """
    import keras

    import keras_attn.layers  # noqa: F401  registers the layers

    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No .keras file at {path}.")
    check_archive(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.saving.load_model(
                path, safe_mode=safe_mode, compile=compile
            )
    except ValueError as error:
        if "safe_mode" in str(error):
            raise ValueError(
                f"{path}: Keras's safe mode refused to load it, because it "
                "holds code (a Lambda layer or a function) that loading "
                "would run. Load it with safe_mode=False only if you trust "
                f"who made it. Keras said: {error}"
            ) from None
        raise CorruptModelError(
            path, f"Keras could not load it: {error}"
        ) from error
    except Exception as error:
        raise CorruptModelError(
            path, f"Keras could not load it: {type(error).__name__}: {error}"
        ) from error
    for warning in caught:
        text = str(warning.message)
        if any(sign in text for sign in _PARTIAL_LOAD):
            raise CorruptModelError(
                path, f"Keras loaded only part of its weights: {text}"
            )
        warnings.warn_explicit(
            warning.message, warning.category, warning.filename, warning.lineno
        )
    check_finite(path, model)
    return model
