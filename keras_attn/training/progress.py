"""Training progress: a live bar on a terminal, one line per epoch elsewhere.

Keras's progress bar (`verbose=1`) redraws itself with `\\b`, `\\r` and
colour codes whenever `posix` is loaded, terminal or not, so a CI log or a
`nohup` file fills with escapes. `fit_progress` picks the display from
where the output goes: Keras's bar on a terminal, `EpochLine` (one plain
line per epoch) otherwise.
"""

import math
import os
import sys
import time

import keras

from keras_attn._choices import PROGRESS


def is_terminal(stream=None):
    """Whether `stream` (default `sys.stdout`) is a terminal that draws a
    live bar (not `TERM=dumb`).

    Example:

    >>> import io
    >>> is_terminal(io.StringIO())
    False
    """
    stream = sys.stdout if stream is None else stream
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False
    return bool(interactive) and os.environ.get("TERM") != "dumb"


def _number(value):
    value = float(value)
    if not math.isfinite(value) or value == 0 or abs(value) >= 1e-3:
        return f"{value:.4f}"
    return f"{value:.4e}"


class EpochLine(keras.callbacks.Callback):
    """Prints one plain line per epoch: its number, time and logs.

    No `\\r`, `\\b` or colour codes: what a log file or a pipe should get.

    Args:
        stream: where to print; defaults to `sys.stdout` at print time.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> line = EpochLine(stream=out)
    >>> line.set_params({"epochs": 3})
    >>> line.on_epoch_begin(0)
    >>> line.on_epoch_end(0, {"loss": 0.51234, "val_accuracy": 0.9})
    >>> print(out.getvalue(), end="")
    epoch 1/3 - ...s - loss 0.5123 - val_accuracy 0.9000
    """

    def __init__(self, stream=None):
        super().__init__()
        self.stream = stream
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - (self._start or time.perf_counter())
        epochs = (self.params or {}).get("epochs")
        parts = [f"epoch {epoch + 1}/{epochs}" if epochs else f"epoch {epoch}"]
        parts.append(f"{seconds:.1f}s")
        parts += [f"{k} {_number(v)}" for k, v in (logs or {}).items()]
        stream = self.stream or sys.stdout
        stream.write(" - ".join(parts) + "\n")
        stream.flush()


def resolve_progress(progress="auto", stream=None):
    """`progress` with `"auto"` decided: `"bar"` when `stream` (default
    `sys.stdout`) is a terminal, else `"epoch"`; other values as they are.

    Example:

    >>> import io
    >>> resolve_progress("auto", io.StringIO()), resolve_progress("none")
    ('epoch', 'none')
    """
    if isinstance(progress, bool) or progress not in (*PROGRESS, 0, 1, 2):
        raise ValueError(
            f"`progress` must be one of {list(PROGRESS)} or Keras's verbose "
            f"0, 1 or 2; received {progress!r}."
        )
    if progress == "auto":
        return "bar" if is_terminal(stream) else "epoch"
    return progress


def fit_progress(progress="auto", stream=None):
    """`(verbose, callbacks)` for `model.fit` that show `progress`.

    Args:
        progress: `"auto"` (a bar when `stream` is a terminal, else one
            line per epoch), `"bar"` (Keras's live bar), `"epoch"` (one
            plain line per epoch, `EpochLine`), `"none"`; or Keras's own
            `verbose` values 0, 1 (the bar) and 2 (Keras's two lines per
            epoch), passed as they are.
        stream: the output checked for a terminal; defaults to
            `sys.stdout`.

    Returns:
        `(verbose, callbacks)`: pass both to `model.fit`.

    Example:

    >>> import io
    >>> verbose, callbacks = fit_progress("auto", io.StringIO())
    >>> verbose, [type(c).__name__ for c in callbacks]
    (0, ['EpochLine'])
    >>> fit_progress("bar")
    (1, [])
    """
    progress = resolve_progress(progress, stream)
    if progress == "epoch":
        return 0, [EpochLine(stream)]
    return {"bar": 1, "none": 0}.get(progress, progress), []


__all__ = [
    "PROGRESS",
    "EpochLine",
    "fit_progress",
    "is_terminal",
    "resolve_progress",
]
