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


def mlir_quantize(calibrated, denylisted_ops=None, denylisted_nodes=None):
    """Quantizes a calibrated model (`calibrate_only`) with the
    converter's defaults (per-channel weights, float inputs and outputs),
    leaving the operators named in `denylisted_ops` (types) and
    `denylisted_nodes` (their output tensors' names) in float."""
    from tensorflow.lite.python import convert

    return convert.mlir_quantize(
        calibrated,
        fully_quantize=False,
        denylisted_ops=list(denylisted_ops) if denylisted_ops else None,
        denylisted_nodes=list(denylisted_nodes) if denylisted_nodes else None,
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


# --- Keras: multi-worker training (keras-team/keras#20585) ---------------
# Checked against Keras 3.15.1 with TensorFlow 2.21.0. Under
# `MultiWorkerMirroredStrategy`, `model.fit` fails before its first step
# in two places of Keras's TensorFlow trainer; both fixes are scoped to
# one fit (context managers that restore what they replaced), and
# `keras_attn.training` enters them for that strategy only.

import contextlib  # noqa: E402  (here, so the entries above stay as they were)


@contextlib.contextmanager
def build_from_first_replica(model):
    """Inside the block, `model` builds from one replica's first batch.

    Reaches into: `Model._maybe_symbolic_build(iterator=None,
    data_batch=None)`, which Keras's TensorFlow trainer calls before the
    first step. It averages the replicas' first batch with
    `strategy.reduce`, which `MultiWorkerMirroredStrategy` cannot do for a
    nested batch. The batch only gives shapes and dtypes, so this builds
    from the first local replica's part instead. No public API lets the
    caller build from a batch of its choosing before fit. The replacement
    is an attribute of `model` alone, deleted on exit.
    """
    build = type(model)._maybe_symbolic_build

    def first_replica_build(iterator=None, data_batch=None):
        import tensorflow as tf

        strategy = model.distribute_strategy
        if iterator is not None:
            for _, _, it in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0],
                    next(it),
                )
                break
        return build(model, iterator=None, data_batch=data_batch)

    model._maybe_symbolic_build = first_replica_build
    try:
        yield
    finally:
        del model._maybe_symbolic_build


def _tensorflow_trainer():
    from keras.src.backend.tensorflow import trainer

    return trainer


@contextlib.contextmanager
def mean_logs_over_workers():
    """Inside the block, Keras averages logged values across workers.

    Reaches into: `keras.src.backend.tensorflow.trainer.reduce_per_replica`
    (a module function the trainer looks up at each call). After each
    step Keras averages the replicas' logs (scalars) with
    `strategy.reduce("MEAN", v, axis=0)` when the strategy spans
    workers, which fails on a scalar ("Invalid reduction dimension 0 for
    input with 0 dimensions"). The mean over replicas is what Keras
    computes on one machine; across workers it is
    `strategy.reduce("MEAN", v, axis=None)`. Other reductions and
    strategies go to Keras's own function. No public hook reduces logs.
    The module function is restored on exit, so the replacement lives
    only as long as the fit it wraps (it is process-wide meanwhile: two
    fits on two threads would share it, which is harmless since it only
    changes multi-worker strategies).
    """
    import tensorflow as tf

    trainer = _tensorflow_trainer()
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and isinstance(
            strategy, tf.distribute.MultiWorkerMirroredStrategy
        ):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        trainer.reduce_per_replica = original


# --- Keras: `BackupAndRestore` -------------------------------------------
# Checked against Keras 3.15.1 (keras/src/callbacks/backup_and_restore.py).
# `keras_attn.training.AtomicBackupAndRestore` writes each backup to a new
# file and then renames the metadata over the old one, so a kill never
# leaves a half-written backup. Keras's callback has no public hook for
# how a backup is written or read: it calls its private `_save_model()`
# (after an epoch, or every `save_freq` batches) and `_load_model()` (at
# the start of training), reads the weights from `_weights_path`, and
# counts progress in `_current_epoch` and `_last_batch_seen`. The class
# below is the one place that names them; subclasses override
# `save_backup` and `load_backup` instead.

# The metadata file Keras's callback keeps in its backup folder.
BACKUP_METADATA = "training_metadata.json"


class BackupAndRestoreHooks(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore` with public names for its private hooks.

    Override `save_backup()` (Keras's `_save_model`) and `load_backup()`
    (`_load_model`; call `super().load_backup()` to let Keras read the
    weights at `weights_path`).
    """

    # Keras calls these two; they forward to the public names.
    def _save_model(self):
        self.save_backup()

    def _load_model(self):
        self.load_backup()

    def save_backup(self):
        """Writes a backup (Keras's own way unless overridden)."""
        super()._save_model()

    def load_backup(self):
        """Restores the backup at `weights_path`, if any."""
        super()._load_model()

    @property
    def backup_epoch(self):
        """The epoch count Keras records for the backup being written."""
        return self._current_epoch

    @property
    def backup_batch(self):
        """The batch count Keras records for the backup being written."""
        return self._last_batch_seen

    @property
    def weights_path(self):
        """Where Keras reads (and by default writes) the backup weights."""
        return self._weights_path

    @weights_path.setter
    def weights_path(self, path):
        self._weights_path = str(path)
