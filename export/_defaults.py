"""What a model says about how it was trained, as the export's defaults
(private).

A task (keras-hub's `TextClassifier`, `ImageClassifier` and keras_attn's
tasks over them) is a functional model that also holds `.preprocessor`
and `.class_names`. Its preprocessor's `sequence_length` is the length
the model was trained at; `preprocessor.tokenizer` (a WordPiece
`BertTokenizer`: `vocabulary`, `lowercase`, `strip_accents`) is its
tokenizer; `preprocessor.image_converter` (an `ImageConverter`:
`image_size`, `scale`, `offset`, pixels `x` becoming `x * scale +
offset`) its image normalization. `trained_with` reads them (duck-typed,
no keras-hub import); `tflite_length` and `mediapipe_length` turn a
requested `sequence_length` into the one to export at, refusing what the
model cannot take in one line and saying when the length is not the
trained one.
"""

import dataclasses

import numpy as np

from keras_attn.export import _specs

DYNAMIC = "dynamic"
MEDIAPIPE_LENGTH = 128  # what to_mediapipe uses when the model cannot say


@dataclasses.dataclass(frozen=True)
class TrainedWith:
    """What the model carries about its training; None where it cannot
    say.

    Attributes:
        sequence_length: int, the task preprocessor's length.
        tokenizer: the preprocessor's WordPiece tokenizer (an object with
            `vocabulary` or `get_vocabulary()`, `lowercase` and
            `strip_accents`).
        class_names: list of str, the outputs' class names in order.
        normalization: `(mean, std)` of 0..255 pixels, lists of 1 or 3
            floats, from the image converter's `scale` and `offset`.
        image_size: `(height, width)` of the image converter.
    """

    sequence_length: int | None = None
    tokenizer: object | None = None
    class_names: list | None = None
    normalization: tuple | None = None
    image_size: tuple | None = None


def positive_int(value):
    return (
        isinstance(value, (int, np.integer))
        and not isinstance(value, bool)
        and value > 0
    )


def _tokenizer(preprocessor):
    tokenizer = getattr(preprocessor, "tokenizer", None)
    needed = ("lowercase", "strip_accents")
    if tokenizer is None or not all(hasattr(tokenizer, n) for n in needed):
        return None
    vocabulary = getattr(tokenizer, "vocabulary", None)
    if hasattr(tokenizer, "get_vocabulary") or isinstance(
        vocabulary, (list, tuple)
    ):
        return tokenizer
    return None


def _floats(value, default):
    """`value` (None, a number or a list) as a list of floats."""
    if value is None:
        return [float(default)]
    return [float(v) for v in np.atleast_1d(np.asarray(value, "float64"))]


def _normalization(converter):
    """`(mean, std)` of 0..255 pixels for `x * scale + offset`."""
    if converter is None or not (
        hasattr(converter, "scale") or hasattr(converter, "offset")
    ):
        return None
    try:
        scale = _floats(getattr(converter, "scale", None), 1.0)
        offset = _floats(getattr(converter, "offset", None), 0.0)
    except (TypeError, ValueError):
        return None
    if len(scale) != len(offset) and 1 not in (len(scale), len(offset)):
        return None
    if not all(np.isfinite(scale + offset)) or any(s <= 0 for s in scale):
        return None
    scale, offset = np.broadcast_arrays(np.array(scale), np.array(offset))
    mean = (0.0 - offset / scale).tolist()  # 0.0, not -0.0, for offset 0
    std = (1.0 / scale).tolist()
    return mean, std


def trained_with(model):
    """`TrainedWith` read from `model.preprocessor` and
    `model.class_names` (a task); all None for a plain model."""
    preprocessor = getattr(model, "preprocessor", None)
    length = getattr(preprocessor, "sequence_length", None)
    converter = getattr(preprocessor, "image_converter", None)
    size = getattr(converter, "image_size", None)
    names = getattr(model, "class_names", None)
    if not (
        isinstance(names, (list, tuple))
        and names
        and all(isinstance(name, str) for name in names)
    ):
        names = None
    return TrainedWith(
        sequence_length=int(length) if positive_int(length) else None,
        tokenizer=_tokenizer(preprocessor),
        class_names=list(names) if names else None,
        normalization=_normalization(converter),
        image_size=tuple(size) if size is not None else None,
    )


def unknown_inputs(model):
    """`{input name: shape}` of the inputs with an unknown dimension
    after the batch one."""
    specs = _specs.input_specs(model)
    return {
        name: tuple(spec.shape)
        for name, spec in specs.items()
        if any(size is None for size in spec.shape[1:])
    }


def _shapes(unknown):
    return ", ".join(f"{name} {shape}" for name, shape in unknown.items())


def _check_int(sequence_length, name, allowed):
    if not positive_int(sequence_length):
        raise ValueError(
            f"`{name}` must be {allowed}; received {sequence_length!r}."
        )
    return int(sequence_length)


def _check_limit(model, length, name, trained):
    limit = _specs._position_limit(model)
    if limit is None or length <= limit:
        return
    if length == trained:
        raise ValueError(
            f"The model's preprocessor says {trained} tokens, but its learned "
            f"position table holds {limit} positions; expected `{name}` of "
            f"at most {limit}."
        )
    raise ValueError(
        f"The model's learned position table holds {limit} positions; "
        f"expected `{name}` of at most {limit}, received {length}."
    )


def _note_other_length(length, trained):
    """The warning text when `length` is not the trained one, else None."""
    if trained is None or length == trained:
        return None
    return (
        f"Exporting at sequence length {length}; the model was trained at "
        f"{trained} (its preprocessor's sequence_length), so texts are cut "
        f"or padded to {length} tokens where training used {trained}."
    )


def tflite_length(model, sequence_length, name="sequence_length"):
    """`(length, note)`: the length `to_tflite` traces unknown dimensions
    at (an int, or None for a dynamic file or a model of fixed shapes),
    and the warning text when it is not the trained length (else None).

    None takes the task preprocessor's length; a model of unknown length
    without one is refused unless `sequence_length` is `"dynamic"`.
    `name` is how the messages call the argument.
    """
    allowed = 'a positive int, None (the model\'s own) or "dynamic"'
    if sequence_length == DYNAMIC:
        return None, None
    trained = trained_with(model).sequence_length
    if sequence_length is None:
        unknown = unknown_inputs(model)
        if not unknown:
            return None, None  # every shape is fixed already
        if trained is None:
            limit = _specs._position_limit(model)
            bound = f", at most {limit} (its position table)" if limit else ""
            shapes = _shapes(unknown)
            raise ValueError(
                f"The model's inputs have an unknown length ({shapes}) and "
                "it carries no preprocessor that says the length it was "
                f"trained at; expected `{name}` as an int{bound}, or "
                f'"{DYNAMIC}" for a file that takes any length (slower, CPU '
                f"only); received None."
            )
        _check_limit(model, trained, name, trained)
        return trained, None
    length = _check_int(sequence_length, name, allowed)
    _check_limit(model, length, name, trained)
    return length, _note_other_length(length, trained)


def _fixed_text_length(model):
    """The length of the model's 2-D inputs when it is fixed, else None."""
    lengths = {
        spec.shape[1]
        for spec in _specs.input_specs(model).values()
        if len(spec.shape) == 2
    }
    if len(lengths) == 1 and None not in lengths:
        return lengths.pop()
    return None


def mediapipe_length(model, sequence_length, name="sequence_length"):
    """`(length, note)` of a MediaPipe text file: the requested int, else
    the task preprocessor's length, the model's fixed input length, or
    128 (its position table's size when smaller); `note` is the warning
    text when the length is not the trained one (None otherwise).
    """
    trained = trained_with(model).sequence_length
    fixed = _fixed_text_length(model)
    if sequence_length is None:
        limit = _specs._position_limit(model)
        length = trained or fixed or min(MEDIAPIPE_LENGTH, limit or 10**9)
    else:
        length = sequence_length
    if not positive_int(length) or length < 3:
        raise ValueError(
            f"MediaPipe needs a fixed `{name}` (an int >= 3: "
            "[CLS], a piece, [SEP]); a dynamic one fails on long texts. "
            f"Received {sequence_length!r}."
        )
    length = int(length)
    if fixed is not None and length != fixed:
        raise ValueError(
            f"The model takes {fixed} tokens (its inputs have a fixed "
            f"length); expected `{name}` {fixed} or none given, received "
            f"{length}."
        )
    _check_limit(model, length, name, trained)
    return length, _note_other_length(length, trained)
