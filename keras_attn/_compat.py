"""Every private Keras and TensorFlow API that keras_attn uses (private).

A Keras or TensorFlow upgrade may move or change any of these. Each entry
says what it reaches into, why no public API does, and the versions it was
checked against; `tests/test_compat.py` calls every entry on the installed
versions and fails with the entry's name when one stops working, so an
upgrade is a matter of reading this file and that test's output.

Checked against Keras 3.15.1 and TensorFlow 2.21.0.

Patches of framework objects are context managers that restore what they
replaced; nothing here changes Keras or TensorFlow for the whole process.
"""

import keras

CHECKED_KERAS = "3.15.1"
CHECKED_TENSORFLOW = "2.21.0"


# --- Keras: implicit masks ----------------------------------------------
# Keras 3 carries a layer's implicit (`compute_mask`) mask on its output
# tensor; the accessors live in `keras.src.backend` and are not exported.

try:
    from keras.src.backend import get_keras_mask as _get_keras_mask
    from keras.src.backend import set_keras_mask as _set_keras_mask
except ImportError:  # pragma: no cover - older layouts keep an attribute

    def _get_keras_mask(x):
        return getattr(x, "_keras_mask", None)

    def _set_keras_mask(x, mask):
        x._keras_mask = mask


def get_keras_mask(x):
    """The implicit Keras mask carried by tensor `x`, or None."""
    return _get_keras_mask(x)


def set_keras_mask(x, mask):
    """Attaches `mask` to tensor `x` as its implicit Keras mask."""
    _set_keras_mask(x, mask)


# --- Keras: functional graphs -------------------------------------------
# A functional model keeps its graph in `_nodes_by_depth` and runs it with
# `_run_through_graph(inputs, operation_fn)`, which calls
# `operation_fn(layer)(*args, **kwargs)` at every node. Re-running a graph
# with some layers called differently (attention maps, export lowering)
# needs exactly that hook; Keras has no public one.


def is_functional(model):
    """Whether `model` is a Keras functional model (a graph of nodes)."""
    return (
        isinstance(model, keras.Model)
        and hasattr(model, "_run_through_graph")
        and hasattr(model, "_nodes_by_depth")
    )


def run_through_graph(model, inputs, operation_fn):
    """Runs functional `model`'s graph on the flat list `inputs`, calling
    `operation_fn(layer)(*args, **kwargs)` at every node; returns the
    model's outputs in its output structure."""
    return model._run_through_graph(inputs, operation_fn=operation_fn)


def call_has_training_arg(layer):
    """Whether `layer.call` takes a `training` argument."""
    return bool(getattr(layer, "_call_has_training_arg", False))


def flatten_layers(model):
    """Every layer inside `model`, nested ones included (not `model`)."""
    return list(model._flatten_layers(include_self=False, recursive=True))


# --- TensorFlow: the TFLite converter -----------------------------------
# Full-int8 export calibrates, replaces the calibrator's ranges with
# measured ones, then quantizes (export/_convert.py). TensorFlow's public
# converter does calibration and quantization in one call; its own
# QuantizationDebugger splits them with these two private entries.


def calibrate_only(converter):
    """Makes `converter.convert()` stop after calibration: it returns a
    float model holding each tensor's calibrated range."""
    converter.experimental_new_quantizer = True
    converter._experimental_calibrate_only = True


def mlir_quantize(calibrated, denylisted_ops=None):
    """Quantizes a calibrated model (`calibrate_only`) with the
    converter's defaults (per-channel weights, float inputs and outputs),
    leaving the operators named in `denylisted_ops` in float."""
    from tensorflow.lite.python import convert

    return convert.mlir_quantize(
        calibrated,
        fully_quantize=False,
        denylisted_ops=list(denylisted_ops) if denylisted_ops else None,
    )


def tflite_schema():
    """TensorFlow's generated TFLite flatbuffer schema module."""
    from tensorflow.lite.python import schema_py_generated

    return schema_py_generated


def getitem_operation():
    """The class of Keras's `x[key]` nodes in a functional graph
    (`keras.src.ops.numpy.GetItem`; its call takes `(x, key)`)."""
    from keras.src.ops.numpy import GetItem

    return GetItem
