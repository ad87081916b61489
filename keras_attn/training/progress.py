"""Training progress: a live bar on a terminal, plain lines elsewhere.

Keras's progress bar (`verbose=1`) redraws itself with `\\b`, `\\r` and
colour codes whenever `posix` is loaded, terminal or not, so a CI log or a
`nohup` file fills with escapes. `fit_progress` picks the display from
where the output goes: Keras's bar on a terminal, `EpochLine` otherwise
(one plain line per epoch, and one every 10 seconds during a long epoch).
"""

import math
import os
import sys
import threading
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
    """Prints one plain line per epoch, and a line during a long epoch.

    Each epoch ends with its number, time and logs. While an epoch runs,
    a line with the batch, the time so far and the running logs is
    printed at the first batch end `interval` seconds after the epoch's
    start or the last line, so a log file shows a slow epoch moving. No
    `\\r`, `\\b` or colour codes: what a log file or a pipe should get.

    Args:
        stream: where to print; defaults to `sys.stdout` at print time.
        interval: float >= 0 or None. Seconds between lines during an
            epoch (0: after every batch; None: epoch lines only).
            Defaults to 10.
        clock: a function returning seconds, for the times and the
            interval. Defaults to `time.perf_counter`.

    Example:

    >>> import io
    >>> out = io.StringIO()
    >>> seconds = iter([0.0, 4.0, 10.5, 12.0, 21.0])
    >>> line = EpochLine(stream=out, clock=lambda: next(seconds))
    >>> line.set_params({"epochs": 3, "steps": 500})
    >>> line.on_epoch_begin(0)  # at 0 s
    >>> line.on_train_batch_end(0, {"loss": 0.9})  # 4 s: too soon
    >>> line.on_train_batch_end(119, {"loss": 0.61})  # 10.5 s
    >>> line.on_train_batch_end(149, {"loss": 0.6})  # 12 s: too soon
    >>> line.on_epoch_end(0, {"loss": 0.51234, "val_accuracy": 0.9})
    >>> print(out.getvalue(), end="")
    epoch 1/3 - batch 120/500 - 10.5s - loss 0.6100
    epoch 1/3 - 21.0s - loss 0.5123 - val_accuracy 0.9000
    """

    # Keras may call the batch hooks from a worker thread; the lock keeps
    # each line whole and the clock's bookkeeping consistent.
    async_safe = True

    def __init__(self, stream=None, interval=10.0, clock=None):
        super().__init__()
        if interval is not None and (
            isinstance(interval, bool)
            or not isinstance(interval, (int, float))
            or not interval >= 0
        ):
            raise ValueError(
                "`interval` must be a number of seconds >= 0, or None for "
                f"one line per epoch only; received {interval!r}."
            )
        if clock is not None and not callable(clock):
            raise TypeError(
                "`clock` must be a function that returns seconds, such as "
                f"time.monotonic; received {clock!r}."
            )
        self.stream = stream
        self.interval = interval
        self.clock = clock
        self._epoch = 0
        self._start = None  # the clock at the epoch's start; None between
        self._last = None  # the clock at the last line
        self._lock = threading.Lock()

    def _now(self):
        return (self.clock or time.perf_counter)()

    def _epoch_label(self, epoch):
        epochs = (self.params or {}).get("epochs")
        return f"epoch {epoch + 1}/{epochs}" if epochs else f"epoch {epoch + 1}"

    def _write(self, parts, logs):
        parts += [f"{k} {_number(v)}" for k, v in (logs or {}).items()]
        stream = self.stream or sys.stdout
        stream.write(" - ".join(parts) + "\n")
        stream.flush()

    def on_epoch_begin(self, epoch, logs=None):
        with self._lock:
            self._epoch = epoch
            self._start = self._last = self._now()

    def _batch_line(self, batch, logs, what):
        if self.interval is None or self._start is None:
            return
        with self._lock:
            now = self._now()
            if now - self._last < self.interval:
                return
            self._last = now
            steps = (
                (self.params or {}).get("steps") if what == "batch" else None
            )
            count = f"{batch + 1}/{steps}" if steps else f"{batch + 1}"
            parts = [
                self._epoch_label(self._epoch),
                f"{what} {count}",
                f"{now - self._start:.1f}s",
            ]
            self._write(parts, logs)

    def on_train_batch_end(self, batch, logs=None):
        self._batch_line(batch, logs, "batch")

    def on_test_batch_end(self, batch, logs=None):
        # fit's validation pass, after the epoch's training batches.
        self._batch_line(batch, logs, "validation batch")

    def on_epoch_end(self, epoch, logs=None):
        with self._lock:
            now = self._now()
            seconds = now - (now if self._start is None else self._start)
            self._start = None  # no batch lines between epochs
            self._write([self._epoch_label(epoch), f"{seconds:.1f}s"], logs)


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
        progress: `"auto"` (a bar when `stream` is a terminal, else
            plain lines), `"bar"` (Keras's live bar), `"epoch"` (one
            plain line per epoch and one every 10 s during a long epoch,
            `EpochLine`), `"none"`; or Keras's own `verbose` values 0,
            1 (the bar) and 2 (Keras's two lines per epoch), passed as
            they are.
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
