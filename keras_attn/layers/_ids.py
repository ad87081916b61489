"""Range checks for integer ids before a table lookup (private).

Keras's `take` wraps negative ids around (-1 reads the last row), the
TensorFlow GPU gather returns zeros for ids past the table, and XLA's
gather clamps them; none of these tells the caller. `check_ids` gives one
behaviour per way of running:

- concrete ids (eager TensorFlow, JAX or PyTorch outside `jit`): a
  `ValueError` naming the layer, the input, the range and the bad ids;
- a TensorFlow graph (`model.fit`, `predict`, a SavedModel): an `Assert`
  that stops the step with `InvalidArgumentError` and the same message;
- where nothing can raise (XLA, which drops `Assert`, and JAX under
  `jit`): the vectors of bad ids become NaN, so the loss or the output
  shows it instead of a silently wrong row.

(`keras_attn.export` writes `.tflite` files with a plain gather instead:
LiteRT's GATHER refuses out-of-range and negative ids itself.)
"""

import keras
import numpy as np
from keras import ops


def _concrete(ids):
    """True when `ids` holds values now (not a graph or `jit` tracer)."""
    if isinstance(ids, np.ndarray):
        return True
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.executing_eagerly() and hasattr(ids, "numpy")
    if backend == "jax":
        import jax

        return not isinstance(ids, jax.core.Tracer)
    return backend in ("torch", "numpy")


def _message(layer, name, size):
    return (
        f"{layer} expects `{name}` in [0, {size}) (its table has {size} rows)"
    )


def _raise_for_values(values, layer, name, size):
    bad = (values < 0) | (values >= size)
    if not bad.any():
        return
    where = np.argwhere(bad)
    shown = ", ".join(
        f"{int(values[tuple(index)])} at {tuple(int(i) for i in index)}"
        for index in where[:3]
    )
    more = f" and {len(where) - 3} more" if len(where) > 3 else ""
    raise ValueError(
        f"{_message(layer, name, size)}; received {len(where)} id(s) "
        f"outside it: {shown}{more}."
    )


def check_ids(ids, size, layer, name):
    """Validates integer `ids` against a table of `size` rows.

    Returns `(ids, valid)`: the ids to look up and, where an error cannot
    be raised, a boolean tensor of the same shape (False marks the rows
    the caller must turn into NaN); `valid` is None when nothing is left
    to do.
    """
    dtype = keras.backend.standardize_dtype(ids.dtype)
    if "int" not in dtype:
        raise TypeError(
            f"{layer} expects integer `{name}`; received dtype {dtype}."
        )
    if _concrete(ids):
        _raise_for_values(ops.convert_to_numpy(ids), layer, name, size)
        return ids, None
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        valid = tf.logical_and(ids >= 0, ids < size)
        check = tf.debugging.Assert(
            tf.reduce_all(valid),
            [
                _message(layer, name, size) + "; received ids from",
                tf.reduce_min(ids),
                "to",
                tf.reduce_max(ids),
            ],
        )
        with tf.control_dependencies([check]):
            ids = tf.identity(ids)
    else:
        valid = ops.logical_and(ops.greater_equal(ids, 0), ops.less(ids, size))
    # Under XLA the Assert above is dropped, and JAX's jit cannot raise:
    # clip so the gather is in range, and let the caller mark the rows.
    return ops.clip(ids, 0, size - 1), valid


def mark_invalid(vectors, valid):
    """NaN in every vector whose id was out of range."""
    if valid is None:
        return vectors
    nan = ops.cast(float("nan"), vectors.dtype)
    return ops.where(ops.expand_dims(valid, -1), vectors, nan)
