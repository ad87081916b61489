"""Errors keras_attn raises beside Python's own."""

import os


class CorruptModelError(ValueError):
    """A model file that is damaged or is not what it claims to be.

    Raised by `keras_attn.load_model`, `keras_attn.export.verify_tflite`
    and the loaders built on them. `path` names the file; the message says
    what was found. A subclass of ValueError.

    Example:

    >>> error = CorruptModelError("model.keras", "the file is empty.")
    >>> str(error), error.path
    ('model.keras: the file is empty.', 'model.keras')
    """

    def __init__(self, path, problem):
        self.path = os.fspath(path)
        super().__init__(f"{self.path}: {problem}")
