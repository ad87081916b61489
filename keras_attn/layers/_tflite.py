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
  Post-norm Transformer blocks given `residual_scales` also trace their
  feed-forward residual sum with its widest channels divided down
  (`TransformerBlock._feedforward_for_integer_files`).

`observing()` collects, per post-norm block called inside it, the largest
magnitude each channel of that residual sum took; the exporter runs the
calibration data through the model this way to choose the scales.
"""

import contextlib
import threading

_STATE = threading.local()


@contextlib.contextmanager
def tracing(integer=False, residual_scales=None):
    """Layers called inside trace for a `.tflite` file (see module doc).

    `residual_scales`: `{id(block): float32 array (hidden,)}`, with
    `integer` only.
    """
    previous = (
        getattr(_STATE, "mode", None),
        getattr(_STATE, "scales", None),
    )
    _STATE.mode = "integer" if integer else "float"
    _STATE.scales = dict(residual_scales or {}) if integer else None
    try:
        yield
    finally:
        _STATE.mode, _STATE.scales = previous


def active():
    return getattr(_STATE, "mode", None) is not None


def integer():
    return getattr(_STATE, "mode", None) == "integer"


def residual_scales(block):
    """The scales `tracing` was given for `block`, or None."""
    scales = getattr(_STATE, "scales", None)
    return None if not scales else scales.get(id(block))


@contextlib.contextmanager
def observing():
    """Yields `{id(block): (block, largest |value| per channel)}`, filled
    by post-norm blocks called (eagerly) inside."""
    previous = getattr(_STATE, "observed", None)
    _STATE.observed = {}
    try:
        yield _STATE.observed
    finally:
        _STATE.observed = previous


def observing_now():
    return getattr(_STATE, "observed", None) is not None


def observe(block, residual_sum):
    """Records `residual_sum`'s largest |value| per channel for `block`
    (eager tensors only; inside `observing()`)."""
    observed = _STATE.observed
    import numpy as np
    from keras import ops

    largest = ops.max(
        ops.abs(residual_sum), axis=tuple(range(len(residual_sum.shape) - 1))
    )
    largest = np.asarray(ops.convert_to_numpy(largest), dtype="float32")
    if id(block) in observed:
        largest = np.maximum(observed[id(block)][1], largest)
    observed[id(block)] = (block, largest)
