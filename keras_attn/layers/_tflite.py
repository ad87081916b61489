"""Whether a model is being traced for a `.tflite` file (private).

`keras_attn.export` traces models inside `tracing()`. Layers read the
state to trace what LiteRT runs well instead of what they run in Keras,
with the same results:

- `active()`: id lookups trace to a bare GATHER (`_ids`), since LiteRT's
  GATHER checks ids itself and TensorFlow's `Assert` is not a builtin;
- `integer()`: the file will have integer activations (full int8).
  Attention then traces its masked softmax with a fill near the scores
  (`_masking.masked_softmax`) instead of the fused kernel's fill of about
  -3.4e38: calibration gives every tensor one scale for its whole range,
  and a range of 3.4e38 rounds all the allowed scores to one value.
"""

import contextlib
import threading

_STATE = threading.local()


@contextlib.contextmanager
def tracing(integer=False):
    """Layers called inside trace for a `.tflite` file (see module doc)."""
    previous = getattr(_STATE, "mode", None)
    _STATE.mode = "integer" if integer else "float"
    try:
        yield
    finally:
        _STATE.mode = previous


def active():
    return getattr(_STATE, "mode", None) is not None


def integer():
    return getattr(_STATE, "mode", None) == "integer"
